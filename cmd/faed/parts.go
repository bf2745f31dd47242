package main

import (
	"context"

	"github.com/faed/faed/engine"
	"github.com/faed/faed/pool/mongo"
	"github.com/faed/faed/pool/mysql"
	"github.com/faed/faed/servant"
)

// part is p when its config section has servers, else the interface's nil,
// so the servant's calls say the part is not configured (a nil pointer in
// a non-nil interface would not).
func part[I any](p I, configured bool) I {
	if !configured {
		var none I
		return none
	}
	return p
}

// locals hands the servant the engine's per-connection values.
func locals(ctx context.Context) servant.ConnLocals {
	if l := engine.LocalsOf(ctx); l != nil {
		return l
	}
	return nil
}

// mysqlPools is pool/mysql as the servant's MySQLPools: its servers and
// transactions behind the servant's interfaces.
type mysqlPools struct{ *mysql.Pools }

func (p mysqlPools) Server(ctx context.Context, pool string, hint int64) (servant.MySQLServer, error) {
	s, err := p.Pools.Server(ctx, pool, hint)
	if err != nil {
		return nil, err
	}
	return mysqlServer{s}, nil
}

func (p mysqlPools) Shards(prefix string) []servant.MySQLServer {
	shards := p.Pools.Shards(prefix)
	out := make([]servant.MySQLServer, len(shards))
	for i, s := range shards {
		out[i] = mysqlServer{s}
	}
	return out
}

type mysqlServer struct{ *mysql.Server }

func (s mysqlServer) Begin(ctx context.Context, sql string) (servant.MySQLTx, error) {
	tx, err := s.Server.Begin(ctx, sql)
	if err != nil {
		return nil, err
	}
	return tx, nil
}

// mongoPools is pool/mongo as the servant's MongoPools.
type mongoPools struct{ *mongo.Pools }

func (p mongoPools) Pick(pool string, shardID int32) (servant.MongoServer, error) {
	s, err := p.Pools.Pick(pool, shardID)
	if err != nil {
		return nil, err
	}
	return s, nil
}

var (
	_ servant.MySQLPools = mysqlPools{}
	_ servant.MySQLTx    = (*mysql.Tx)(nil)
	_ servant.MongoPools = mongoPools{}
)
