package batch_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faed/faed/pool/batch"
)

// An echo server that counts round trips: a batch is one trip.
type echo struct{ trips, direct atomic.Int64 }

func (e *echo) batcher(lanes int) *batch.Batcher[int, int] {
	return batch.New(batch.Config[int, int]{
		Lanes: lanes, Max: 64,
		Send: func(calls []*batch.Call[int, int]) {
			e.trips.Add(1)
			time.Sleep(time.Millisecond) // a round trip
			for _, c := range calls {
				c.Resp = c.Req * 2
			}
		},
		Direct: func(_ context.Context, q int) (int, error) {
			e.direct.Add(1)
			time.Sleep(time.Millisecond)
			return q * 2, nil
		},
	})
}

func TestLoneCallerGoesDirect(t *testing.T) {
	e := &echo{}
	b := e.batcher(2)
	defer b.Close()
	for i := range 20 {
		if got, err := b.Do(context.Background(), i); err != nil || got != 2*i {
			t.Fatalf("Do(%d) = %d, %v", i, got, err)
		}
	}
	if e.direct.Load() != 20 || e.trips.Load() != 0 {
		t.Fatalf("direct %d, batches %d", e.direct.Load(), e.trips.Load())
	}
}

func TestConcurrentCallersShareRoundTrips(t *testing.T) {
	e := &echo{}
	b := e.batcher(2)
	defer b.Close()
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 20 {
				q := g*100 + i
				if got, err := b.Do(context.Background(), q); err != nil || got != 2*q {
					t.Errorf("Do(%d) = %d, %v", q, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if trips := e.trips.Load() + e.direct.Load(); trips >= 64*20/4 {
		t.Fatalf("%d round trips for %d calls: not batching", trips, 64*20)
	}
}

func TestCancelledCallerReturnsAtOnce(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	b := batch.New(batch.Config[int, int]{
		Lanes: 1, Max: 8,
		Send: func(calls []*batch.Call[int, int]) {
			for _, c := range calls {
				c.Resp = c.Req
			}
		},
		Direct: func(_ context.Context, q int) (int, error) {
			close(entered)
			<-release
			return q, nil
		},
	})
	defer b.Close()
	go b.Do(context.Background(), 1) // the lone caller, held in Direct
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Do(ctx, 2); err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
	close(release)
}
