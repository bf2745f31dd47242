package servant

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestMergeJSON(t *testing.T) {
	cases := []struct {
		stored, patch, want string
		err                 error
	}{
		{`{"a":1}`, `{"b":2}`, `{"a":1,"b":2}`, nil},
		{`{"a":{"x":1,"y":2}}`, `{"a":{"y":3}}`, `{"a":{"x":1,"y":3}}`, nil},
		{`{"a":[1,2]}`, `{"a":[3]}`, `{"a":[3]}`, nil},
		{`{"a":{"x":1}}`, `{"a":5}`, `{"a":5}`, nil},
		{`{"a":5}`, `{"a":{"x":1}}`, `{"a":{"x":1}}`, nil},
		{`{"a":1}`, `{"a":null}`, `{"a":null}`, nil},
		{``, `{"a":1}`, `{"a":1}`, nil},
		{`NULL`, `{"a":1}`, `{"a":1}`, nil},
		{`{"n":18446744073709551615}`, `{}`, `{"n":18446744073709551615}`, nil},
		{`{"h":"<&>"}`, `{}`, `{"h":"<&>"}`, nil},
		{`[1]`, `{}`, ``, ErrNotObject},
		{`{"a":1} {}`, `{}`, ``, ErrNotObject},
		{`"s"`, `{}`, ``, ErrNotObject},
	}
	for _, c := range cases {
		patch, err := parseObject(c.patch)
		if err != nil {
			t.Fatal(err)
		}
		got, err := mergeJSON(c.stored, patch)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("merge(%s, %s): err %v, want %v", c.stored, c.patch, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("merge(%s, %s) = %s %v, want %s", c.stored, c.patch, got, err, c.want)
		}
	}
}

// FuzzMergeJSON: any pair of inputs either fails cleanly or merges into a
// valid JSON object holding every top-level key of the patch.
func FuzzMergeJSON(f *testing.F) {
	f.Add(`{"a":{"x":1}}`, `{"a":{"y":2}}`)
	f.Add(``, `{}`)
	f.Add(`NULL`, `{"n":1e400}`)
	f.Add(`{"a":[1,{"b":2}]}`, `{"a":{"c":"\u0000"}}`)
	f.Add(`{`, `}`)
	f.Fuzz(func(t *testing.T, stored, patchText string) {
		patch, err := parseObject(patchText)
		if err != nil {
			return
		}
		keys := make([]string, 0, len(patch))
		for k := range patch {
			keys = append(keys, k)
		}
		out, err := mergeJSON(stored, patch)
		if err != nil {
			return
		}
		dec := json.NewDecoder(strings.NewReader(out))
		dec.UseNumber() // numbers keep their text, 1e400 included
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("merged value is not a JSON object: %s: %v", out, err)
		}
		for _, k := range keys {
			if _, ok := v[k]; !ok {
				t.Fatalf("key %q of the patch missing from %s", k, out)
			}
		}
		if reflect.ValueOf(v).IsNil() {
			t.Fatal("nil object")
		}
	})
}
