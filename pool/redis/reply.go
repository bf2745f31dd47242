package redis

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// dangerous commands are refused unless the pool allows them: they wipe,
// reconfigure or stop a server, or hold a connection forever.
var dangerous = map[string]bool{
	"FLUSHALL": true, "FLUSHDB": true, "CONFIG": true, "SHUTDOWN": true, "DEBUG": true,
	"MONITOR": true, "SUBSCRIBE": true, "PSUBSCRIBE": true, "SSUBSCRIBE": true, "SYNC": true,
	"PSYNC": true, "REPLICAOF": true, "SLAVEOF": true, "MIGRATE": true, "CLIENT": true,
	"SCRIPT": true, "FUNCTION": true, "MODULE": true, "ACL": true, "BGSAVE": true,
	"BGREWRITEAOF": true, "SAVE": true, "KEYS": true, "QUIT": true, "RESET": true,
	"FAILOVER": true, "CLUSTER": true, "WAIT": true, "BLPOP": true, "BRPOP": true,
	"BLMOVE": true, "BRPOPLPUSH": true, "BZPOPMIN": true, "BZPOPMAX": true, "XREAD": true,
	"XREADGROUP": true, "SWAPDB": true, "SELECT": true,
}

// blocking commands hold their connection until data arrives; they never
// share a pipeline.
var blocking = map[string]bool{
	"BLPOP": true, "BRPOP": true, "BLMOVE": true, "BRPOPLPUSH": true, "BZPOPMIN": true,
	"BZPOPMAX": true, "BLMPOP": true, "BZMPOP": true, "XREAD": true, "XREADGROUP": true,
	"WAIT": true, "SUBSCRIBE": true, "PSUBSCRIBE": true, "SSUBSCRIBE": true, "MONITOR": true,
}

func isBlocking(cmd string) bool { return blocking[strings.ToUpper(cmd)] }

// isDangerous reports whether cmd is refused by default.
func isDangerous(cmd string) bool { return dangerous[strings.ToUpper(cmd)] }

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
