// Command scalesocket serves a script or binary over WebSockets, one
// process per room. See README.md, or run scalesocket --help.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/logging"
	"github.com/scalesocket/scalesocket-go/internal/process"
	"github.com/scalesocket/scalesocket-go/internal/server"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: it parses args, serves until ctx is cancelled,
// and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := config.Parse(args)
	var usageErr *config.UsageError
	switch {
	case errors.Is(err, config.ErrHelp):
		fmt.Fprint(stdout, config.Usage())
		return exitOK
	case errors.Is(err, config.ErrVersion):
		fmt.Fprintln(stdout, "scalesocket "+config.Version)
		return exitOK
	case errors.As(err, &usageErr):
		fmt.Fprintf(stderr, "scalesocket: %v\nTry 'scalesocket --help' for more information.\n", err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "scalesocket: %v\n", err)
		return exitUsage
	}

	log := logging.New(stderr, cfg.LogFormat, cfg.Verbosity, cfg.Quiet)
	if err := process.BecomeSubreaper(); err != nil {
		log.Warn("cannot adopt orphaned processes; children of a room's process may linger as zombies", "err", err)
	}
	srv := server.New(cfg, log)
	// With --cluster, clients are accepted only once the server is in the
	// cluster.
	if err := srv.JoinCluster(ctx); err != nil {
		log.Error("cannot join the cluster", "err", err)
		return exitError
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Error("cannot listen", "addr", cfg.Addr, "err", err)
		srv.LeaveCluster()
		return exitError
	}
	// SIGHUP re-reads the TLS certificate, for as long as the server runs.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	served := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				srv.ReloadCertificate()
			case <-served:
				return
			}
		}
	}()
	err = srv.Serve(ctx, ln)
	signal.Stop(hup)
	close(served)
	if err != nil {
		log.Error("server stopped", "err", err)
		return exitError
	}
	return exitOK
}
