package servant

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/pool/mongo"
	"go.mongodb.org/mongo-driver/v2/bson"
)

const partMongo = "mongodb"

// ErrBadBSON: an argument is not one well-formed BSON document.
var ErrBadBSON = errors.New("not a BSON document")

// MongoPools is what mg_* need of pool/mongo.
type MongoPools interface {
	Pick(pool string, shardID int32) (MongoServer, error)
}

// MongoServer is one server's operations (mongo.Server).
type MongoServer interface {
	FindOne(ctx context.Context, table string, query, fields bson.Raw) (bson.Raw, error)
	FindAll(ctx context.Context, table string, query, fields bson.Raw, limit, skip int64, orderBy []string) ([]bson.Raw, error)
	Count(ctx context.Context, table string, query bson.Raw) (int32, error)
	Update(ctx context.Context, table string, query, change bson.Raw, upsert bool) (bool, error)
	Insert(ctx context.Context, table string, docs []bson.Raw) error
	Delete(ctx context.Context, table string, query bson.Raw) (bool, error)
	FindAndModify(ctx context.Context, table string, query, change bson.Raw, upsert, remove, returnNew bool) (bson.Raw, error)
}

var _ MongoServer = (*mongo.Server)(nil)

// mongoServer checks the Context and picks the server.
func (s *Servant) mongoServer(c *rpc.Context, pool string, shardID int32) (MongoServer, error) {
	if err := checkContext(c); err != nil {
		return nil, err
	}
	mg := s.backend().Mongo
	if mg == nil {
		return nil, fmt.Errorf("%s: %w", partMongo, ErrNotConfigured)
	}
	return mg.Pick(pool, shardID)
}

// doc validates one BSON argument; empty means none (nil).
func doc(name string, b []byte) (bson.Raw, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if err := bson.Raw(b).Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrBadBSON, err)
	}
	if n := binary.LittleEndian.Uint32(b); int64(n) != int64(len(b)) {
		return nil, fmt.Errorf("%s: %w: %d bytes after the document", name, ErrBadBSON, int64(len(b))-int64(n))
	}
	return bson.Raw(b), nil
}

// projection: fields of 5 bytes or fewer (the empty document) is none.
func projection(b []byte) (bson.Raw, error) {
	if len(b) <= 5 {
		return nil, nil
	}
	return doc("fields", b)
}

// idFilter is {_id: id} for the *_id methods that take an i32.
func idFilter(id int32) bson.Raw {
	b, _ := bson.Marshal(bson.D{{Key: "_id", Value: id}}) // cannot fail
	return b
}

// MgFindOne returns the first matching document; none throws TMongoNotFound.
func (s *Servant) MgFindOne(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, query, fields []byte) ([]byte, error) {
	srv, err := s.mongoServer(c, pool, shardID)
	if err != nil {
		return nil, err
	}
	q, err := doc("query", query)
	if err != nil {
		return nil, err
	}
	f, err := projection(fields)
	if err != nil {
		return nil, err
	}
	d, err := srv.FindOne(ctx, table, q, f)
	if errors.Is(err, mongo.ErrNotFound) {
		return nil, mongoNotFound(err)
	}
	return d, err
}

// MgFindAll returns the matching documents, sorted by orderBy ("-field"
// descending), after skip, at most limit (0: all, up to max_find_all).
func (s *Servant) MgFindAll(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, query, fields []byte, limit, skip int32, orderBy []string) ([][]byte, error) {
	srv, err := s.mongoServer(c, pool, shardID)
	if err != nil {
		return nil, err
	}
	q, err := doc("query", query)
	if err != nil {
		return nil, err
	}
	f, err := projection(fields)
	if err != nil {
		return nil, err
	}
	docs, err := srv.FindAll(ctx, table, q, f, int64(limit), int64(skip), orderBy)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(docs))
	for i, d := range docs {
		out[i] = d
	}
	return out, nil
}

// MgFindID returns the document whose _id is given by id, a BSON document:
// its "_id" field, or else its first field's value, is the _id (so
// {"_id": ObjectId(...)} and {"id": "abc"} both work). No such document
// returns empty bytes (the method declares no exception).
func (s *Servant) MgFindID(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, id []byte) ([]byte, error) {
	srv, err := s.mongoServer(c, pool, shardID)
	if err != nil {
		return nil, err
	}
	d, err := doc("id", id)
	if err != nil {
		return nil, err
	}
	v, err := idValue(d)
	if err != nil {
		return nil, err
	}
	q, err := bson.Marshal(bson.D{{Key: "_id", Value: v}})
	if err != nil {
		return nil, fmt.Errorf("id: %w", err)
	}
	found, err := srv.FindOne(ctx, table, q, nil)
	if errors.Is(err, mongo.ErrNotFound) {
		return []byte{}, nil
	}
	return found, err
}

