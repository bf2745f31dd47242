package config

import (
	"bytes"
	"reflect"

	"github.com/BurntSushi/toml"
)

// masked replaces every secret value in Redacted output.
const masked = "*****"

// Redacted renders the config as TOML with every field tagged
// `secret:"true"` masked. It is what /config serves.
func (c Config) Redacted() ([]byte, error) {
	cp := c
	maskSecrets(reflect.ValueOf(&cp).Elem())
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maskSecrets masks secret strings in v, which must be addressable. Maps and
// slices are copied before masking so the caller's config is untouched.
func maskSecrets(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := v.Field(i)
			if !t.Field(i).IsExported() {
				continue
			}
			if t.Field(i).Tag.Get("secret") == "true" && f.Kind() == reflect.String {
				if f.String() != "" {
					f.SetString(masked)
				}
				continue
			}
			maskSecrets(f)
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := range cp.Len() {
			maskSecrets(cp.Index(i))
		}
		v.Set(cp)
	case reflect.Map:
		if v.IsNil() {
			return
		}
		cp := reflect.MakeMapWithSize(v.Type(), v.Len())
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			maskSecrets(e)
			cp.SetMapIndex(k, e)
		}
		v.Set(cp)
	}
}
