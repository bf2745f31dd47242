package mongo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/faed/faed/internal/calltrace"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ErrNotFound: no document matched (mg_find_one turns it into
// TMongoNotFound).
var ErrNotFound = errors.New("no document matches")

// Every document argument is raw BSON the servant has validated; nil
// means none (no projection, or match everything).

// FindOne returns the first document matching query, projected by fields.
func (s *Server) FindOne(ctx context.Context, table string, query, fields bson.Raw) (bson.Raw, error) {
	var doc bson.Raw
	calltrace.Backend(ctx, "mongo", s.name)
	err := s.do(func() error {
		opts := options.FindOne()
		if fields != nil {
			opts.SetProjection(fields)
		}
		var err error
		doc, err = s.db.Collection(table).FindOne(ctx, filter(query), opts).Raw()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil // an answer, not a failure
		}
		return err
	})
	if err == nil && doc == nil {
		return nil, fmt.Errorf("mongo %s: %w", s.name, ErrNotFound)
	}
	return doc, err
}

// FindAll returns the matching documents, sorted by orderBy ("field"
// ascending, "-field" descending), after skip, at most limit (0: no limit).
func (s *Server) FindAll(ctx context.Context, table string, query, fields bson.Raw, limit, skip int64, orderBy []string) ([]bson.Raw, error) {
	if limit < 0 || skip < 0 {
		return nil, fmt.Errorf("mongo %s: limit %d and skip %d must be >= 0", s.name, limit, skip)
	}
	maxN := int64(s.maxAll)
	if limit == 0 || limit > maxN {
		limit = maxN + 1 // one more tells "too many" from "exactly max"
	}
	opts := options.Find().SetLimit(limit).SetSkip(skip)
	if fields != nil {
		opts.SetProjection(fields)
	}
	if len(orderBy) > 0 {
		opts.SetSort(sortSpec(orderBy))
	}
	var docs []bson.Raw
	calltrace.Backend(ctx, "mongo", s.name)
	err := s.do(func() error {
		cur, err := s.db.Collection(table).Find(ctx, filter(query), opts)
		if err != nil {
			return err
		}
		defer cur.Close(ctx)
		docs = []bson.Raw{}
		for cur.Next(ctx) {
			if len(docs) == s.maxAll {
				return fmt.Errorf("%w: more than max_find_all %d", ErrTooMany, s.maxAll)
			}
			docs = append(docs, append(bson.Raw(nil), cur.Current...))
		}
		return cur.Err()
	})
	return docs, err
}

// sortSpec turns mg_find_all's orderBy into a sort document, in order.
func sortSpec(orderBy []string) bson.D {
	d := make(bson.D, 0, len(orderBy))
	for _, f := range orderBy {
		if name, ok := strings.CutPrefix(f, "-"); ok {
			d = append(d, bson.E{Key: name, Value: -1})
		} else {
			d = append(d, bson.E{Key: strings.TrimPrefix(f, "+"), Value: 1})
		}
	}
	return d
}

// Count counts the matching documents.
func (s *Server) Count(ctx context.Context, table string, query bson.Raw) (int32, error) {
	var n int64
	calltrace.Backend(ctx, "mongo", s.name)
	err := s.do(func() error {
		var err error
		n, err = s.db.Collection(table).CountDocuments(ctx, filter(query))
		return err
	})
	if err == nil && n > math.MaxInt32 {
		return 0, fmt.Errorf("mongo %s: count %d does not fit mg_count's i32", s.name, n)
	}
	return int32(n), err
}

// Update changes one matching document: with operators ($set, $inc...)
// as an update, without them as a whole replacement (as the older daemon
// did). It reports whether a document matched; with upsert one is
// inserted when none did.
func (s *Server) Update(ctx context.Context, table string, query, change bson.Raw, upsert bool) (bool, error) {
	release, err := s.locks.lock(ctx, table, query)
	if err != nil {
		return false, fmt.Errorf("mongo %s: %w", s.name, err)
	}
	defer release()
	var matched bool
	calltrace.Backend(ctx, "mongo", s.name)
	err = s.do(upsertRetry(upsert, func() error {
		coll := s.db.Collection(table)
		var res *mongo.UpdateResult
		var err error
		if isOperatorDoc(change) {
			res, err = coll.UpdateOne(ctx, filter(query), change, options.UpdateOne().SetUpsert(upsert))
		} else {
			res, err = coll.ReplaceOne(ctx, filter(query), change, options.Replace().SetUpsert(upsert))
		}
		if err != nil {
			return err
		}
		matched = res.MatchedCount > 0 || res.UpsertedCount > 0
		return nil
	}))
	return matched, err
}

