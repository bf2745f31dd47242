package servant

import (
	"context"
	"fmt"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// QueryCache is what my_query needs of its result cache
// (querycache.Cache[*rpc.MysqlResult_] with ResultCodec).
type QueryCache interface {
	Load(key string, query func() (*rpc.MysqlResult_, error)) (*rpc.MysqlResult_, error)
	Evict(key string)
}

// ResultCodec keeps a cached my_query result as its Thrift binary
// encoding: columns and rows only, so a hit reports rowsAffected 0.
type ResultCodec struct{}

// Encode writes r's columns and rows.
func (ResultCodec) Encode(r *rpc.MysqlResult_) ([]byte, error) {
	buf := thrift.NewTMemoryBufferLen(256)
	if err := (&rpc.MysqlResult_{Cols: r.Cols, Rows: r.Rows}).Write(context.Background(), thrift.NewTBinaryProtocolConf(buf, nil)); err != nil {
		return nil, fmt.Errorf("query cache: %w", err)
	}
	return buf.Bytes(), nil
}

// Decode reads what Encode wrote.
func (ResultCodec) Decode(b []byte) (*rpc.MysqlResult_, error) {
	buf := thrift.NewTMemoryBufferLen(len(b))
	_, _ = buf.Write(b)
	r := &rpc.MysqlResult_{}
	if err := r.Read(context.Background(), thrift.NewTBinaryProtocolConf(buf, nil)); err != nil {
		return nil, fmt.Errorf("query cache: %w", err)
	}
	return r, nil
}
