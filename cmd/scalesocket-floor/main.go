// Command scalesocket-floor is the hardware floor of the ScaleSocket
// benchmarks: a minimal WebSocket server with rooms and no processes. A
// trigger line from a client makes the room generate the numbered,
// timestamped lines a benchmark backend would print; each line is encoded
// as a frame once and every client's pending frames go out in one writev.
// Any other message is echoed to every client of the room, as ScaleSocket
// does with cat. See BENCHMARKS.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/scalesocket/scalesocket-go/cmd/scalesocket-floor/floor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := floor.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
