package faultproxy_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/faed/faed/internal/faultproxy"
)

// echo serves one line back per connection.
func echo(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				c.Write([]byte(line))
			}()
		}
	}()
	return l.Addr().String()
}

func roundTrip(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestLinkPassesCutsAndResets(t *testing.T) {
	l := faultproxy.New(t, "echo", echo(t))
	if got, err := roundTrip(l.Addr); err != nil || got != "hello\n" {
		t.Fatalf("through the link: %q %v", got, err)
	}
	name := l.Toxic(t, "reset_peer", "downstream", map[string]any{"timeout": 0})
	if got, err := roundTrip(l.Addr); err == nil && got == "hello\n" {
		t.Fatal("a reset link answered")
	}
	l.Remove(t, name)
	l.Cut()
	if _, err := roundTrip(l.Addr); err == nil {
		t.Fatal("a cut link answered")
	}
	l.Heal(t)
	if got, err := roundTrip(l.Addr); err != nil || !strings.HasPrefix(got, "hello") {
		t.Fatalf("after heal: %q %v", got, err)
	}
}
