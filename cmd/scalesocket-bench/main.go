// Command scalesocket-bench loads a WebSocket server on this machine and
// reports what it sustains: round-trip latency, streaming and fan-out
// throughput with delivery checks, connection storms, churn, and the memory
// of idle connections. It drives ScaleSocket, websocketd, or anything that
// speaks its line protocol (package wire), and can start the server
// itself. Run it without arguments for the list of scenarios; see
// BENCHMARKS.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
