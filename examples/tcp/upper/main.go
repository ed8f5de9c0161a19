// Command upper is a plain TCP line server, the kind that exists already and
// knows nothing of WebSockets: it greets each connection and sends back
// every line it reads in upper case.
//
// It listens on 127.0.0.1:$PORT (7000 when PORT is unset), which is where
// scalesocket --tcp expects a room's process; ROOM, which scalesocket sets
// too, goes into the greeting. Run alone, it can be tried with nc:
//
//	$ go run ./examples/tcp/upper &
//	$ nc 127.0.0.1 7000
package main

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "7000"
	}
	greeting := "hello"
	if room := os.Getenv("ROOM"); room != "" {
		greeting += ", room " + room
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatal(err)
	}
	// What it prints goes to scalesocket's log.
	fmt.Println("listening on", ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(conn, greeting)
	}
}

// serve answers one connection until it ends.
func serve(conn net.Conn, greeting string) {
	defer conn.Close()
	if _, err := fmt.Fprintln(conn, greeting); err != nil {
		return
	}
	lines := bufio.NewScanner(conn)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		if _, err := fmt.Fprintln(conn, strings.ToUpper(lines.Text())); err != nil {
			return
		}
	}
}
