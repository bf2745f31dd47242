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
}

// DefaultLogConfig logs info and above as text.
func DefaultLogConfig() LogConfig { return LogConfig{Level: "info", Format: "text"} }

// Validate checks level and format.
func (l LogConfig) Validate() error {
	if _, err := l.level(); err != nil {
		return err
	}
	if l.Format != "text" && l.Format != "json" {
		return fmt.Errorf("format %q: want text or json", l.Format)
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
