package idgen_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faed/faed/idgen"
)

// steppedClock is the real clock plus an offset a test can step. Sleep
// moves the offset instead of waiting, and adds up what the generator
// waited, so a bound on the wait is checked without reading a wall clock.
type steppedClock struct{ offset, slept atomic.Int64 }

func (c *steppedClock) Now() time.Time        { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *steppedClock) Sleep(d time.Duration) { c.slept.Add(int64(d)); c.offset.Add(int64(d)) }
func (c *steppedClock) step(d time.Duration)  { c.offset.Add(int64(d)) }
func (c *steppedClock) waited() time.Duration { return time.Duration(c.slept.Load()) }

func newGen(t *testing.T, cfg idgen.Config, worker int, clock idgen.Clock) *idgen.Generator {
	t.Helper()
	g, err := idgen.New(cfg, worker, clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func TestIDsUniqueAndIncreasingAcrossGoroutines(t *testing.T) {
	const workers, perWorker = 8, 1_000_000
	g := newGen(t, idgen.DefaultConfig(), 3, nil)
	all := make([][]int64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]int64, perWorker)
			for i := range ids {
				id, err := g.Next(w % 32)
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = id &^ (31 << 17) // strip the tag: uniqueness must not rely on it
				if i > 0 && ids[i] <= ids[i-1] {
					t.Errorf("goroutine %d: id %d not above %d", w, ids[i], ids[i-1])
					return
				}
			}
			all[w] = ids
		}()
	}
	wg.Wait()
	merged := slices.Concat(all...)
	slices.Sort(merged)
	if len(merged) != workers*perWorker {
		t.Fatalf("got %d ids", len(merged))
	}
	for i := 1; i < len(merged); i++ {
		if merged[i] == merged[i-1] {
			t.Fatalf("duplicate id %d", merged[i])
		}
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	g := newGen(t, idgen.DefaultConfig(), 21, nil)
	before := time.Now().UnixMilli()
	for tag := 0; tag <= 31; tag++ {
		id, err := g.Next(tag)
		if err != nil {
			t.Fatal(err)
		}
		d := idgen.Decode(id)
		if d[0] < before || d[0] > time.Now().UnixMilli() || d[1] != int64(tag) || d[2] != 21 || d[3] < 0 || d[3] > 4095 {
			t.Fatalf("decode(%d) = %v (tag %d, worker 21, after %d)", id, d, tag, before)
		}
	}
	// A hand-built id of the compat layout decodes to its parts.
	id := int64(1000)<<22 | 7<<17 | 9<<12 | 42
	if got, want := idgen.Decode(id), []int64{1388834974657 + 1000, 7, 9, 42}; !slices.Equal(got, want) {
		t.Fatalf("decode = %v, want %v", got, want)
	}
}

func TestTagBounds(t *testing.T) {
	g := newGen(t, idgen.DefaultConfig(), 0, nil)
	for _, tag := range []int{-1, 32, -32768, 32767} {
		if _, err := g.Next(tag); !errors.Is(err, idgen.ErrBadTag) {
			t.Errorf("tag %d: err = %v, want ErrBadTag", tag, err)
		}
	}
	for _, tag := range []int{0, 31} {
		if _, err := g.Next(tag); err != nil {
			t.Errorf("tag %d: %v", tag, err)
		}
	}
}