// Insert inserts the documents, in order, stopping at the first error.
func (s *Server) Insert(ctx context.Context, table string, docs []bson.Raw) error {
	calltrace.Backend(ctx, "mongo", s.name)
	return s.do(func() error {
		coll := s.db.Collection(table)
		if len(docs) == 1 {
			_, err := coll.InsertOne(ctx, docs[0])
			return err
		}
		many := make([]any, len(docs))
		for i, d := range docs {
			many[i] = d
		}
		_, err := coll.InsertMany(ctx, many, options.InsertMany().SetOrdered(true))
		return err
	})
}

// Delete removes one matching document and reports whether there was one.
func (s *Server) Delete(ctx context.Context, table string, query bson.Raw) (bool, error) {
	var deleted bool
	calltrace.Backend(ctx, "mongo", s.name)
	err := s.do(func() error {
		res, err := s.db.Collection(table).DeleteOne(ctx, filter(query))
		if err != nil {
			return err
		}
		deleted = res.DeletedCount > 0
		return nil
	})
	return deleted, err
}

// FindAndModify updates (or, with remove, deletes) one matching document
// atomically and returns it as it was, or as it is after the update with
// returnNew. No match (and no upsert) returns nil.
func (s *Server) FindAndModify(ctx context.Context, table string, query, change bson.Raw, upsert, remove, returnNew bool) (bson.Raw, error) {
	release, err := s.locks.lock(ctx, table, query)
	if err != nil {
		return nil, fmt.Errorf("mongo %s: %w", s.name, err)
	}
	defer release()
	var doc bson.Raw
	calltrace.Backend(ctx, "mongo", s.name)
	err = s.do(upsertRetry(upsert && !remove, func() error {
		coll := s.db.Collection(table)
		var r *mongo.SingleResult
		switch {
		case remove:
			r = coll.FindOneAndDelete(ctx, filter(query))
		case isOperatorDoc(change):
			r = coll.FindOneAndUpdate(ctx, filter(query), change,
				options.FindOneAndUpdate().SetUpsert(upsert).SetReturnDocument(returnDoc(returnNew)))
		default:
			r = coll.FindOneAndReplace(ctx, filter(query), change,
				options.FindOneAndReplace().SetUpsert(upsert).SetReturnDocument(returnDoc(returnNew)))
		}
		var err error
		doc, err = r.Raw()
		if errors.Is(err, mongo.ErrNoDocuments) {
			doc = nil
			return nil
		}
		return err
	}))
	return doc, err
}

// upsertRetries bounds upsertRetry.
const upsertRetries = 3

// upsertRetry runs op again when an upsert lost an insert race: two
// upserts of one missing document both try to insert it and one fails with
// a duplicate key. Nothing of the failed attempt was applied, and the
// document now exists, so the retry updates it (MongoDB itself retries
// such upserts since 4.2; other servers may not).
func upsertRetry(upsert bool, op func() error) func() error {
	if !upsert {
		return op
	}
	return func() error {
		var err error
		for range upsertRetries {
			if err = op(); !mongo.IsDuplicateKeyError(err) {
				return err
			}
		}
		return err
	}
}

func returnDoc(after bool) options.ReturnDocument {
	if after {
		return options.After
	}
	return options.Before
}

// isOperatorDoc: an update document's first key is an operator ($set...).
func isOperatorDoc(d bson.Raw) bool {
	e, err := d.IndexErr(0)
	return err == nil && strings.HasPrefix(e.Key(), "$")
}

func filter(q bson.Raw) any {
	if q == nil {
		return bson.D{}
	}
	return q
}
