package config_test

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/faed/faed/config"
)

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsValidate(t *testing.T) {
	if err := config.Default().Validate(); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, config.Default()) {
		t.Fatal("an empty file does not give the defaults")
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	cfg, err := config.Parse([]byte(`
[server]
listen = "127.0.0.1:19001"
unix = "/tmp/faed.sock"
call_timeout = "250ms"
max_sessions = 10
[log]
level = "debug"
format = "json"
[node]
worker_id = 31
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.1:19001" || cfg.Server.Unix != "/tmp/faed.sock" ||
		cfg.Server.CallTimeout != 250*time.Millisecond || cfg.Server.MaxSessions != 10 ||
		cfg.Log.Level != "debug" || cfg.Log.Format != "json" || cfg.Node.WorkerID != 31 {
		t.Fatalf("parsed %+v", cfg)
	}
	if cfg.Server.IdleTimeout != config.Default().Server.IdleTimeout {
		t.Fatal("a field absent from the file lost its default")
	}
}

func TestInvalidFilesNameTheKey(t *testing.T) {
	cases := []struct {
		name, file, want string
	}{
		{"unknown section key", "[server]\nlisen = \"x\"", "server.lisen"},
		{"unknown section", "[sever]\nlisten = \"x\"", "sever"},
		{"unknown top-level key", "verbose = true", "verbose"},
		{"bad duration", "[server]\ncall_timeout = \"soon\"", "soon"},
		{"wrong type", "[server]\nmax_sessions = \"many\"", "max_sessions"},
		{"negative sessions", "[server]\nmax_sessions = -1", "max_sessions"},
		{"no listener", "[server]\nlisten = \"\"", "neither listen nor unix"},
		{"worker out of range", "[node]\nworker_id = 32", "worker_id"},
		{"log level", "[log]\nlevel = \"loud\"", "level"},
		{"clock back over the bound", "[id]\nmax_clock_back = \"1s\"", "max_clock_back"},
		{"lock ttl", "[lock]\nttl = \"0s\"", "ttl"},
		{"not toml", "[server\nlisten=", "toml"},
		{"cluster on a wildcard listener", "[server]\nlisten = \"0.0.0.0:9001\"\n[cluster]\nzk_servers = [\"127.0.0.1:2181\"]", "advertise must be set"},
		{"cluster without a tcp listener", "[server]\nlisten = \"\"\nunix = \"/tmp/x.sock\"\n[cluster]\nzk_servers = [\"127.0.0.1:2181\"]", "advertise must be set"},
		{"zk server not host:port", "[cluster]\nzk_servers = [\"zk1\"]", "zk_servers"},
		{"meta_root inside root", "[cluster]\nmeta_root = \"/fae/meta\"", "contain each other"},
		{"forward timeout", "[cluster.forward]\ntimeout = \"0s\"", "forward"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.file), noEnv)
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid naming %q", err, tc.want)
			}
		})
	}
}

func TestRedisPoolsStartFromDefaults(t *testing.T) {
	cfg, err := config.Parse([]byte(`
[redis.default]
servers = ["${R:-127.0.0.1:1},127.0.0.1:2"]
password = "s3cret"
[redis.default.breaker]
failures = 5
[redis.other]
servers = ["127.0.0.1:3"]
pool_size = 8
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	d, o := cfg.Redis["default"], cfg.Redis["other"]
	if d.Servers[0] != "127.0.0.1:1,127.0.0.1:2" || d.Breaker.Failures != 5 || d.Breaker.Cooldown != time.Second ||
		d.PoolSize != 64 || d.ReadTimeout != 500*time.Millisecond || o.PoolSize != 8 || o.DialTimeout != 200*time.Millisecond {
		t.Fatalf("pools: %+v %+v", d, o)
	}
	out, err := cfg.Redacted()
	if err != nil || strings.Contains(string(out), "s3cret") || !strings.Contains(string(out), "*****") {
		t.Fatalf("redacted:\n%s", out)
	}
	for file, want := range map[string]string{
		"[redis.p]\nservers = []":                       "redis.p",
		"[redis.p]\nservers = [\"a:1\"]\nlisen = 1":     "redis.p.lisen",
		"[redis.p]\nservers = [\"a:1\"]\npool_size = 0": "pool_size",
	} {
		if _, err := config.Parse([]byte(file), noEnv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to name %s", file, err, want)
		}
	}
}

func TestEnvExpansion(t *testing.T) {
	nasty := "a\"b\\c\nd = 1\n[x]"
	cfg, err := config.Parse([]byte(`
[server]
listen = "${HOST}:${PORT:-9001}"
unix = "${SOCK}"
`), envOf(map[string]string{"HOST": "127.0.0.2", "SOCK": nasty}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.2:9001" {
		t.Fatalf("listen = %q", cfg.Server.Listen)
	}
	if cfg.Server.Unix != nasty {
		t.Fatalf("a value with TOML syntax in it changed: %q", cfg.Server.Unix)
	}
	_, err = config.Parse([]byte("[admin]\nlisten = \"${NOPE}\""), noEnv)
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "NOPE") || !strings.Contains(err.Error(), "admin.listen") {
		t.Fatalf("missing variable: err = %v", err)
	}
}

type withSecret struct {
	User     string            `toml:"user"`
	Password string            `toml:"password" secret:"true"`
	Pools    map[string]secret `toml:"pools"`
}

type secret struct {
	DSN string `toml:"dsn" secret:"true"`
}

func TestRedactedMasksSecrets(t *testing.T) {
	cfg := config.Default()
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if _, err := toml.Decode(string(out), &back); err != nil {
		t.Fatalf("redacted output is not TOML: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte(`listen = "127.0.0.1:9001"`)) {
		t.Fatalf("redacted output lost plain values:\n%s", out)
	}
	// Secret masking on a structure like the backend sections to come.
	v := withSecret{User: "u", Password: "hunter2", Pools: map[string]secret{"a": {DSN: "u:pw@tcp(x)/db"}}}
	masked := config.MaskForTest(v)
	if strings.Contains(masked, "hunter2") || strings.Contains(masked, "pw@") || !strings.Contains(masked, "*****") || !strings.Contains(masked, `"u"`) {
		t.Fatalf("masking failed:\n%s", masked)
	}
	if v.Password != "hunter2" || v.Pools["a"].DSN != "u:pw@tcp(x)/db" {
		t.Fatal("masking changed the caller's value")
	}
}

// The sample file documents every field and validates.
func TestSampleFileIsCompleteAndValid(t *testing.T) {
	cfg, err := config.Load("../etc/faed.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, config.Default()) {
		t.Fatalf("etc/faed.toml differs from the defaults:\n%+v\n%+v", cfg, config.Default())
	}
	data, err := os.ReadFile("../etc/faed.toml")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, k := range md.Keys() {
		present[k.String()] = true
	}
	for _, key := range fieldKeys(reflect.TypeOf(config.Config{}), "") {
		if !present[key] {
			t.Errorf("etc/faed.toml does not document %s", key)
		}
	}
	// Named-pool sections are documented as a commented example listing
	// every field of the pool's struct.
	for _, f := range reflect.VisibleFields(reflect.TypeOf(config.Config{})) {
		if f.Type.Kind() != reflect.Map {
			continue
		}
		for _, key := range fieldKeys(f.Type.Elem(), "") {
			name := key[strings.LastIndex(key, ".")+1:]
			if !regexp.MustCompile(`(?m)^# ` + name + ` = `).Match(data) {
				t.Errorf("etc/faed.toml does not document %s.*.%s", f.Tag.Get("toml"), key)
			}
		}
	}
}

func fieldKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := prefix + f.Tag.Get("toml")
		if f.Anonymous { // promoted keys: same table
			keys = append(keys, fieldKeys(f.Type, prefix)...)
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, fieldKeys(f.Type, name+".")...)
			continue
		}
		keys = append(keys, name)
	}
	return keys
}

