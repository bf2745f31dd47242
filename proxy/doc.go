// Package proxy decides which node owns a key (a consistent-hash ring over
// the current membership view) and forwards calls to that peer over
// pooled, health-checked Thrift connections, marking a peer that fails as
// down at once so later calls fail fast instead of waiting on it.
package proxy
