#!/usr/bin/env bash
# A three-node ScaleSocket cluster on this machine: one NATS server with
# JetStream, and three nodes on ports 9001-9003 serving the chat example.
# Ctrl-C stops everything it started. See README.md next to it.
#
# Environment: NATS_PORT (default 4222), LEASE_TTL (default 4s).
set -euo pipefail
cd "$(dirname "$0")/../.."

nats_port=${NATS_PORT:-4222}
# Shorter than the default 10s, so that a killed node is noticed quickly.
ttl=${LEASE_TTL:-4s}
nats_version=v2.15.2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scalesocket-cluster.XXXXXX")
nats_pid=
node_pids=()

# port_open PORT: whether something accepts connections on 127.0.0.1:PORT.
port_open() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# alive PID: whether that child still runs.
alive() { kill -0 "$1" 2>/dev/null; }

# spawn runs a command in the background in a process group of its own
# (job control, on for that moment only): Ctrl-C reaches this script, not
# the children, and the script stops the nodes before NATS.
spawn() {
	set -m
	"$@" &
	set +m
}

# halt SIGNAL PID...: sends SIGNAL to the process groups of those
# children and waits for them; one still running after 20 s is killed.
halt() {
	local sig=$1 pid i running
	shift
	for pid; do kill "-$sig" -- "-$pid" 2>/dev/null || true; done
	for ((i = 0; i < 200; i++)); do
		running=
		for pid; do alive "$pid" && running=1; done
		[ -n "$running" ] || break
		sleep 0.1
	done
	for pid; do
		if alive "$pid"; then
			echo "$pid did not stop; killing it" >&2
			kill -KILL -- "-$pid" 2>/dev/null || true
		fi
	done
	wait "$@" 2>/dev/null || true
}

stop() {
	trap - EXIT
	trap '' INT TERM
	if [ "${#node_pids[@]}" -gt 0 ]; then
		echo "stopping the nodes: ${node_pids[*]}" >&2
		halt TERM "${node_pids[@]}"
	fi
	if [ -n "$nats_pid" ]; then
		echo "stopping NATS: $nats_pid" >&2
		# SIGINT to the group: nats-server shuts down on it, and `go run`,
		# which ignores it, then exits and removes what it built.
		halt INT "$nats_pid"
	fi
	rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for port in "$nats_port" 9001 9002 9003; do
	if port_open "$port"; then
		echo "port $port is in use; stop what uses it (or set NATS_PORT)" >&2
		exit 1
	fi
done

echo "building scalesocket" >&2
go build -o "$tmp/scalesocket" ./cmd/scalesocket

nats_args=(-js -sd "$tmp/jetstream" -a 127.0.0.1 -p "$nats_port")
if command -v nats-server >/dev/null; then
	spawn nats-server "${nats_args[@]}"
else
	echo "nats-server is not installed; running it with go run (the first time builds it)" >&2
	spawn go run "github.com/nats-io/nats-server/v2@$nats_version" "${nats_args[@]}"
fi
nats_pid=$!
# Bounded: a first go run downloads and builds nats-server.
for ((i = 0; i < 1200; i++)); do
	port_open "$nats_port" && break
	alive "$nats_pid" || { echo "NATS did not start" >&2; exit 1; }
	sleep 0.1
done
port_open "$nats_port" || { echo "NATS does not accept connections on port $nats_port" >&2; exit 1; }

for i in 1 2 3; do
	spawn "$tmp/scalesocket" --addr "127.0.0.1:900$i" \
		--cluster "nats://127.0.0.1:$nats_port" --nodename "node$i" --leasettl "$ttl" --api \
		--staticdir examples/chat --json \
		--joinmsg '{"t":"Join","_from":#ID,"nick":"#QUERY_NICK"}' \
		--leavemsg '{"t":"Leave","_from":#ID,"nick":"#QUERY_NICK"}' \
		--cache=tagged:100 examples/chat/chat.sh
	node_pids+=("$!")
done
for i in 1 2 3; do
	for ((j = 0; j < 100; j++)); do
		port_open "900$i" && break
		alive "${node_pids[i - 1]}" || { echo "node$i did not start" >&2; exit 1; }
		sleep 0.1
	done
	port_open "900$i" || { echo "node$i does not listen on port 900$i" >&2; exit 1; }
done

cat >&2 <<EOF

Three nodes are up. Open, in two tabs:
  http://localhost:9001/?room=general&nick=Ann    (node1, pid ${node_pids[0]})
  http://localhost:9002/?room=general&nick=Bob    (node2, pid ${node_pids[1]})
and node3 (pid ${node_pids[2]}) at http://localhost:9003/?room=general&nick=Cat
The lobby of the whole cluster, from any node: http://localhost:9003/api/rooms/
To see a node die: kill -9 <its pid>. Ctrl-C stops everything.

EOF
# Until Ctrl-C; a node that dies is left dead, to watch the others.
wait