func TestClockStepsBack(t *testing.T) {
	cases := []struct {
		step    time.Duration
		succeed bool // after a bounded wait
	}{
		{-10 * time.Millisecond, true},
		{-time.Second, false},
		{-60 * time.Second, false},
	}
	for _, tc := range cases {
		t.Run(tc.step.String(), func(t *testing.T) {
			clk := &steppedClock{}
			g := newGen(t, idgen.DefaultConfig(), 1, clk)
			last, err := g.Next(0)
			if err != nil {
				t.Fatal(err)
			}
			clk.step(tc.step)
			id, err := g.Next(0)
			if waited := clk.waited(); waited > idgen.MaxClockBack {
				t.Errorf("waited %v, more than the bound", waited)
			}
			if !tc.succeed {
				if !errors.Is(err, idgen.ErrClockBack) {
					t.Fatalf("err = %v, want ErrClockBack", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("after a %v step: %v", tc.step, err)
			}
			if clk.waited() < -tc.step {
				t.Fatalf("waited %v for a clock %v behind", clk.waited(), -tc.step)
			}
			if id <= last {
				t.Fatalf("id %d not above %d after the clock stepped back", id, last)
			}
		})
	}
}

func TestStateFileAheadOfClockAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id.state")
	cfg := idgen.DefaultConfig()
	cfg.StateFile = path

	g := newGen(t, cfg, 2, nil)
	var last int64
	for range 10000 {
		id, err := g.Next(0)
		if err != nil {
			t.Fatal(err)
		}
		last = id
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	// Restart with the clock 30ms behind the last id: a bounded wait, then
	// ids above every earlier one.
	clk := &steppedClock{}
	clk.step(-30 * time.Millisecond)
	g2 := newGen(t, cfg, 2, clk)
	id, err := g2.Next(0)
	if err != nil {
		t.Fatal(err)
	}
	if id <= last {
		t.Fatalf("restart reissued: %d <= %d", id, last)
	}
	g2.Close()

	// A mark far ahead of the clock: an error, never an id below it.
	ahead := time.Now().Add(10*time.Second).UnixMilli() - 1388834974657
	if err := os.WriteFile(path, []byte(strconv.FormatInt(ahead, 10)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g3 := newGen(t, cfg, 2, nil)
	if _, err := g3.Next(0); !errors.Is(err, idgen.ErrClockBack) {
		t.Fatalf("err = %v, want ErrClockBack", err)
	}
}

func TestStateFileCorruptIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id.state")
	if err := os.WriteFile(path, []byte("not a number"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := idgen.DefaultConfig()
	cfg.StateFile = path
	if _, err := idgen.New(cfg, 0, nil); !errors.Is(err, idgen.ErrState) {
		t.Fatalf("err = %v, want ErrIDState", err)
	}
}

func TestIDConfigBounds(t *testing.T) {
	cfg := idgen.DefaultConfig()
	cfg.MaxClockBack = time.Second
	if _, err := idgen.New(cfg, 0, nil); err == nil {
		t.Error("max_clock_back of 1s accepted")
	}
	for _, w := range []int{-1, 32} {
		if _, err := idgen.New(idgen.DefaultConfig(), w, nil); err == nil {
			t.Errorf("worker %d accepted", w)
		}
	}
}

func BenchmarkIDNext(b *testing.B) {
	for _, par := range []int{1, 8} {
		b.Run(strconv.Itoa(par)+"goroutines", func(b *testing.B) {
			g, err := idgen.New(idgen.DefaultConfig(), 0, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := g.Next(0); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ids/s")
		})
	}
}

// TestSplitNeverIssuesOneIDTwice is a binary upgrade: the old generator
// issues ids, switches to the even half and saves its mark; the new one
// opens the same state file, takes the odd half, and both issue ids side
// by side (as fast as they can, so most fall in shared milliseconds);
// then the old one closes and the new one takes the whole range again.
// No id is issued twice, and the new one's mark file ends up covering
// every id.
func TestSplitNeverIssuesOneIDTwice(t *testing.T) {
	cfg := idgen.DefaultConfig()
	cfg.StateFile = filepath.Join(t.TempDir(), "id.state")
	old := newGen(t, cfg, 3, nil)
	seen := map[int64]string{}
	var mu sync.Mutex
	issue := func(g *idgen.Generator, who string, n int) {
		for range n {
			id, err := g.Next(1)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if prev, dup := seen[id]; dup {
				t.Errorf("id %d issued by %s and %s", id, prev, who)
			}
			seen[id] = who
			mu.Unlock()
		}
	}
	issue(old, "old alone", 20000)
	if err := old.Split(idgen.Even); err != nil {
		t.Fatal(err)
	}
	successor := newGen(t, cfg, 3, nil)
	if err := successor.Split(idgen.Odd); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); issue(old, "old (even)", 50000) }()
	go func() { defer wg.Done(); issue(successor, "new (odd)", 50000) }()
	wg.Wait()
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	if err := successor.Split(idgen.Whole); err != nil {
		t.Fatal(err)
	}
	issue(successor, "new alone", 20000)
	var halves [2]int
	var last int64
	for id, who := range seen {
		seq := idgen.Decode(id)[3]
		if who == "old (even)" && seq%2 != 0 || who == "new (odd)" && seq%2 != 1 {
			t.Fatalf("%s issued seq %d", who, seq)
		}
		if who == "old (even)" || who == "new (odd)" {
			halves[seq%2]++
		}
		last = max(last, id)
	}
	if len(seen) != 140000 || halves[0] != 50000 || halves[1] != 50000 {
		t.Fatalf("%d ids, halves %v", len(seen), halves)
	}
	if err := successor.Close(); err != nil {
		t.Fatal(err)
	}
	// A third process starts after every id issued so far.
	next := newGen(t, cfg, 3, nil)
	id, err := next.Next(1)
	if err != nil {
		t.Fatal(err)
	}
	if id>>22 <= last>>22 {
		t.Fatalf("after a restart id %d is not in a later ms than %d", id, last)
	}
}

// TestManyIDsWithClockStepsAndRestarts issues a million ids (ten million
// with FAED_FAULTS_FULL=1) from four goroutines while the clock steps back
// 10 ms, 1 s and 60 s (and forward again) and the generator restarts from
// its state file every tenth of the run: no id is issued twice, and every
// step back either waits or fails with ErrClockBack.
func TestManyIDsWithClockStepsAndRestarts(t *testing.T) {
	total := 1_000_000
	if os.Getenv("FAED_FAULTS_FULL") != "" {
		total = 10_000_000
	}
	cfg := idgen.DefaultConfig()
	cfg.StateFile = filepath.Join(t.TempDir(), "id.state")
	clk := &steppedClock{}
	ids := make([]int64, 0, total)
	var clockBack int
	steps := []time.Duration{10 * time.Millisecond, time.Second, 60 * time.Second}
	const workers = 4
	for round := range 10 {
		g, err := idgen.New(cfg, 7, clk)
		if err != nil {
			t.Fatal(err)
		}
		per := total / 10 / workers
		out := make([][]int64, workers)
		var failed [workers]int
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[w] = make([]int64, 0, per)
				for len(out[w]) < per {
					id, err := g.Next(0)
					if err != nil {
						if !errors.Is(err, idgen.ErrClockBack) {
							t.Error(err)
							return
						}
						failed[w]++
						continue
					}
					out[w] = append(out[w], id)
				}
			}()
		}
		// Mid-round, the clock steps back, then forward again.
		step := steps[round%len(steps)]
		clk.step(-step)
		time.Sleep(5 * time.Millisecond)
		clk.step(step)
		wg.Wait()
		for w := range workers {
			ids = append(ids, out[w]...)
			clockBack += failed[w]
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(ids)
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			t.Fatalf("id %d issued twice", ids[i])
		}
	}
	t.Logf("%d ids, none twice; %d calls refused with ErrClockBack during the steps back", len(ids), clockBack)
}
