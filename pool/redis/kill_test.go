package redis_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faed/faed/pool/breaker"
	"github.com/faed/faed/pool/redis"
)

// phpDeadline is the call deadline PHP's socket timeout leaves faed.
const phpDeadline = 750 * time.Millisecond

type outcome struct {
	start, took time.Duration // since the kill
	err         error
}

// quantile of sorted durations.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[int(q*float64(len(d)-1))]
}

// A server killed under load: calls fail with a text that says whether the
// command was sent, and the times to error are logged (p50/max after the
// kill, and the probe calls after each cooldown).
func TestKilledUnderLoad(t *testing.T) {
	ps, stack, addrs := startPools(t, func(c *redis.Config) { c.Breaker = breaker.DefaultConfig() })
	onDead := keyOn(addrs, 1, "kill:")
	if _, err := ps.Call(context.Background(), "default", "SET", []string{onDead, "1"}); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		out     []outcome
		killed  time.Time
		stop    = make(chan struct{})
		workers sync.WaitGroup
	)
	for range 16 {
		workers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), phpDeadline)
				mu.Lock()
				k := killed
				mu.Unlock()
				t0 := time.Now()
				_, err := ps.Call(ctx, "default", "GET", []string{onDead})
				took := time.Since(t0)
				cancel()
				if !k.IsZero() && t0.After(k) {
					mu.Lock()
					out = append(out, outcome{t0.Sub(k), took, err})
					mu.Unlock()
				}
				time.Sleep(time.Millisecond) // a steady load, not a spin
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	killed = time.Now()
	mu.Unlock()
	stack.Signal(t, "redis2", syscall.SIGKILL)
	time.Sleep(3 * time.Second) // two cooldowns or more
	close(stop)
	workers.Wait()

	var reached, openTook, deadline, probes []time.Duration
	var unknown, notSent, refusedProbes int
	firstOpen := time.Duration(-1)
	for _, o := range out {
		switch {
		case o.err == nil:
			continue // started before the signal landed
		case errors.Is(o.err, breaker.ErrOpen):
			openTook = append(openTook, o.took)
			if firstOpen < 0 {
				firstOpen = o.start + o.took
			}
			continue
		case errors.Is(o.err, redis.ErrUnknown):
			unknown++
		case errors.Is(o.err, redis.ErrNotSent):
			notSent++
		default:
			t.Errorf("call at +%v: %v: neither sent-and-unknown nor not-sent", o.start, o.err)
		}
		if errors.Is(o.err, context.DeadlineExceeded) {
			deadline = append(deadline, o.took)
		}
		reached = append(reached, o.took)
		if firstOpen >= 0 {
			probes = append(probes, o.took)
			if errors.Is(o.err, redis.ErrNotSent) && strings.Contains(o.err.Error(), "connection refused") {
				refusedProbes++
			}
		}
	}
	for _, d := range [][]time.Duration{reached, openTook, probes} {
		slices.Sort(d)
	}
	t.Logf("after SIGKILL: first breaker-open answer at +%v; %d calls went to the server: time to error p50 %v max %v, %d waited out the %v deadline, %d not sent, %d outcome unknown; %d answered by the open breaker: p50 %v",
		firstOpen, len(reached), quantile(reached, .5), quantile(reached, 1), len(deadline), phpDeadline, notSent, unknown, len(openTook), quantile(openTook, .5))
	t.Logf("probe calls after a cooldown: %d, p50 %v max %v", len(probes), quantile(probes, .5), quantile(probes, 1))
	if firstOpen < 0 {
		t.Error("the breaker never opened")
	}
	if refusedProbes == 0 {
		t.Error("no probe after a cooldown failed as a refused connect with nothing sent")
	}
	if len(probes) == 0 {
		t.Error("no probe call after a cooldown")
	}
}
