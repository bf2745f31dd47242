package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/faed/faed/config"
	"github.com/faed/faed/internal/logsink"
)

// logFlushTimeout bounds how long exit waits for queued log lines; a
// destination that blocks longer loses them (counted).
const logFlushTimeout = 2 * time.Second

// logging is the process logger and the sink behind it.
type logging struct {
	sink  *logsink.Sink
	level *slog.LevelVar // a reload sets it
	stop  chan struct{}
}

// startLogging builds the logger over stderr or [log] file, and reopens
// the file on SIGUSR1 (logrotate's postrotate sends it).
func startLogging(cfg config.LogConfig) (*logging, *slog.Logger, error) {
	var sink *logsink.Sink
	if cfg.File == "" {
		sink = logsink.New(os.Stderr, cfg.Queue)
	} else {
		s, err := logsink.Open(cfg.File, cfg.Queue)
		if err != nil {
			return nil, nil, err
		}
		sink = s
	}
	log, level, err := config.NewLeveledLogger(cfg, sink)
	if err != nil {
		sink.Close(0)
		return nil, nil, err
	}
	l := &logging{sink: sink, level: level, stop: make(chan struct{})}
	go l.reopenOnSignal(log)
	return l, log, nil
}

func (l *logging) reopenOnSignal(log *slog.Logger) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	for {
		select {
		case <-sigs:
			if err := l.sink.Reopen(); err != nil {
				log.Error("log reopen on SIGUSR1 failed; still writing the old file", "error", err)
				continue
			}
			log.Info("log file reopened", "signal", "SIGUSR1")
		case <-l.stop:
			return
		}
	}
}

// Stats are the log sink's counters, for /stats and /metrics.
func (l *logging) Stats() logsink.Stats { return l.sink.Stats() }

// close flushes what is queued, for at most logFlushTimeout. Lines lost
// are only counted: a note on stderr could block exit the same way.
func (l *logging) close() {
	close(l.stop)
	l.sink.Close(logFlushTimeout)
}

// exit flushes the log and exits with code.
func (l *logging) exit(code int) {
	l.close()
	os.Exit(code)
}
