// Command tcpbackend is the process of the TCP mode tests. It listens on
// 127.0.0.1:$PORT, accepts one connection, greets it with "pid <PID> port
// <PORT>" and echoes every line it reads until the connection ends. On
// stdout, which the server logs, it says "stdout of <PID>".
//
// Its argument chooses a variant:
//
//	late   listen only after 500 ms
//	never  never listen
//	env    send the environment, one variable per line, then END, before
//	       echoing
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	pid := os.Getpid()
	fmt.Printf("stdout of %d\n", pid)
	switch mode {
	case "never":
		select {}
	case "late":
		time.Sleep(500 * time.Millisecond)
	}
	port := os.Getenv("PORT")
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	conn, err := ln.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, "accept:", err)
		os.Exit(1)
	}
	ln.Close()
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "pid %d port %s\n", pid, port)
	if mode == "env" {
		for _, kv := range os.Environ() {
			fmt.Fprintln(w, kv)
		}
		fmt.Fprintln(w, "END")
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(1)
	}
	lines := bufio.NewScanner(conn)
	for lines.Scan() {
		if _, err := fmt.Fprintf(conn, "%s\n", lines.Bytes()); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(1)
		}
	}
}
