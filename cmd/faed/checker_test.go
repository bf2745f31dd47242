package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/devstack"
	"github.com/faed/faed/internal/faultproxy"
	_ "github.com/go-sql-driver/mysql"
	goredis "github.com/redis/go-redis/v9"
)

// The write checker, after Jepsen's register and counter checks: clients
// write through faed while faults hit the links, the backends and faed
// itself; every reply is recorded as acked, failed or unknown, and the
// backends, read directly afterwards, must agree: each acked write there
// exactly once, no failed write there, counters between the acked and the
// acked-plus-unknown count, and no write applied twice (faed never sends a
// write again on its own).

// Write kinds; each write carries an id of its own.
const (
	kindSetNX  = iota // rd_call SETNX chk:u:<id> <id>
	kindIncr          // rd_call INCR chk:counter
	kindInsert        // my_query INSERT INTO ChkWrite (id) VALUES (<id>)
	kindUpdate        // my_query UPDATE Counter SET n = n + 1 WHERE name = 'chk'
	kindAdd           // mc_add chk:u:<id> = <id>
	kindIDNext        // id_next: not a write; the ids must all differ
	numKinds
)

var kindNames = [numKinds]string{"redis setnx", "redis incr", "mysql insert", "mysql update", "memcache add", "id_next"}

// writeRec is one write and what its reply said.
type writeRec struct {
	kind, id int
	out      outcome
	err      string
	twice    bool  // the reply says the unique key was already there: sent twice
	issued   int64 // id_next's id when acked
}

type checkerEnv struct {
	stack  *devstack.Stack
	sv     devstack.Servers
	redis  *faultproxy.Link
	mysql  *faultproxy.Link
	mc     *faultproxy.Link
	dir    string // faed's directory: config, unix socket, id state
	addr   string // faed's TCP address, the same after each restart
	extra  string
	mu     sync.Mutex
	p      *proc
	direct struct {
		redis *goredis.Client
		mysql *sql.DB
		mc    *memcache.Client
	}
}

func (e *checkerEnv) restartFaed(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.p.kill()
	e.p = startFaedAt(t, e.dir, e.addr, e.extra)
}

// checkerSize is the short run, or the full one with FAED_CHECKER_FULL=1.
func checkerSize() (clients, writes int) {
	if os.Getenv("FAED_CHECKER_FULL") == "1" {
		return 50, 20_000
	}
	return 20, 4_000
}

func TestWriteChecker(t *testing.T) {
	nClients, total := checkerSize()
	stack, sv := devstack.Start(t, devstack.Ports{Redis: []int{18481}, Memcached: []int{18413}, MySQL: 18406})
	e := &checkerEnv{stack: stack, sv: sv, dir: t.TempDir(), addr: reserveAddr(t)}
	e.redis = faultproxy.New(t, "redis", sv.Redis[0])
	e.mysql = faultproxy.New(t, "mysql", sv.MySQL)
	e.mc = faultproxy.New(t, "memcached", sv.Memcached[0])
	e.openDirect(t)

	e.extra = fmt.Sprintf("[node]\nworker_id = 3\n[id]\nstate_file = %q\n", filepath.Join(e.dir, "id.state")) +
		fmt.Sprintf("[redis.default]\nservers = [%q]\n[redis.default.breaker]\nfailures = 3\ncooldown = \"200ms\"\n", e.redis.Addr) +
		fmt.Sprintf("[memcache.default]\nservers = [%q]\n[memcache.default.breaker]\nfailures = 3\ncooldown = \"200ms\"\n", e.mc.Addr) +
		mysqlConf(e.mysql.Addr)
	e.p = startFaedAt(t, e.dir, e.addr, e.extra)

	faults := e.faults(t)
	per := total / len(faults)
	var at []int
	for k := range faults {
		at = append(at, k*per+per/3, k*per+2*per/3)
	}
	g := newGates(total, at)
	recs := make([]writeRec, total)

	var wg sync.WaitGroup
	for range nClients {
		wg.Go(func() {
			r := &reconnClient{addr: e.addr}
			defer r.close()
			for {
				i, ok := g.draw()
				if !ok {
					return
				}
				recs[i] = e.write(t, r, i)
			}
		})
	}
	for k, f := range faults {
		g.reached(t, 2*k)
		t.Logf("fault %q from write %d", f.name, at[2*k])
		f.start()
		g.open(2 * k)
		g.reached(t, 2*k+1)
		f.end()
		g.open(2*k + 1)
	}
	wg.Wait()
	e.redis.Clear()
	e.mysql.Clear()
	e.mc.Clear()
	e.check(t, recs)
}

