package config

import (
	"fmt"
	"reflect"
	"regexp"
)

// envRef matches ${NAME} and ${NAME:-default}.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${NAME} in every string value of the decoded config.
// Expanding after decoding, field by field, means a value from the
// environment can hold quotes, newlines or TOML syntax without changing
// the document's structure.
func expandEnv(cfg *Config, env func(string) (string, bool)) error {
	return walkStrings(reflect.ValueOf(cfg).Elem(), "", func(path string, s string) (string, error) {
		var missing string
		out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v, ok := env(m[1]); ok {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			if missing == "" {
				missing = m[1]
			}
			return ref
		})
		if missing != "" {
			return "", fmt.Errorf("%s: environment variable %s is not set", path, missing)
		}
		return out, nil
	})
}

// walkStrings calls f on every settable string (and []string element) in
// v, with its dotted toml path, and stores what f returns.
func walkStrings(v reflect.Value, path string, f func(path, s string) (string, error)) error {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			p := join(path, tomlName(t.Field(i)))
			if t.Field(i).Anonymous { // promoted keys: same table
				p = path
			}
			if err := walkStrings(v.Field(i), p, f); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if err := walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f); err != nil {
				return err
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			if err := walkStrings(e, join(path, fmt.Sprint(k.Interface())), f); err != nil {
				return err
			}
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		s, err := f(path, v.String())
		if err != nil {
			return err
		}
		v.SetString(s)
	}
	return nil
}

func tomlName(f reflect.StructField) string {
	if name := f.Tag.Get("toml"); name != "" && name != "-" {
		return name
	}
	return f.Name
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
