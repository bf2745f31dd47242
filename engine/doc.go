// Package engine owns everything between a client socket and a Thrift
// processor: listeners (TCP and unix), per-connection detection of transport
// (buffered or framed) and protocol (binary or compact), the session loop,
// the call middleware (panic recovery, deadline, rate limit, stats), the
// admin HTTP endpoint and graceful stop.
//
// It knows Thrift but never the servants: it serves any thrift.TProcessor.
package engine
