package mongo

import (
	"context"
	"hash/maphash"
)

// keyLocks serialises read-modify-write operations (findAndModify and
// update) on the same collection and query through this faed. MongoDB makes
// each of them atomic per document anyway, so this costs nothing there; a
// MongoDB-wire server that applies them as separate read and write
// (FerretDB 1.x does) would otherwise lose concurrent increments. Striped:
// unrelated queries share a stripe only by hash collision, and a waiter
// gives up when its call's deadline passes.
type keyLocks struct {
	seed    maphash.Seed
	stripes [256]chan struct{}
}

func newKeyLocks() *keyLocks {
	k := &keyLocks{seed: maphash.MakeSeed()}
	for i := range k.stripes {
		k.stripes[i] = make(chan struct{}, 1)
	}
	return k
}

// lock takes the stripe of (table, query) and returns its release.
func (k *keyLocks) lock(ctx context.Context, table string, query []byte) (func(), error) {
	var h maphash.Hash
	h.SetSeed(k.seed)
	_, _ = h.WriteString(table)
	_ = h.WriteByte(0)
	_, _ = h.Write(query)
	ch := k.stripes[h.Sum64()%uint64(len(k.stripes))]
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
