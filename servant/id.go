package servant

import (
	"context"
	"fmt"

	"github.com/faed/faed/idgen"
	"github.com/faed/faed/idl/fun/rpc"
)

const partID = "id generator"

// IDs is what id_next needs of the id generator (idgen.Generator).
type IDs interface {
	Next(tag int) (int64, error)
	// Worker is the worker id in new ids, -1 while none is held.
	Worker() int
}

// IDNext issues an id with tag 0.
func (s *Servant) IDNext(ctx context.Context, c *rpc.Context) (int64, error) {
	return s.IDNextWithTag(ctx, c, 0)
}

// IDNextWithTag issues an id carrying tag (0–31).
func (s *Servant) IDNextWithTag(_ context.Context, c *rpc.Context, tag int16) (int64, error) {
	if err := checkContext(c); err != nil {
		return 0, err
	}
	if s.ids == nil {
		return 0, fmt.Errorf("%s: %w", partID, ErrNotConfigured)
	}
	return s.ids.Next(int(tag))
}

// IDDecode returns [unix-ms, tag, worker, seq]. Like noop it skips the
// Context check: it needs no state.
func (s *Servant) IDDecode(_ context.Context, _ *rpc.Context, id int64) ([]int64, error) {
	return idgen.Decode(id), nil
}
