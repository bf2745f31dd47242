// Command linkdelay is Toxiproxy's server (github.com/Shopify/toxiproxy/v2,
// embedded as a library) with one more toxic, "latency_us": Toxiproxy's
// latency toxic in microseconds. Benchmarks and fault tests use it to put
// backend servers "on another host" while everything runs on loopback: a
// network hop inside a data centre takes a fraction of a millisecond, and
// Toxiproxy's own latency toxic takes whole milliseconds.
//
//	linkdelay -listen 127.0.0.1:19590
//
// Proxies and toxics are made through Toxiproxy's HTTP API, with curl or
// github.com/Shopify/toxiproxy/v2/client:
//
//	curl -d '{"name":"redis","listen":"127.0.0.1:19579","upstream":"127.0.0.1:19479"}' \
//		http://127.0.0.1:19590/proxies
//	curl -d '{"type":"latency_us","stream":"upstream","attributes":{"latency":250}}' \
//		http://127.0.0.1:19590/proxies/redis/toxics
//
// (and again with "stream":"downstream" for the other direction). Every
// other Toxiproxy toxic works too, so a test can cut or slow a link while it
// runs. Stops on SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// microLatency is toxiproxy's LatencyToxic in microseconds: each chunk
// leaves Latency µs after it arrived (time already spent upstream counts).
// It waits in nanosleep, not a Go timer: the runtime's timers fire no
// sooner than about a millisecond when the process is idle (its poller
// waits in whole milliseconds), which would turn 250µs into 1.1ms.
type microLatency struct {
	Latency int64 `json:"latency"` // µs

	// late is how much later than asked nanosleep returns on this machine,
	// measured on the toxic's first chunk and taken off each wait.
	once sync.Once
	late time.Duration
}

func (t *microLatency) GetBufferSize() int { return 1024 }

func (t *microLatency) Pipe(stub *toxics.ToxicStub) {
	want := time.Duration(t.Latency) * time.Microsecond
	t.once.Do(func() { t.late = overshoot(want) })
	delay := want - t.late
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			sleep(delay - time.Since(c.Timestamp))
			select {
			case stub.Output <- c:
			case <-stub.Interrupt:
				stub.Output <- c // never drop data
				return
			}
		}
	}
}

func sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}

// overshoot is the median lateness of nanosleep(d) here, at most d.
func overshoot(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	late := make([]time.Duration, 21)
	for i := range late {
		start := time.Now()
		sleep(d)
		late[i] = time.Since(start) - d
	}
	slices.Sort(late)
	return min(max(late[len(late)/2], 0), d)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8474", "HOST:PORT of Toxiproxy's HTTP API")
	flag.Parse()
	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "linkdelay: -listen:", err)
		os.Exit(2)
	}
	toxics.Register("latency_us", new(microLatency))
	logger := zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), logger)
	go server.Listen(host, port) // exits the process if it cannot listen

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	server.Collection.Clear()
}
