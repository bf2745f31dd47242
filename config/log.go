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

// NewLogger builds the process logger writing to w.
func NewLogger(l LogConfig, w io.Writer) (*slog.Logger, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("%w: [log] %w", ErrInvalid, err)
	}
	lv, _ := l.level()
	opts := &slog.HandlerOptions{Level: lv}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
