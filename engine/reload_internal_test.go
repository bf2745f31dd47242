package engine

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A reload is refused to anyone not on loopback, even when the admin
// listener was bound wider.
func TestReloadOnlyFromLoopback(t *testing.T) {
	calls := 0
	admin := NewAdmin(AdminConfig{}, AdminSources{Reload: func() (any, error) { calls++; return "done", nil }}, nil)
	for _, tc := range []struct {
		remote string
		code   int
	}{
		{"127.0.0.1:5000", http.StatusOK},
		{"[::1]:5000", http.StatusOK},
		{"10.1.2.3:5000", http.StatusForbidden},
		{"[2001:db8::1]:5000", http.StatusForbidden},
		{"garbage", http.StatusForbidden},
	} {
		r := httptest.NewRequest(http.MethodPost, "/reload", nil)
		r.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		admin.mux.ServeHTTP(w, r)
		if w.Code != tc.code {
			t.Errorf("from %s: %d, want %d", tc.remote, w.Code, tc.code)
		}
	}
	if calls != 2 {
		t.Fatalf("reload ran %d times, want 2 (loopback only)", calls)
	}
}
