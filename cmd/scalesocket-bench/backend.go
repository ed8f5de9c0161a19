package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/scalesocket/scalesocket-go/cmd/scalesocket-bench/wire"
)

// backendBuffer is the size of the backend's stdin and stdout buffers: a
// burst goes out in large writes, so that the backend is not what limits a
// fan-out run.
const backendBuffer = 64 << 10

// runBackend is the program a server wraps: it echoes every line, and
// answers a trigger line with the lines it asks for. Echoes are flushed
// as soon as no more input is waiting; a burst when the buffer fills and at
// its end; a paced stream after every line.
func runBackend(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scalesocket-bench backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if err := serveBackend(ctx, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "scalesocket-bench backend: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func serveBackend(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	br := bufio.NewReaderSize(stdin, backendBuffer)
	bw := bufio.NewWriterSize(stdout, backendBuffer)
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			if t, terr := wire.ParseTrigger(line); terr == nil {
				if err := wire.Generate(ctx, t, func(l []byte, flush bool) error {
					bw.Write(l)
					bw.WriteByte('\n')
					if flush {
						return bw.Flush()
					}
					return nil
				}); err != nil {
					return err
				}
			} else {
				bw.Write(line)
				if line[len(line)-1] != '\n' {
					bw.WriteByte('\n')
				}
			}
		}
		if br.Buffered() == 0 {
			if ferr := bw.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
