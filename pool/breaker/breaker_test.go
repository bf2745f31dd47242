package breaker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/faed/faed/pool/breaker"
)

var (
	errDown  = errors.New("connection refused")
	errReply = errors.New("WRONGTYPE")
)

func isDown(err error) bool { return errors.Is(err, errDown) }

func TestOpensAfterConsecutiveFailuresAndProbesBack(t *testing.T) {
	b := breaker.New(breaker.Config{Failures: 3, Cooldown: 50 * time.Millisecond}, "s1", isDown)
	calls := 0
	fail := func() error { calls++; return errDown }
	for range 3 {
		if err := b.Do(fail); !errors.Is(err, errDown) {
			t.Fatalf("err = %v", err)
		}
	}
	if err := b.Do(fail); !errors.Is(err, breaker.ErrOpen) || calls != 3 {
		t.Fatalf("after 3 failures: err = %v, calls = %d (want ErrOpen without calling)", err, calls)
	}
	time.Sleep(80 * time.Millisecond) // past cooldown + 20% jitter
	if err := b.Do(func() error { return nil }); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if b.State() != "closed" {
		t.Fatalf("state after a good probe = %s", b.State())
	}
}

func TestAnswersDoNotOpenIt(t *testing.T) {
	b := breaker.New(breaker.Config{Failures: 2, Cooldown: time.Minute}, "s1", isDown)
	for range 10 {
		if err := b.Do(func() error { return errReply }); !errors.Is(err, errReply) {
			t.Fatalf("err = %v", err)
		}
	}
	if b.State() != "closed" {
		t.Fatalf("error replies opened the breaker: %s", b.State())
	}
}

func TestCallerHangUpsDoNotOpenIt(t *testing.T) {
	// What the pools pass: a cancelled caller is not the server failing.
	isFailure := func(err error) bool { return !errors.Is(err, context.Canceled) }
	b := breaker.New(breaker.Config{Failures: 2, Cooldown: time.Minute}, "s1", isFailure)
	for range 10 {
		_ = b.Do(func() error { return context.Canceled })
	}
	if b.State() != "closed" {
		t.Fatalf("hang-ups opened the breaker: %s", b.State())
	}
}
