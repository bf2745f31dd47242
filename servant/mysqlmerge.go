package servant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/pool/mysql"
)

// Errors of my_merge.
var (
	// ErrNotObject: the stored value or jsonValue is not a JSON object.
	ErrNotObject = errors.New("not a JSON object")
	// ErrManyRows: where matched more than one row.
	ErrManyRows = errors.New("where matches more than one row; my_merge needs exactly one")
	// ErrBadName: table or column is not a plain identifier.
	ErrBadName = errors.New("not a table or column name")
)

// MyMerge merges jsonValue into the JSON object in column of the one row
// matching where, atomically: the row is read FOR UPDATE and written back
// in one transaction, the new value bound as a parameter. No matching row
// → ok false. key, when it names a cached query, is evicted.
func (s *Servant) MyMerge(ctx context.Context, c *rpc.Context, pool, table string, hintID int64, where, key, column, jsonValue string) (*rpc.MysqlMergeResult_, error) {
	my, err := s.mysqlPools(c)
	if err != nil {
		return nil, err
	}
	if !mysql.ValidIdentifier(table) || !mysql.ValidIdentifier(column) {
		return nil, fmt.Errorf("%w: table %q, column %q", ErrBadName, table, column)
	}
	patch, err := parseObject(jsonValue)
	if err != nil {
		return nil, fmt.Errorf("jsonValue: %w", err)
	}
	// A merge with a key runs on the key's owner, which evicts the cached
	// query under it. The merge itself is atomic anywhere (one
	// transaction, FOR UPDATE): an unreachable owner is an error only
	// because the eviction cannot happen there. Inside this connection's
	// transaction it runs here, beside it.
	open := s.openTx(ctx)
	routeKey := key
	if open != nil {
		routeKey = ""
	}
	if res, r, err := keyed(ctx, s, c, methodMyMerge, routeKey, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (*rpc.MysqlMergeResult_, error) {
		return cl.MyMerge(ctx, c, pool, table, hintID, where, key, column, jsonValue)
	}); r != routeLocal {
		return res, err
	}
	srv, err := my.Server(ctx, pool, hintID)
	if err != nil {
		return nil, err
	}
	if open != nil && open.tx.ServerName() == srv.Name() {
		return nil, fmt.Errorf("%w (my_merge runs its own transaction)", ErrTxOpen)
	}
	tx, err := srv.Begin(ctx, "START TRANSACTION")
	if err != nil {
		return nil, err
	}
	defer tx.Close() // rolls back unless committed
	cur, err := tx.Run(ctx, mysql.Query, "SELECT `"+column+"` FROM "+table+" WHERE "+where+" FOR UPDATE", nil)
	switch {
	case err != nil:
		return nil, err
	case len(cur.Rows) == 0:
		return &rpc.MysqlMergeResult_{Ok: false, NewVal_: ""}, nil
	case len(cur.Rows) > 1:
		return nil, fmt.Errorf("%w (%d rows)", ErrManyRows, len(cur.Rows))
	}
	merged, err := mergeJSON(cur.Rows[0][0], patch)
	if err != nil {
		return nil, fmt.Errorf("column %s: %w", column, err)
	}
	if _, err := tx.Run(ctx, mysql.Exec, "UPDATE "+table+" SET `"+column+"` = ? WHERE "+where, []string{merged}); err != nil {
		return nil, err
	}
	if err := tx.End(ctx, mysql.Commit, "COMMIT"); err != nil {
		return nil, err
	}
	s.evictAfterWrite(ctx, c, key)
	return &rpc.MysqlMergeResult_{Ok: true, NewVal_: merged}, nil
}

// mergeJSON merges patch into the stored object: objects merge key by key,
// recursively; anything else in patch replaces. An empty or NULL stored
// value is an empty object. Numbers keep their exact text.
func mergeJSON(stored string, patch map[string]any) (string, error) {
	base := map[string]any{}
	if stored != "" && stored != "NULL" {
		var err error
		if base, err = parseObject(stored); err != nil {
			return "", err
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // keep <, > and & as they were
	if err := enc.Encode(mergeObjects(base, patch)); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(out.Bytes(), []byte("\n"))), nil
}

func mergeObjects(base, patch map[string]any) map[string]any {
	for k, pv := range patch {
		bo, bok := base[k].(map[string]any)
		po, pok := pv.(map[string]any)
		if bok && pok {
			base[k] = mergeObjects(bo, po)
		} else {
			base[k] = pv
		}
	}
	return base
}

// parseObject decodes one JSON object, numbers as json.Number so large
// integers survive the round trip.
func parseObject(s string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotObject, err)
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		return nil, fmt.Errorf("%w: data after the object", ErrNotObject)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, ErrNotObject
	}
	return obj, nil
}