func FuzzParse(f *testing.F) {
	sample, _ := os.ReadFile("../etc/faed.toml")
	f.Add(sample)
	f.Add([]byte("[server]\nlisten = \"${X:-127.0.0.1:1}\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(data, envOf(map[string]string{"X": "1"}))
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse returned a config that does not validate: %v", err)
		}
		if _, err := cfg.Redacted(); err != nil {
			t.Fatalf("Redacted: %v", err)
		}
	})
}

// The dev config parses with or without var/backends.env in the environment.
func TestDevFileIsValid(t *testing.T) {
	data, err := os.ReadFile("../etc/faed.dev.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.MySQL.Servers) != 4 || cfg.MySQL.Servers["UserShard2"].Addr != "127.0.0.1:13306" || cfg.MySQL.LookupTables["UserShard"] != "UserLookup" {
		t.Fatalf("mysql section: %+v", cfg.MySQL)
	}
	if cfg.Mongo.Servers["default"].URI != "mongodb://127.0.0.1:27018/" {
		t.Fatalf("mongo section: %+v", cfg.Mongo)
	}
	if len(cfg.Redis["default"].Servers) == 0 || len(cfg.Memcache["default"].Servers) == 0 {
		t.Fatalf("pools: %+v %+v", cfg.Redis, cfg.Memcache)
	}
}

// The sample configs of etc/examples are valid with their secrets and
// addresses in the environment, and say what they are about.
func TestExampleFilesAreValid(t *testing.T) {
	env := func(name string) (string, bool) {
		switch name {
		case "FAED_ADVERTISE":
			return "10.0.0.5:9001", true
		case "FAED_MYSQL_PASSWORD":
			return "secret", true
		}
		return "", false
	}
	for file, check := range map[string]func(config.Config) bool{
		"single-host.toml": func(c config.Config) bool {
			return c.Server.Unix != "" && len(c.MySQL.Servers) == 4 && !c.Cluster.Enabled()
		},
		"cluster-node.toml": func(c config.Config) bool { return c.Cluster.Enabled() && c.Cluster.Advertise == "10.0.0.5:9001" },
	} {
		data, err := os.ReadFile("../etc/examples/" + file)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse(data, env)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !check(cfg) {
			t.Fatalf("%s: %+v", file, cfg)
		}
	}
}