type fault struct {
	name       string
	start, end func()
}

// faults in the order they hit, each over a stretch of the writes.
func (e *checkerEnv) faults(t *testing.T) []fault {
	var toxics []func()
	toxic := func(l *faultproxy.Link, typ, stream string, attrs map[string]any) {
		name := l.Toxic(t, typ, stream, attrs)
		toxics = append(toxics, func() { l.Remove(t, name) })
	}
	removeAll := func() {
		for _, rm := range toxics {
			rm()
		}
		toxics = nil
	}
	return []fault{
		{"redis replies reset after the command was sent", func() {
			toxic(e.redis, "reset_peer", "downstream", map[string]any{"timeout": 0})
		}, removeAll},
		{"mysql replies held, then the link closed", func() {
			toxic(e.mysql, "timeout", "downstream", map[string]any{"timeout": 100})
		}, removeAll},
		{"redis restarted (its data saved on the way down)", func() {
			// The dev stack's Redis keeps no data over a restart; a save
			// point makes it write its data set when it stops.
			if err := e.direct.redis.ConfigSet(context.Background(), "save", "3600 1").Err(); err != nil {
				t.Errorf("redis config set save: %v", err)
			}
			e.stack.Stop(t, "redis1")
		}, func() { e.stack.Restart(t, "redis1") }},
		{"memcached link cut", e.mc.Cut, func() { e.mc.Heal(t) }},
		{"faed killed (SIGKILL) and started again", func() { e.restartFaed(t) }, func() {}},
		{"mysql and memcached replies reset", func() {
			toxic(e.mysql, "reset_peer", "downstream", map[string]any{"timeout": 0})
			toxic(e.mc, "reset_peer", "downstream", map[string]any{"timeout": 0})
		}, removeAll},
	}
}

