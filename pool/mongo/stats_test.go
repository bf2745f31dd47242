package mongo

import "testing"

// Stats show a server's hosts, never the credentials or options of its URI.
func TestURIHosts(t *testing.T) {
	for uri, want := range map[string]string{
		"mongodb://127.0.0.1:27017/":                       "127.0.0.1:27017",
		"mongodb://user:p%40ss@h1:1,h2:2/db?replicaSet=r":  "h1:1,h2:2",
		"mongodb+srv://u:pw@cluster.example.com/?tls=true": "cluster.example.com",
		"mongodb://a:b@c@host:5":                           "host:5",
		"host:5":                                           "",
	} {
		if got := uriHosts(uri); got != want {
			t.Errorf("uriHosts(%q) = %q, want %q", uri, got, want)
		}
	}
}
