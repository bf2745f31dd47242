// Package logsink owns the last step of logging: a bounded queue of
// lines, one writer goroutine, reopening the log file for logrotate, and
// the counters of lines written, dropped and refused.
package logsink
