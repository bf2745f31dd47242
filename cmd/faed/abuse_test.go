package main

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// rssKiB is a process's resident memory.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestFaultBoundedUnderAbuse: 8,192 idle connections, slowloris clients
// that trickle a call's bytes, and clients sending 16 MiB frames (one at
// the cap, one past it), all at once, while a canary connects and calls
// the way php-fpm does. faed stays up, its memory stays bounded, the canary
// is served.
func TestFaultBoundedUnderAbuse(t *testing.T) {
	p := startFaed(t, t.TempDir(), "")
	pid := p.cmd.Process.Pid
	base := rssKiB(t, pid)
	stop := make(chan struct{})
	var wg sync.WaitGroup

	// 8,192 idle connections.
	const idle = 8192
	var idleConns []net.Conn
	var mu sync.Mutex
	var dialFailed atomic.Int64
	var dials sync.WaitGroup
	for w := range 32 {
		dials.Add(1)
		go func() {
			defer dials.Done()
			for i := w; i < idle; i += 32 {
				c, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
				if err != nil {
					dialFailed.Add(1)
					continue
				}
				mu.Lock()
				idleConns = append(idleConns, c)
				mu.Unlock()
			}
		}()
	}
	dials.Wait()
	defer func() {
		for _, c := range idleConns {
			c.Close()
		}
	}()

	// Slowloris: a framed call's bytes one at a time, a byte every 500 ms,
	// slower than read + call + write timeouts allow one call (10.7 s).
	var slowClosed atomic.Int64
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			frame := noopFrame()
			for {
				c, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
				if err != nil {
					return
				}
				for _, b := range frame {
					select {
					case <-stop:
						c.Close()
						return
					case <-time.After(500 * time.Millisecond):
					}
					if _, err := c.Write([]byte{b}); err != nil {
						slowClosed.Add(1)
						break
					}
				}
				c.Close()
			}
		}()
	}

	// 16 MiB frames: one at the cap (garbage inside), one past it.
	var bigSent atomic.Int64
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			size := 16 << 20
			if i%2 == 1 {
				size++ // past max_message_bytes: refused at the header
			}
			body := bytes.Repeat([]byte{0x80}, 1<<20)
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
				if err != nil {
					continue
				}
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				var hdr [4]byte
				bin.BigEndian.PutUint32(hdr[:], uint32(size))
				if _, err := c.Write(hdr[:]); err == nil {
					for sent := 0; sent < size; sent += len(body) {
						if _, err := c.Write(body[:min(len(body), size-sent)]); err != nil {
							break
						}
					}
				}
				bigSent.Add(1)
				c.Close()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}

	// The canary: connect, noop, close, with PHP's 750 ms socket timeout.
	var canaryOK, canaryAll atomic.Int64
	var peak atomic.Int64
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		canaryAll.Add(1)
		if canaryCall(p.addr) == nil {
			canaryOK.Add(1)
		}
		if r := int64(rssKiB(t, pid)); r > peak.Load() {
			peak.Store(r)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	during := peak.Load()
	for _, c := range idleConns {
		c.Close()
	}
	idleConns = nil
	select {
	case <-p.exited:
		t.Fatalf("faed exited under abuse: %v\n%s", p.err, p.stderr)
	default:
	}
	t.Logf("idle connections %d (dial failures %d), slowloris connections cut %d, 16 MiB frames sent %d; canary %d/%d answered; faed RSS %d KiB before, %d KiB peak (%.1f KiB per idle connection)",
		idle-int(dialFailed.Load()), dialFailed.Load(), slowClosed.Load(), bigSent.Load(), canaryOK.Load(), canaryAll.Load(), base, during,
		float64(during-int64(base))/float64(idle))
	writeResult(t, result{Scenario: "Abuse: 8,192 idle connections, 32 slowloris clients, 16 MiB frames at and past the cap, a canary connecting and calling",
		Test: "TestFaultBoundedUnderAbuse", FaultMs: 15000, Calls: int(canaryAll.Load()), Failed: int(canaryAll.Load() - canaryOK.Load()),
		Notes: fmt.Sprintf("faed RSS %d KiB before, %d KiB peak (%.1f KiB per idle connection); %d slowloris connections cut; %d big frames refused",
			base, during, float64(during-int64(base))/float64(idle), slowClosed.Load(), bigSent.Load())})
	if ok, all := canaryOK.Load(), canaryAll.Load(); ok*100 < all*99 {
		t.Fatalf("canary answered %d of %d calls, want ≥ 99%%", ok, all)
	}
	if during > 1<<20 { // 1 GiB: the bound is the caps (sessions × buffers, one message per session), far below
		t.Fatalf("faed RSS %d KiB under abuse", during)
	}
}

// noopFrame is a framed binary noop(1) call.
func noopFrame() []byte {
	var buf bytes.Buffer
	trans := thrift.NewTMemoryBuffer()
	proto := thrift.NewTBinaryProtocolConf(trans, nil)
	ctx := context.Background()
	_ = proto.WriteMessageBegin(ctx, "noop", thrift.CALL, 1)
	args := rpc.FunServantNoopArgs{X: 1}
	_ = args.Write(ctx, proto)
	_ = proto.WriteMessageEnd(ctx)
	var hdr [4]byte
	bin.BigEndian.PutUint32(hdr[:], uint32(trans.Len()))
	buf.Write(hdr[:])
	buf.Write(trans.Bytes())
	return buf.Bytes()
}

func canaryCall(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 750*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	conf := &thrift.TConfiguration{SocketTimeout: 750 * time.Millisecond}
	trans := thrift.NewTFramedTransportConf(thrift.NewTSocketFromConnConf(conn, conf), conf)
	proto := thrift.NewTBinaryProtocolConf(trans, conf)
	_, err = rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto)).Noop(context.Background(), 1)
	return err
}
