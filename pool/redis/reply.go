package redis

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// isDangerous reports whether cmd is refused unless the pool allows it:
// it wipes, reconfigures or stops a server, or holds a connection forever.
func isDangerous(cmd string) bool {
	switch strings.ToUpper(cmd) {
	case "FLUSHALL", "FLUSHDB", "CONFIG", "SHUTDOWN", "DEBUG", "MONITOR", "SUBSCRIBE", "PSUBSCRIBE",
		"SSUBSCRIBE", "SYNC", "PSYNC", "REPLICAOF", "SLAVEOF", "MIGRATE", "CLIENT", "SCRIPT", "FUNCTION",
		"MODULE", "ACL", "BGSAVE", "BGREWRITEAOF", "SAVE", "KEYS", "QUIT", "RESET", "FAILOVER", "CLUSTER",
		"WAIT", "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BZPOPMIN", "BZPOPMAX", "BLMPOP", "BZMPOP",
		"XREAD", "XREADGROUP", "SWAPDB", "SELECT":
		return true
	}
	return false
}

// isBlocking reports whether cmd holds its connection until data arrives;
// such commands never share a pipeline.
func isBlocking(cmd string) bool {
	switch strings.ToUpper(cmd) {
	case "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BZPOPMIN", "BZPOPMAX", "BLMPOP", "BZMPOP",
		"XREAD", "XREADGROUP", "WAIT", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR":
		return true
	}
	return false
}

// toWire renders a RESP2 reply as rd_call returns it: bulk → bytes, status
// → text, integer → decimal, array → JSON array of strings, nil → "".
func toWire(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case []any:
		items := make([]string, len(v))
		for i, e := range v {
			s, err := toWire(e)
			if err != nil {
				return "", err
			}
			items[i] = s
		}
		b, err := json.Marshal(items)
		return string(b), err
	}
	return "", fmt.Errorf("unexpected reply type %T", v)
}
