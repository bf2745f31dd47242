package engine_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faed/faed/engine"
)

// TestConnectionFlood measures, without asserting a time, what a flood of
// connections over max_sessions leaves to a short client: floodConns
// silent connections, while a canary connects, makes one call and hangs
// up, again and again, each try given canaryBudget (dial and call, as a
// PHP request would). In "burst" the flood connects once and stays; in
// "sustained" each flood client connects again shortly after faed closes
// its connection, so the pressure lasts the whole run.
func TestConnectionFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood measurement")
	}
	for _, mode := range []string{"burst", "sustained"} {
		t.Run(mode, func(t *testing.T) { flood(t, mode == "sustained") })
	}
}

func flood(t *testing.T, redial bool) {
	const (
		maxSessions  = 500
		floodConns   = 5000
		runFor       = 4 * time.Second
		canaryBudget = 750 * time.Millisecond
		redialPause  = 100 * time.Millisecond // a client retrying at once is a SYN flood of the test's own CPU
	)
	s := startEngine(t, func(c *engine.Config) { c.MaxSessions, c.IdleTimeout = maxSessions, time.Minute })
	addr := s.e.Addr().String()
	stop := make(chan struct{})

	var floodDials, dialFailed atomic.Int64
	var wg sync.WaitGroup
	for range floodConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				floodDials.Add(1)
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					dialFailed.Add(1)
				} else {
					go func() { <-stop; c.Close() }()
					var b [1]byte
					_, _ = c.Read(b[:]) // until faed closes it, or the end
				}
				select {
				case <-stop:
					return
				default:
				}
				if !redial {
					<-stop
					return
				}
				time.Sleep(redialPause)
			}
		}()
	}

	start := time.Now()
	var answered []time.Duration
	var firstOK time.Duration
	tries, dialFails := 0, 0
	for time.Since(start) < runFor {
		tries++
		t0 := time.Now()
		err := canaryCall(addr, t0.Add(canaryBudget))
		if errors.Is(err, errDial) {
			dialFails++
		}
		if err != nil {
			time.Sleep(10 * time.Millisecond) // a PHP request failed; the next one
			continue
		}
		if firstOK == 0 {
			firstOK = time.Since(start)
		}
		answered = append(answered, time.Since(t0))
	}
	close(stop)
	wg.Wait()
	slices.Sort(answered)
	q := func(f float64) time.Duration {
		if len(answered) == 0 {
			return 0
		}
		return answered[int(f*float64(len(answered)-1))].Round(time.Microsecond)
	}
	snap := s.e.Stats().Snapshot()
	t.Logf("%d flood conns (%d dials, %d failed) over max_sessions %d for %v: canary answered %d of %d tries within %v (%d not connected in time), first after %v, p50 %v p90 %v max %v; faed accepted %d refused %d evicted %d",
		floodConns, floodDials.Load(), dialFailed.Load(), maxSessions, runFor, len(answered), tries, canaryBudget, dialFails,
		firstOK.Round(time.Millisecond), q(0.5), q(0.9), q(1), snap.Accepted, snap.Refused, snap.Evicted)
}

var errDial = errors.New("dial")

// canaryCall connects, makes one noop call and hangs up, all by deadline.
func canaryCall(addr string, deadline time.Time) error {
	c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return fmt.Errorf("%w: %w", errDial, err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	if _, err := c.Write(encoding{}.noopCall(7, 1)); err != nil {
		return err
	}
	rp, err := readReply(bufio.NewReader(c), encoding{})
	if err == nil && rp.noopRet != 7 {
		err = errors.New("wrong reply")
	}
	return err
}
