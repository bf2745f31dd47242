// Package idl_test checks that the committed generated code matches a fresh
// generation from fun.thrift.
package idl_test

import (
	"os"
	"os/exec"
	"testing"
)

func TestGeneratedCodeIsFresh(t *testing.T) {
	if _, err := exec.LookPath("thrift"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("thrift compiler not found in CI: scripts/deps.sh should have installed thrift-compiler")
		}
		t.Skip("thrift compiler not installed")
	}
	out, err := exec.Command("../scripts/idl.sh", "-check").CombinedOutput()
	if err != nil {
		t.Fatalf("generated code is stale; run make idl:\n%s", out)
	}
}
