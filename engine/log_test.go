package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
)

// syncBuffer is a bytes.Buffer the engine's goroutines may log into while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// topLevelKeys lists a JSON object's keys in order, duplicates included
// (decoding into a map would hide a second "msg").
func topLevelKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %q (%v)", line, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
	return keys
}

// A slow call and a panicking call, logged through the middleware into a
// JSON handler: each line has one msg, and client is the caller's address
// as a string (not the {} of an unexported struct).
func TestCallLogsAreCleanJSON(t *testing.T) {
	var out syncBuffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	cfg := engine.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.SlowCall = time.Nanosecond // every call is slow: each one logs
	e, err := engine.New(cfg, rpc.NewFunServantProcessor(&handler{}), log)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })

	conn, err := net.DialTimeout("tcp", e.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	clientAddr := conn.LocalAddr().String()
	conf := &thrift.TConfiguration{SocketTimeout: 5 * time.Second}
	trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(conn, conf), 4096)
	proto := thrift.NewTBinaryProtocolConf(trans, conf)
	c := rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto))
	if _, err := c.Ping(context.Background(), rctx()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IDNext(context.Background(), rctx()); err == nil {
		t.Fatal("id_next of the test handler panics: want an error")
	}
	// A call logs after its reply is sent: once the engine has stopped,
	// every line is written.
	conn.Close()
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	want := map[string]bool{"slow call": false, "call panicked": false}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		msg, _ := rec["msg"].(string)
		if _, ok := want[msg]; !ok {
			continue
		}
		want[msg] = true
		n := 0
		for _, k := range topLevelKeys(t, line) {
			if k == "msg" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d msg keys in %s", n, line)
		}
		if got, ok := rec["client"].(string); !ok || got != clientAddr {
			t.Errorf("client = %#v, want the string %q, in %s", rec["client"], clientAddr, line)
		}
	}
	for msg, seen := range want {
		if !seen {
			t.Errorf("no %q line in the log:\n%s", msg, out.String())
		}
	}
}
