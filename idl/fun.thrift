/**
 * FunServant: the RPC contract between PHP (or any Thrift client) and faed.
 *
 * Wire compatible with the older FunServant service: field ids, types and
 * method names must never change. New methods may be added; old clients never
 * call them. Field names are not on the wire; the request context is named
 * `rctx` because the Go generator reserves `ctx`.
 */
namespace php fun.rpc
namespace py fun.rpc
namespace java fun.rpc
namespace go fun.rpc

exception TCacheMissed {
    11: optional string message
}

exception TMongoNotFound {
    11: optional string message
}

exception TMongoDegrade {
    11: optional string message
}

exception TMongoReadOnly {
    11: optional string message
}

/*
 * The older contract marks the fields of these structs (and Context's)
 * `required`. Here they have default requiredness: always written, and a
 * field an older client leaves unset (a TMemcacheData with only data, say)
 * reads as its zero value instead of failing the call and closing the
 * connection. Requiredness is not on the wire; ids and types are unchanged.
 */
struct TMemcacheData {
    1: binary data
    2: i32 flags
}

struct TCouchbaseData {
    1: bool missed
    2: binary data
}

struct MysqlResult {
    1: i64 rowsAffected
    2: i64 lastInsertId
    3: list<string> cols
    4: list<list<string>> rows
}

struct MysqlMergeResult {
    1: bool ok
    2: string newVal
}

/**
 * Sent with every call. The contract lists rid, reason and uid as required,
 * but they have default requiredness here: always written, and a missing one
 * reads as 0 or "" instead of failing the whole call's decoding. faed then
 * answers rid == 0 or an empty reason with an "invalid context" error (the
 * connection stays open), uid may be omitted (old clients do), and noop and
 * id_decode work with any context.
 */
struct Context {
    1: i64 rid
    2: string reason
    3: i64 uid
    /** Set only by faed when it forwards a call to the key's owner. */
    4: optional bool sticky
}

service FunServant {
    bool zk_create(1: Context rctx, 2: string path, 3: string data)
    list<string> zk_children(1: Context rctx, 2: string path)
    bool zk_del(1: Context rctx, 2: string path)

    i32 noop(1: i32 x)
    string ping(1: Context rctx)

    bool lock(1: Context rctx, 2: string reason, 3: string key)
    void unlock(1: Context rctx, 2: string reason, 3: string key)
    /**
     * Additive (not in the older FunServant). Takes the lock on key for
     * ttlMs milliseconds (0: the configured lock TTL) and returns a fencing
     * token, or 0 when the lock is held. Each grant of a key gets a larger
     * token than every earlier grant, on any node, so a resource that
     * remembers the largest token it has seen can refuse a holder whose
     * lock expired while it paused.
     */
    i64 lock_fenced(1: Context rctx, 2: string reason, 3: string key, 4: i32 ttlMs)
    /** Releases key if token is the current grant's; false otherwise. */
    bool unlock_fenced(1: Context rctx, 2: string reason, 3: string key, 4: i64 token)

    i64 id_next(1: Context rctx)
    i64 id_next_with_tag(1: Context rctx, 2: i16 tag)
    list<i64> id_decode(1: Context rctx, 2: i64 id)

    bool lc_set(1: Context rctx, 2: string key, 3: binary value)
    binary lc_get(1: Context rctx, 2: string key) throws (1: TCacheMissed miss)
    void lc_del(1: Context rctx, 2: string key)

    string rd_call(1: Context rctx, 2: string cmd, 3: string pool, 4: list<string> keysAndArgs)

    bool mc_set(1: Context rctx, 2: string pool, 3: string key, 4: TMemcacheData value, 5: i32 expiration)
    TMemcacheData mc_get(1: Context rctx, 2: string pool, 3: string key) throws (1: TCacheMissed miss)
    bool mc_add(1: Context rctx, 2: string pool, 3: string key, 4: TMemcacheData value, 5: i32 expiration)
    bool mc_delete(1: Context rctx, 2: string pool, 3: string key)
    i64 mc_increment(1: Context rctx, 2: string pool, 3: string key, 4: i64 delta)

    binary mg_find_one(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: binary query, 6: binary fields) throws (1: TMongoNotFound miss)
    list<binary> mg_find_all(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: binary query, 6: binary fields, 7: i32 limit, 8: i32 skip, 9: list<string> orderBy)
    binary mg_find_id(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: binary id)
    i32 mg_count(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: binary query)
    bool mg_update(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: binary query, 6: binary change)
    bool mg_update_id(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: i32 id, 6: binary change)
    bool mg_upsert(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: binary query, 6: binary change)
    bool mg_upsert_id(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: i32 id, 6: binary change)
    bool mg_insert(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: binary doc)
    bool mg_inserts(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: list<binary> docs)
    bool mg_delete(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: binary query)
    binary mg_find_and_modify(1: Context rctx, 2: string pool, 3: string table, 4: i32 shardId, 5: binary query, 6: binary change, 7: bool upsert, 8: bool remove, 9: bool returnNew)

    i64 my_bulk_exec(1: Context rctx, 2: list<string> pool, 3: list<string> table, 4: list<i64> hintId, 5: list<string> sql, 6: list<list<string>> argv, 7: list<string> cacheKey)
    MysqlResult my_query(1: Context rctx, 2: string pool, 3: string table, 4: i64 hintId, 5: string sql, 6: list<string> argv, 7: string cacheKey)
    MysqlResult my_query_shards(1: Context rctx, 2: string pool, 3: string table, 4: string sql, 5: list<string> argv)
    MysqlMergeResult my_merge(1: Context rctx, 2: string pool, 3: string table, 4: i64 hintId, 5: string where, 6: string key, 7: string column, 8: string jsonValue)
    void my_evict(1: Context rctx, 2: string cacheKey)

    bool cb_del(1: Context rctx, 2: string bucket, 3: string key)
    void cb_append(1: Context rctx, 2: string bucket, 3: string key, 4: binary val)
    bool cb_add(1: Context rctx, 2: string bucket, 3: string key, 4: binary val, 5: i32 expire)
    void cb_set(1: Context rctx, 2: string bucket, 3: string key, 4: binary val, 5: i32 expire)
    TCouchbaseData cb_get(1: Context rctx, 2: string bucket, 3: string key)
    map<string, binary> cb_gets(1: Context rctx, 2: string bucket, 3: list<string> keys)
}
