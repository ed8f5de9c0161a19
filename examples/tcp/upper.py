#!/usr/bin/env python3
# A TCP backend for scalesocket --tcp: it listens on 127.0.0.1:$PORT, greets
# the room once the server has connected, and sends back every line in upper
# case. What it prints goes to the server's log.
import os
import socket

port = int(os.environ["PORT"])
room = os.environ["ROOM"]
with socket.create_server(("127.0.0.1", port)) as server:
    conn, _ = server.accept()
print(f"serving room {room} on port {port}", flush=True)
with conn, conn.makefile("r") as lines, conn.makefile("w") as out:
    out.write(f"hello, room {room}\n")
    out.flush()
    for line in lines:
        out.write(line.upper())
        out.flush()
