package servant

import (
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzBSONArgs: any bytes given as a BSON argument are accepted as one
// well-formed document or refused with ErrBadBSON, never a panic.
func FuzzBSONArgs(f *testing.F) {
	good, _ := bson.Marshal(bson.D{{Key: "a", Value: 1}, {Key: "b", Value: bson.D{{Key: "c", Value: "x"}}}, {Key: "l", Value: bson.A{1, "two"}}})
	f.Add(good)
	f.Add([]byte{5, 0, 0, 0, 0})
	f.Add([]byte{9, 0, 0, 0, 2})
	f.Add([]byte("hello, world"))
	f.Add(append([]byte{200}, good[1:]...))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := doc("query", b)
		if err != nil {
			if !errors.Is(err, ErrBadBSON) {
				t.Fatalf("error %v is not ErrBadBSON", err)
			}
			return
		}
		if d == nil {
			if len(b) != 0 {
				t.Fatal("non-empty input accepted as no document")
			}
			return
		}
		if _, err := d.Elements(); err != nil {
			t.Fatalf("accepted a document that does not decode: %v", err)
		}
		if _, err := idValue(d); err != nil && len(d) > 5 {
			t.Fatalf("idValue of a non-empty document: %v", err)
		}
		_, _ = projection(b)
	})
}