func idValue(d bson.Raw) (bson.RawValue, error) {
	if d == nil {
		return bson.RawValue{}, fmt.Errorf("id: %w: empty", ErrBadBSON)
	}
	if v, err := d.LookupErr("_id"); err == nil {
		return v, nil
	}
	e, err := d.IndexErr(0)
	if err != nil {
		return bson.RawValue{}, fmt.Errorf("id: %w: the document has no field", ErrBadBSON)
	}
	return e.Value(), nil
}

// MgCount counts the matching documents.
func (s *Servant) MgCount(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, query []byte) (int32, error) {
	srv, err := s.mongoServer(c, pool, shardID)
	if err != nil {
		return 0, err
	}
	q, err := doc("query", query)
	if err != nil {
		return 0, err
	}
	return srv.Count(ctx, table, q)
}

// MgUpdate changes one matching document; false when none matched.
func (s *Servant) MgUpdate(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, query, change []byte) (bool, error) {
	return s.mgUpdate(ctx, c, pool, table, shardID, query, change, false)
}

// MgUpdateID changes the document with _id id (an integer _id).
func (s *Servant) MgUpdateID(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, id int32, change []byte) (bool, error) {
	return s.mgUpdate(ctx, c, pool, table, shardID, idFilter(id), change, false)
}

// MgUpsert changes one matching document or inserts one.
func (s *Servant) MgUpsert(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, query, change []byte) (bool, error) {
	return s.mgUpdate(ctx, c, pool, table, shardID, query, change, true)
}

// MgUpsertID changes or inserts the document with _id id.
func (s *Servant) MgUpsertID(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, id int32, change []byte) (bool, error) {
	return s.mgUpdate(ctx, c, pool, table, shardID, idFilter(id), change, true)
}

func (s *Servant) mgUpdate(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, query, change []byte, upsert bool) (bool, error) {
	srv, err := s.mongoServer(c, pool, shardID)
	if err != nil {
		return false, err
	}
	q, err := doc("query", query)
	if err != nil {
		return false, err
	}
	ch, err := doc("change", change)
	if err != nil {
		return false, err
	}
	if ch == nil {
		return false, fmt.Errorf("change: %w: empty", ErrBadBSON)
	}
	return srv.Update(ctx, table, q, ch, upsert)
}

// MgInsert inserts one document.
func (s *Servant) MgInsert(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, d []byte) (bool, error) {
	return s.MgInserts(ctx, c, pool, table, shardID, [][]byte{d})
}

// MgInserts inserts the documents in order, stopping at the first error.
func (s *Servant) MgInserts(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, docs [][]byte) (bool, error) {
	srv, err := s.mongoServer(c, pool, shardID)
	if err != nil {
		return false, err
	}
	if len(docs) == 0 {
		return false, fmt.Errorf("docs: %w: none given", ErrBadBSON)
	}
	raws := make([]bson.Raw, len(docs))
	for i, b := range docs {
		if raws[i], err = doc(fmt.Sprintf("docs[%d]", i), b); err != nil {
			return false, err
		}
		if raws[i] == nil {
			return false, fmt.Errorf("docs[%d]: %w: empty", i, ErrBadBSON)
		}
	}
	if err := srv.Insert(ctx, table, raws); err != nil {
		return false, err
	}
	return true, nil
}

// MgDelete removes one matching document; false when none matched.
func (s *Servant) MgDelete(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, query []byte) (bool, error) {
	srv, err := s.mongoServer(c, pool, shardID)
	if err != nil {
		return false, err
	}
	q, err := doc("query", query)
	if err != nil {
		return false, err
	}
	return srv.Delete(ctx, table, q)
}

// MgFindAndModify updates (or removes) one matching document atomically
// and returns it before the change, or after it with returnNew. No match
// (and no upsert) returns empty bytes.
func (s *Servant) MgFindAndModify(ctx context.Context, c *rpc.Context, pool, table string, shardID int32, query, change []byte, upsert, remove, returnNew bool) ([]byte, error) {
	srv, err := s.mongoServer(c, pool, shardID)
	if err != nil {
		return nil, err
	}
	q, err := doc("query", query)
	if err != nil {
		return nil, err
	}
	ch, err := doc("change", change)
	if err != nil {
		return nil, err
	}
	if ch == nil && !remove {
		return nil, fmt.Errorf("change: %w: empty", ErrBadBSON)
	}
	d, err := srv.FindAndModify(ctx, table, q, ch, upsert, remove, returnNew)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return []byte{}, nil
	}
	return d, nil
}
