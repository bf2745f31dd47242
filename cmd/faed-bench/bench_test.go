package main

import (
	"context"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	cases := []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.9, 900 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}}
	for _, tc := range cases {
		got := h.quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*1.02 {
			t.Errorf("q%.2f = %v, want %v within 2%%", tc.q, got, tc.want)
		}
	}
	var other histogram
	other.record(5 * time.Second)
	h.merge(&other)
	if h.n != 1001 || h.max != 5*time.Second || h.quantile(1) != 5*time.Second {
		t.Fatalf("merge: n=%d max=%v", h.n, h.max)
	}
}

// Every pre-encoded request decodes, with the generated processor's own
// argument reader, to the call it claims to be.
func TestRequestsDecode(t *testing.T) {
	ctx := context.Background()
	for name, c := range calls {
		for _, w := range []wire{{}, {framed: true}, {compact: true}, {framed: true, compact: true}} {
			reqs, err := w.requests(c, c.method, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range reqs {
				if w.framed {
					req = req[4:]
				}
				buf := thrift.NewTMemoryBuffer()
				buf.Write(req)
				p := w.protocol(buf)
				method, typ, seq, err := p.ReadMessageBegin(ctx)
				if err != nil || typ != thrift.CALL || seq != 1 {
					t.Fatalf("%s %+v: %v %v %v", name, w, typ, seq, err)
				}
				if _, ok := rpc.NewFunServantProcessor(nil).GetProcessorFunction(method); !ok {
					t.Fatalf("%s: unknown method %q", name, method)
				}
				if err := p.Skip(ctx, thrift.STRUCT); err != nil || buf.Len() != 0 {
					t.Fatalf("%s %+v: skip: %v, %d bytes left", name, w, err, buf.Len())
				}
			}
		}
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.record(time.Duration(i%5000) * time.Microsecond)
	}
}
