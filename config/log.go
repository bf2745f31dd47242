package config

import (
	"fmt"
	"io"
	"log/slog"
)

// LogConfig is where and how faed logs.
type LogConfig struct {
	// Level is the lowest level logged: debug, info, warn or error.
	Level string `toml:"level"`
	// Format is text (logfmt-like) or json.
	Format string `toml:"format"`
	// File is a path to append to (created 0640); empty logs to stderr
	// (journald under systemd). SIGUSR1 reopens it after logrotate moved
	// it away.
	File string `toml:"file"`
	// Queue is how many lines wait for the log writer; lines past it are
	// dropped and counted, so a slow or full destination never holds up
	// a call.
	Queue int `toml:"queue"`
}

// DefaultLogConfig logs info and above as text to stderr.
func DefaultLogConfig() LogConfig { return LogConfig{Level: "info", Format: "text", Queue: 8192} }

// Validate checks level and format.
func (l LogConfig) Validate() error {
	if _, err := l.level(); err != nil {
		return err
	}
	if l.Format != "text" && l.Format != "json" {
		return fmt.Errorf("format %q: want text or json", l.Format)
	}
	if l.Queue <= 0 {
		return fmt.Errorf("queue %d: want > 0 lines", l.Queue)
	}
	return nil
}

func (l LogConfig) level() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("level %q: want debug, info, warn or error", l.Level)
	}
	return lv, nil
}

// SlogLevel is the level as slog's.
func (l LogConfig) SlogLevel() (slog.Level, error) { return l.level() }

// NewLogger builds the process logger writing to w.
func NewLogger(l LogConfig, w io.Writer) (*slog.Logger, error) {
	log, _, err := NewLeveledLogger(l, w)
	return log, err
}

// NewLeveledLogger is NewLogger with its level behind a LevelVar, so a
// reload can change it while the process runs.
func NewLeveledLogger(l LogConfig, w io.Writer) (*slog.Logger, *slog.LevelVar, error) {
	if err := l.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: [log] %w", ErrInvalid, err)
	}
	lv := new(slog.LevelVar)
	level, _ := l.level()
	lv.Set(level)
	opts := &slog.HandlerOptions{Level: lv}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), lv, nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), lv, nil
}