func (e *checkerEnv) openDirect(t *testing.T) {
	t.Helper()
	e.direct.redis = goredis.NewClient(&goredis.Options{Addr: e.sv.Redis[0]})
	t.Cleanup(func() { e.direct.redis.Close() })
	db, err := sql.Open("mysql", "faed:faed@tcp("+e.sv.MySQL+")/faed_global")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.direct.mysql = db
	for _, q := range []string{
		"CREATE TABLE ChkWrite (id BIGINT PRIMARY KEY) ENGINE=InnoDB",
		"INSERT INTO Counter VALUES ('chk', 0)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	e.direct.mc = memcache.New(e.sv.Memcached[0])
}

// write sends write i (id i+1) once and records the reply.
func (e *checkerEnv) write(t *testing.T, r *reconnClient, i int) writeRec {
	rec := writeRec{kind: i % numKinds, id: i + 1}
	c, err := r.get()
	if err != nil { // faed never came back: nothing was sent
		t.Errorf("write %d: %v", i, err)
		rec.out, rec.err = failed, err.Error()
		return rec
	}
	ctx := context.Background()
	id := strconv.Itoa(rec.id)
	key := "chk:u:" + id
	rid := rctx(int64(rec.id))
	switch rec.kind {
	case kindSetNX:
		var reply string
		reply, err = c.RdCall(ctx, rid, "SETNX", "default", []string{key, id})
		rec.twice = err == nil && reply != "1"
	case kindIncr:
		_, err = c.RdCall(ctx, rid, "INCR", "default", []string{"chk:counter"})
	case kindInsert:
		_, err = c.MyQuery(ctx, rid, "Global", "ChkWrite", 0, "INSERT INTO ChkWrite (id) VALUES (?)", []string{id}, "")
		rec.twice = err != nil && strings.Contains(err.Error(), "Duplicate entry")
	case kindUpdate:
		var res *rpc.MysqlResult_
		res, err = c.MyQuery(ctx, rid, "Global", "Counter", 0, "UPDATE Counter SET n = n + 1 WHERE name = 'chk'", nil, "")
		if err == nil && res.RowsAffected != 1 {
			t.Errorf("update %d: %d rows affected", rec.id, res.RowsAffected)
		}
	case kindAdd:
		var stored bool
		stored, err = c.McAdd(ctx, rid, "default", key, &rpc.TMemcacheData{Data: []byte(id)}, 0)
		rec.twice = err == nil && !stored
	case kindIDNext:
		rec.issued, err = c.IDNext(ctx, rid)
	}
	r.done(err)
	rec.out = classify(err)
	if err != nil {
		rec.err = err.Error()
	}
	return rec
}

// kindCount is the checker's tally for one kind.
type kindCount struct {
	acked, failed, unknown, appliedUnknown int
}

// check reads the backends directly and compares them with the replies.
func (e *checkerEnv) check(t *testing.T, recs []writeRec) {
	var counts [numKinds]kindCount
	byKind := map[int][]writeRec{}
	errTexts := map[string]int{}
	for _, r := range recs {
		byKind[r.kind] = append(byKind[r.kind], r)
		switch r.out {
		case acked:
			counts[r.kind].acked++
		case failed:
			counts[r.kind].failed++
		case unknown:
			counts[r.kind].unknown++
		}
		if r.err != "" {
			errTexts[fmt.Sprintf("%s %s: %s", kindNames[r.kind], r.out, shortErr(r.err))]++
		}
		if r.twice {
			t.Errorf("%s id %d: the reply says the key was already there: the write was sent twice (%s)", kindNames[r.kind], r.id, r.err)
		}
	}
	var lost, dup, failedThere int

	// Unique writes: present means the backend holds the id.
	unique := func(kind int, present map[int]bool) {
		mine := map[int]bool{}
		for _, r := range byKind[kind] {
			mine[r.id] = true
			switch {
			case r.out == acked && !present[r.id]:
				lost++
				t.Errorf("%s id %d acked but not there", kindNames[kind], r.id)
			case r.out == failed && present[r.id]:
				failedThere++
				t.Errorf("%s id %d failed (%s) but there", kindNames[kind], r.id, r.err)
			case r.out == unknown && present[r.id]:
				counts[kind].appliedUnknown++
			}
		}
		for id := range present {
			if !mine[id] {
				t.Errorf("%s: id %d there but never written", kindNames[kind], id)
			}
		}
	}
	unique(kindSetNX, e.redisPresent(t, byKind[kindSetNX]))
	unique(kindAdd, e.memcachePresent(t, byKind[kindAdd]))
	unique(kindInsert, e.mysqlPresent(t))

	// Counters: each acked increment once, an unknown one at most once.
	counter := func(kind int, final int64) {
		c := &counts[kind]
		if final < int64(c.acked) {
			lost += c.acked - int(final)
			t.Errorf("%s: counter %d below the %d acked increments", kindNames[kind], final, c.acked)
		}
		if final > int64(c.acked+c.unknown) {
			dup += int(final) - c.acked - c.unknown
			t.Errorf("%s: counter %d above acked %d + unknown %d: an increment was applied twice", kindNames[kind], final, c.acked, c.unknown)
		}
		c.appliedUnknown = max(0, int(final)-c.acked)
	}
	n, err := e.direct.redis.Get(context.Background(), "chk:counter").Int64()
	if err != nil && !errors.Is(err, goredis.Nil) {
		t.Fatalf("redis get chk:counter: %v", err)
	}
	counter(kindIncr, n)
	if err := e.direct.mysql.QueryRow("SELECT n FROM Counter WHERE name = 'chk'").Scan(&n); err != nil {
		t.Fatalf("mysql counter: %v", err)
	}
	counter(kindUpdate, n)

	// Ids: every acked id_next distinct, across faed's restart.
	seen := map[int64]int{}
	for _, r := range byKind[kindIDNext] {
		if r.out != acked {
			continue
		}
		if prev, ok := seen[r.issued]; ok {
			dup++
			t.Errorf("id %d issued twice (calls %d and %d)", r.issued, prev, r.id)
		}
		seen[r.issued] = r.id
	}

	for k, c := range counts {
		if c.acked == 0 {
			t.Errorf("%s: no call acked", kindNames[k])
		}
	}

	texts := make([]string, 0, len(errTexts))
	for s, n := range errTexts {
		texts = append(texts, fmt.Sprintf("%6d  %s", n, s))
	}
	slices.Sort(texts)
	t.Logf("error replies by kind and outcome:\n%s", strings.Join(texts, "\n"))
	var line []string
	for k, c := range counts {
		line = append(line, fmt.Sprintf("%s acked=%d failed=%d unknown=%d applied-unknown=%d",
			kindNames[k], c.acked, c.failed, c.unknown, c.appliedUnknown))
	}
	t.Logf("write checker: %d calls, lost=%d duplicated=%d failed-but-there=%d; %s",
		len(recs), lost, dup, failedThere, strings.Join(line, "; "))
}

// shortErr drops what differs between replies of the same kind
// (addresses, ports, ids) so they group.
func shortErr(s string) string {
	s = strings.TrimPrefix(s, "Internal error processing ")
	var b strings.Builder
	digits := false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if !digits {
				b.WriteByte('N')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteRune(r)
	}
	if out := b.String(); len(out) > 160 {
		return out[:160]
	}
	return b.String()
}

func (e *checkerEnv) redisPresent(t *testing.T, recs []writeRec) map[int]bool {
	ctx := context.Background()
	present := map[int]bool{}
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = "chk:u:" + strconv.Itoa(r.id)
	}
	for chunk := range slices.Chunk(keys, 500) {
		vals, err := e.direct.redis.MGet(ctx, chunk...).Result()
		if err != nil {
			t.Fatalf("redis mget: %v", err)
		}
		for i, v := range vals {
			if v == nil {
				continue
			}
			id, _ := strconv.Atoi(strings.TrimPrefix(chunk[i], "chk:u:"))
			if v != strconv.Itoa(id) {
				t.Errorf("redis %s = %v, want its id", chunk[i], v)
			}
			present[id] = true
		}
	}
	// A key no SETNX wrote is added too, for unique to report.
	all, err := e.direct.redis.Keys(ctx, "chk:u:*").Result()
	if err != nil {
		t.Fatalf("redis keys: %v", err)
	}
	for _, k := range all {
		if id, err := strconv.Atoi(strings.TrimPrefix(k, "chk:u:")); err == nil {
			present[id] = true
		}
	}
	return present
}

