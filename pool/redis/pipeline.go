package redis

import (
	"context"
	"fmt"

	"github.com/faed/faed/pool/batch"
	"github.com/faed/faed/pool/breaker"
	goredis "github.com/redis/go-redis/v9"
)

// maxPipeline bounds one pipeline.
const maxPipeline = 256

// newPipeline batches a server's concurrent commands into pipelines (see
// pool/batch). Commands from different clients are interleaved on a server
// anyway, so atomicity is unchanged; blocking commands never go through it.
func newPipeline(client *goredis.Client, b *breaker.Breaker, lanes int) *batch.Batcher[[]any, any] {
	return batch.New(batch.Config[[]any, any]{
		Lanes:  lanes,
		Max:    maxPipeline,
		Direct: func(ctx context.Context, args []any) (any, error) { return direct(ctx, client, b, args) },
		Send:   func(calls []*batch.Call[[]any, any]) { sendPipeline(client, b, calls) },
	})
}

// direct sends one command on its own pooled connection.
func direct(ctx context.Context, client *goredis.Client, b *breaker.Breaker, args []any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w before sending (%w)", err, ErrNotSent)
	}
	var reply any
	err := b.Do(func() error {
		var err error
		reply, err = client.Do(ctx, args...).Result()
		return err
	})
	return reply, err
}

// sendPipeline runs one batch under the breaker, bounded by the pool's
// read and write timeouts rather than any caller's context.
func sendPipeline(client *goredis.Client, b *breaker.Breaker, calls []*batch.Call[[]any, any]) {
	ctx := context.Background()
	cmds := make([]*goredis.Cmd, len(calls))
	err := b.Do(func() error {
		_, err := client.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
			for i, c := range calls {
				cmds[i] = pipe.Do(ctx, c.Req...)
			}
			return nil
		})
		if err != nil && !isServerFailure(err) {
			return nil // per-command replies (errors, nils) are answers
		}
		return err
	})
	for i, c := range calls {
		if cmds[i] == nil || (err != nil && isServerFailure(cmds[i].Err())) {
			c.Err = err
			continue
		}
		c.Resp, c.Err = cmds[i].Result()
	}
}
