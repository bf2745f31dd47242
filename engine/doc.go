// Package engine owns everything between a client socket and a Thrift
// processor: listeners (TCP and unix), per-connection detection of transport
// (buffered or framed) and protocol (binary or compact), the session loop
// (a session is one client connection), the values handlers keep per
// connection (Locals), the watchdog enforcing timeouts and noticing clients
// that hung up, the call middleware (panic recovery, deadline, rate limit,
// stats, tracing), the admin HTTP endpoint with its dashboard, and
// graceful stop.
//
// It knows Thrift but never the servants: it serves any thrift.TProcessor.
package engine
