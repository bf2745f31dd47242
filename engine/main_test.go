package engine_test

import (
	"os"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
)

// TestMain turns off the generated processor's per-call connectivity
// goroutine, as cmd/faed does: the engine owns connection handling.
func TestMain(m *testing.M) {
	thrift.ServerConnectivityCheckInterval = 0
	os.Exit(m.Run())
}