func (e *checkerEnv) memcachePresent(t *testing.T, recs []writeRec) map[int]bool {
	present := map[int]bool{}
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = "chk:u:" + strconv.Itoa(r.id)
	}
	for chunk := range slices.Chunk(keys, 200) {
		items, err := e.direct.mc.GetMulti(chunk)
		if err != nil {
			t.Fatalf("memcache get: %v", err)
		}
		for k, it := range items {
			id, _ := strconv.Atoi(strings.TrimPrefix(k, "chk:u:"))
			if string(it.Value) != strconv.Itoa(id) {
				t.Errorf("memcache %s = %q, want its id", k, it.Value)
			}
			present[id] = true
		}
	}
	return present
}

func (e *checkerEnv) mysqlPresent(t *testing.T) map[int]bool {
	rows, err := e.direct.mysql.Query("SELECT id FROM ChkWrite")
	if err != nil {
		t.Fatalf("mysql select: %v", err)
	}
	defer rows.Close()
	present := map[int]bool{}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if present[id] {
			t.Errorf("mysql ChkWrite id %d twice", id)
		}
		present[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return present
}

// grantRec is one lock_fenced call that was granted.
type grantRec struct {
	key                  string
	token                int64
	sent, recv, released time.Time // call sent, grant received, unlock sent
	epochSent, epochRecv int64     // faed's incarnation at sent and recv
	unlocked             bool
}

// TestFencedLockChecker: clients take fenced locks on a few keys while
// faed is killed and started again. A grant whose reply came before
// another's call was sent has the smaller token, on every key, across the
// restart; within one incarnation of faed no grant falls inside another
// holder's hold.
func TestFencedLockChecker(t *testing.T) {
	nClients, total := 10, 1_500
	if os.Getenv("FAED_CHECKER_FULL") == "1" {
		nClients, total = 50, 10_000
	}
	_, sv := devstack.Start(t, devstack.Ports{ZK: 18283})
	dir := t.TempDir()
	e := &checkerEnv{dir: dir, addr: reserveAddr(t), extra: clusterConf(sv.ZK)}
	e.p = startFaedAt(t, dir, e.addr, e.extra)
	keys := []string{"chk-a", "chk-b", "chk-c"}

	var epoch atomic.Int64
	g := newGates(total, []int{total / 2})
	var mu sync.Mutex
	var grants []grantRec
	var refused, errs, unlockFalse int
	var wg sync.WaitGroup
	for cl := range nClients {
		wg.Go(func() {
			r := &reconnClient{addr: e.addr}
			defer r.close()
			rnd := rand.New(rand.NewPCG(uint64(cl), 7))
			for {
				i, ok := g.draw()
				if !ok {
					return
				}
				c, err := r.get()
				if err != nil {
					t.Errorf("attempt %d: %v", i, err)
					return
				}
				key := keys[rnd.IntN(len(keys))]
				rid := rctx(int64(cl + 1))
				gr := grantRec{key: key, sent: time.Now(), epochSent: epoch.Load()}
				tok, err := c.LockFenced(context.Background(), rid, "chk", key, 5000)
				gr.recv, gr.epochRecv = time.Now(), epoch.Load()
				r.done(err)
				if err != nil || tok == 0 {
					mu.Lock()
					if err != nil {
						errs++
					} else {
						refused++
					}
					mu.Unlock()
					continue
				}
				gr.token = tok
				time.Sleep(time.Duration(rnd.IntN(2000)) * time.Microsecond)
				gr.released = time.Now()
				ok, err = c.UnlockFenced(context.Background(), rid, "chk", key, tok)
				r.done(err)
				gr.unlocked = err == nil && ok
				mu.Lock()
				if err == nil && !ok && gr.epochSent == epoch.Load() {
					unlockFalse++
				}
				grants = append(grants, gr)
				mu.Unlock()
			}
		})
	}
	g.reached(t, 0)
	epoch.Add(1)
	e.restartFaed(t)
	g.open(0)
	wg.Wait()

	var orderBad, overlap, overlapAcross int
	for _, key := range keys {
		var gs []grantRec
		for _, gr := range grants {
			if gr.key == key {
				gs = append(gs, gr)
			}
		}
		tokens := map[int64]bool{}
		for _, a := range gs {
			if tokens[a.token] {
				t.Errorf("%s: token %d granted twice", key, a.token)
			}
			tokens[a.token] = true
		}
		for _, a := range gs {
			for _, b := range gs {
				if a.recv.Before(b.sent) && a.token >= b.token {
					orderBad++
					t.Errorf("%s: token %d granted after token %d had been received", key, b.token, a.token)
				}
				// b granted while a surely held the lock (a's reply in,
				// its unlock not yet sent; the holds are far below the TTL).
				if a.token != b.token && b.sent.After(a.recv) && b.recv.Before(a.released) {
					sameRun := a.epochSent == a.epochRecv && b.epochSent == b.epochRecv && a.epochRecv == b.epochRecv
					if sameRun {
						overlap++
						t.Errorf("%s: token %d granted while token %d was held", key, b.token, a.token)
					} else {
						overlapAcross++
					}
				}
			}
		}
	}
	t.Logf("lock checker: %d attempts, %d grants, %d refused (held), %d errors; token order violations=%d, "+
		"overlapping holders=%d, overlaps across faed's restart=%d (the restarted faed does not know the old grants), "+
		"unlocks refused in the same run=%d", total, len(grants), refused, errs, orderBad, overlap, overlapAcross, unlockFalse)
	var before, after int
	for _, gr := range grants {
		if gr.epochRecv == 0 {
			before++
		} else if gr.epochSent == 1 {
			after++
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("grants before faed's restart %d, after %d: want some of each", before, after)
	}
}
