package config

import (
	"bytes"
	"reflect"

	"github.com/BurntSushi/toml"
)

// MaskForTest renders v as TOML with secrets masked, as Redacted does.
func MaskForTest(v any) string {
	cp := reflect.New(reflect.TypeOf(v)).Elem()
	cp.Set(reflect.ValueOf(v))
	maskSecrets(cp)
	var buf bytes.Buffer
	_ = toml.NewEncoder(&buf).Encode(cp.Interface())
	return buf.String()
}
