#!/usr/bin/env bash
# Idle memory of a cluster on this machine: NODES ScaleSocket nodes (3) and
# one NATS server hold CONNS idle connections (50,000) over ROOMS rooms (10)
# of `cat`, the same room names on every node, so that each room runs once
# in the cluster and the other nodes relay it. One load tool per node opens
# that node's share and holds it; once all are up and the memory has
# settled, the script reads PSS and RSS from /proc: each node with its room
# processes, and NATS apart. It prints a table and one JSON line on stdout.
#
#   scripts/bench-idle-cluster.sh                 # 50,000 connections
#   CONNS=3000 scripts/bench-idle-cluster.sh      # a smoke test
#
# Environment: CONNS, NODES, ROOMS, SOURCES (source addresses 127.0.0.1..N
# per load tool, 4), CONC (connects in parallel per load tool, 200), WAIT
# (longest wait in seconds for all connections, 300), SETTLE (longest wait
# in seconds for the memory to settle, 60), KEEP=1 keeps the logs.
#
# Why several processes: one process here may have at most 20,000 open files
# (ulimit -Hn) and cannot raise it without CAP_SYS_RESOURCE, so neither one
# server nor one load tool can hold 50,000 sockets; three nodes can.
#
# Needs nats-server on PATH, in ~/go/bin or .ci/bin, or installs it with
# 'go install'.
set -euo pipefail
cd "$(dirname "$0")/.."

conns=${CONNS:-50000}
nodes=${NODES:-3}
rooms=${ROOMS:-10}
sources=${SOURCES:-4}
conc=${CONC:-200}
wait_s=${WAIT:-300}
settle_s=${SETTLE:-60}
nats_version=v2.15.2

say() { echo "bench-idle-cluster.sh: $*" >&2; }

# Every process needs a descriptor per connection: raise the soft limit to
# the hard one, which children inherit, and refuse a share that cannot fit.
ulimit -n "$(ulimit -Hn)"
per=$(((conns + nodes - 1) / nodes))
if [ $((per + 256)) -gt "$(ulimit -n)" ]; then
	say "$per connections per node need more than the open-file limit $(ulimit -n) allows; raise NODES"
	exit 2
fi
echo "machine: Linux $(uname -r), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), ulimit -Hn $(ulimit -Hn)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-idle-cluster.XXXXXX")
nats_pid=
node_pids=()
load_pids=()

alive() { kill -0 "$1" 2>/dev/null; }

# spawn runs a command in the background in a process group of its own, so
# that Ctrl-C reaches this script alone and it stops the children in order.
spawn() {
	set -m
	"$@" &
	set +m
}

# halt SIGNAL PID...: signals the process groups of those children and
# waits up to 20 s for them; one still running then is killed.
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
			say "$pid did not stop; killing it"
			kill -KILL -- "-$pid" 2>/dev/null || true
		fi
	done
	wait "$@" 2>/dev/null || true
}

cleanup() {
	trap - EXIT
	trap '' INT TERM
	[ "${#load_pids[@]}" -eq 0 ] || halt TERM "${load_pids[@]}"
	[ "${#node_pids[@]}" -eq 0 ] || halt TERM "${node_pids[@]}"
	[ -z "$nats_pid" ] || halt INT "$nats_pid"
	if [ -n "${KEEP:-}" ]; then say "logs in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "building"
go build -o "$tmp/" ./cmd/scalesocket ./cmd/scalesocket-bench
nats=$(command -v nats-server || true)
for candidate in "$HOME/go/bin/nats-server" .ci/bin/nats-server; do
	if [ -z "$nats" ] && [ -x "$candidate" ]; then nats=$candidate; fi
done
if [ -z "$nats" ]; then
	GOBIN="$tmp" go install "github.com/nats-io/nats-server/v2@$nats_version"
	nats="$tmp/nats-server"
fi

# await_line FILE SED PID: waits up to 10 s for PID to log a line SED
# extracts something from, and prints it. Ports are chosen by the kernel
# (port 0, or -1 for NATS), so the logs say where everything listens.
await_line() {
	local i v
	for ((i = 0; i < 100; i++)); do
		v=$(sed -n "$2" "$1" | head -n 1)
		[ -z "$v" ] || { echo "$v"; return 0; }
		alive "$3" || break
		sleep 0.1
	done
	say "$1 has no such line; it ends with:"
	tail -n 5 "$1" >&2
	return 1
}

spawn "$nats" -js -sd "$tmp/jetstream" -a 127.0.0.1 -p -1 >"$tmp/nats.log" 2>&1
nats_pid=$!
nats_port=$(await_line "$tmp/nats.log" 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$nats_pid")

addrs=()
for ((i = 1; i <= nodes; i++)); do
	spawn "$tmp/scalesocket" -q --cluster "nats://127.0.0.1:$nats_port" --nodename "n$i" \
		--addr 127.0.0.1:0 --api cat >"$tmp/n$i.log" 2>&1
	node_pids+=("$!")
done
for ((i = 1; i <= nodes; i++)); do
	addrs+=("$(await_line "$tmp/n$i.log" 's/.*msg=listening addr=\([0-9.:]*\).*/\1/p' "${node_pids[i - 1]}")")
	curl -sf -o /dev/null "http://${addrs[i - 1]}/health" || { say "node n$i is not healthy"; exit 1; }
done

# tree PID: PID and every process below it.
tree() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END {
			n = split(root, todo, " ")
			for (i = 1; i <= n; i++) {
				print todo[i]
				m = split(kids[todo[i]], k, " ")
				for (j = 1; j <= m; j++) todo[++n] = k[j]
			}
		}'
}

# mem PID...: the summed Pss and Rss of these processes, in kB.
mem() {
	local pid pss=0 rss=0 p r
	for pid; do
		read -r p r < <(awk '/^Pss:/ {p = $2} /^Rss:/ {r = $2} END {print p + 0, r + 0}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0 0)
		pss=$((pss + p)) rss=$((rss + r))
	done
	echo "$pss $rss"
}

# measure: one line per node, "PSS_OF_TREE RSS_OF_NODE CATS", then NATS's
# "PSS RSS".
measure() {
	local pid pids cats
	for pid in "${node_pids[@]}"; do
		mapfile -t pids < <(tree "$pid")
		cats=0
		for p in "${pids[@]:1}"; do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" != cat ] || cats=$((cats + 1))
		done
		echo "$(mem "${pids[@]}" | cut -d' ' -f1) $(mem "$pid" | cut -d' ' -f2) $cats"
	done
	mem "$nats_pid"
}

total_pss() { measure | awk '{s += $1} END {print s}'; }

before=$(measure)

say "opening $conns connections: $nodes load tools, $per each at most, rooms idle-0..idle-$((rooms - 1))"
hold=$((2 * (wait_s + settle_s) + 60))
for ((i = 1; i <= nodes; i++)); do
	c=$((conns / nodes + (i <= conns % nodes ? 1 : 0)))
	spawn "$tmp/scalesocket-bench" idle -c "$c" -rooms "$rooms" -roomprefix idle \
		-sources "$sources" -conc "$conc" -settle 1s -hold "${hold}s" -timeout "$((hold + wait_s + 60))s" \
		-url "ws://${addrs[i - 1]}" -pid "${node_pids[i - 1]}" >"$tmp/load$i.json" 2>"$tmp/load$i.log"
	load_pids+=("$!")
done

# Every load tool says "holding" once all its connections are up; one that
# exits before has failed, and its report says why.
start=$SECONDS
next=$((SECONDS + 5))
while :; do
	up=0
	for ((i = 1; i <= nodes; i++)); do
		if grep -q holding "$tmp/load$i.log"; then
			up=$((up + 1))
		elif ! alive "${load_pids[i - 1]}"; then
			say "load tool $i (node n$i) ended before all its connections were up:"
			cat "$tmp/load$i.log" >&2
			exit 1
		fi
	done
	[ "$up" -lt "$nodes" ] || break
	if [ $((SECONDS - start)) -ge "$wait_s" ]; then
		say "not all connections up after ${wait_s}s; last progress:"
		for ((i = 1; i <= nodes; i++)); do echo "  n$i: $(grep -E 'connected|holding' "$tmp/load$i.log" | tail -n 1)" >&2; done
		exit 1
	fi
	if [ "$SECONDS" -ge "$next" ]; then
		progress=
		for ((i = 1; i <= nodes; i++)); do
			progress+=" n$i:$(sed -n 's/.*connected \([0-9]*\/[0-9]*\).*/\1/p' "$tmp/load$i.log" | tail -n 1)"
		done
		say "$((SECONDS - start))s,$progress"
		next=$((SECONDS + 5))
	fi
	sleep 0.5
done
connect_s=$((SECONDS - start))
say "all $conns connections up after ${connect_s}s; waiting for the memory to settle"

# Settled: two readings a second apart within 0.5%, as the idle scenario
# of scalesocket-bench has it, for at most SETTLE s.
prev=$(total_pss)
settled="did not settle in ${settle_s}s"
for ((i = 1; i <= settle_s; i++)); do
	sleep 1
	cur=$(total_pss)
	if awk -v a="$prev" -v b="$cur" 'BEGIN {d = a - b; exit !((d < 0 ? -d : d) <= 0.005 * a)}'; then
		settled="settled in ${i}s"
		break
	fi
	prev=$cur
done
after=$(measure)
established=()
for ((i = 1; i <= nodes; i++)); do
	# By address and port: the load tools' own sockets from 127.0.0.2-4
	# may have the node's port number as their source port.
	established+=("$(ss -Htn state established src "${addrs[i - 1]}" | wc -l)")
done
lobby=$(curl -sf "http://${addrs[0]}/api/rooms/" || echo '[]')

# The load tools end on SIGUSR1 and report; a connection closed at any time
# fails the report.
for pid in "${load_pids[@]}"; do kill -USR1 "$pid" 2>/dev/null || true; done
failed=0
for ((i = 1; i <= nodes; i++)); do
	status=0
	wait "${load_pids[i - 1]}" || status=$?
	if [ "$status" -ne 0 ] || ! grep -q '"ok":true' "$tmp/load$i.json"; then
		say "load tool $i (node n$i) failed (exit $status):"
		grep -E 'error|FAILED' "$tmp/load$i.log" >&2 || tail -n 5 "$tmp/load$i.log" >&2
		failed=1
	fi
done
load_pids=()

awk -v conns="$conns" -v rooms="$rooms" -v connect_s="$connect_s" -v settled="$settled" \
	-v established="${established[*]}" -v lobby="$lobby" -v failed="$failed" \
	-v before="$before" -v after="$after" '
# Per connection, from kB (1024 bytes, as /proc counts) to KiB and to kB
# of 1000 bytes.
function kib(v) { return sprintf("%.1f", v / conns) }
function kb(v) { return sprintf("%.1f", v * 1.024 / conns) }
BEGIN {
	nb = split(before, b, "\n"); split(after, a, "\n"); n = nb - 1
	split(established, est, " ")
	for (i = 1; i <= n; i++) {
		split(b[i], x, " "); split(a[i], y, " ")
		pb[i] = x[1]; pa[i] = y[1]; rb[i] = x[2]; ra[i] = y[2]; cats[i] = y[3]
		PB += pb[i]; PA += pa[i]; RB += rb[i]; RA += ra[i]; CATS += cats[i]; EST += est[i]
		owned[i] = gsub("\"node\":\"n" i "\"", "", lobby)
	}
	split(b[nb], x, " "); split(a[nb], y, " ")
	natsb = x[1]; natsa = y[1]
	ok = !failed && EST == conns && CATS == rooms
	printf "\nidle cluster: %d connections over %d rooms of cat, %d nodes + NATS; all up after %ds, memory %s\n", conns, rooms, n, connect_s, settled
	printf "%-6s %12s %6s %6s %12s %12s %12s %12s\n", "", "connections", "rooms", "cats", "PSS before", "PSS after", "RSS before", "RSS after"
	for (i = 1; i <= n; i++)
		printf "%-6s %12d %6d %6d %9.1f MiB %9.1f MiB %9.1f MiB %9.1f MiB\n", "n" i, est[i], owned[i], cats[i], pb[i] / 1024, pa[i] / 1024, rb[i] / 1024, ra[i] / 1024
	printf "%-6s %12d %6d %6d %9.1f MiB %9.1f MiB %9.1f MiB %9.1f MiB\n", "nodes", EST, rooms, CATS, PB / 1024, PA / 1024, RB / 1024, RA / 1024
	printf "%-6s %12s %6s %6s %9.1f MiB %9.1f MiB\n", "NATS", "", "", "", natsb / 1024, natsa / 1024
	printf "(PSS: a node with its room processes; RSS: the node alone)\n\n"
	printf "per connection                          growth (after - before) / C    total after / C\n"
	printf "PSS, nodes + rooms                      %8s KiB = %6s kB        %8s KiB = %6s kB\n", kib(PA - PB), kb(PA - PB), kib(PA), kb(PA)
	printf "PSS, nodes + rooms + NATS               %8s KiB = %6s kB        %8s KiB = %6s kB\n", kib(PA - PB + natsa - natsb), kb(PA - PB + natsa - natsb), kib(PA + natsa), kb(PA + natsa)
	printf "RSS, nodes alone                        %8s KiB = %6s kB        %8s KiB = %6s kB\n", kib(RA - RB), kb(RA - RB), kib(RA), kb(RA)
	printf "connections established (server side): %d of %d; room processes: %d of %d; load tools: %s\n\n", EST, conns, CATS, rooms, failed ? "FAILED" : "ok"
	printf "{\"connections\":%d,\"rooms\":%d,\"nodes\":[", conns, rooms
	for (i = 1; i <= n; i++)
		printf "%s{\"name\":\"n%d\",\"connections\":%d,\"rooms_owned\":%d,\"cats\":%d,\"pss_kib\":%d,\"rss_kib\":%d,\"pss_before_kib\":%d,\"rss_before_kib\":%d}", (i > 1 ? "," : ""), i, est[i], owned[i], cats[i], pa[i], ra[i], pb[i], rb[i]
	printf "],\"nats_pss_kib\":%d,\"nats_pss_before_kib\":%d,\"total_pss_kib\":%d,\"total_pss_before_kib\":%d", natsa, natsb, PA, PB
	printf ",\"pss_per_conn_kib\":%s,\"pss_per_conn_kb\":%s,\"pss_per_conn_with_nats_kib\":%s,\"pss_per_conn_with_nats_kb\":%s", kib(PA - PB), kb(PA - PB), kib(PA - PB + natsa - natsb), kb(PA - PB + natsa - natsb)
	printf ",\"total_pss_per_conn_kib\":%s,\"total_pss_per_conn_kb\":%s,\"total_pss_per_conn_with_nats_kib\":%s,\"total_pss_per_conn_with_nats_kb\":%s", kib(PA), kb(PA), kib(PA + natsa), kb(PA + natsa)
	printf ",\"rss_per_conn_kib\":%s,\"total_rss_per_conn_kib\":%s,\"connect_s\":%d,\"ok\":%s}\n", kib(RA - RB), kib(RA), connect_s, ok ? "true" : "false"
	if (EST != conns)
		printf "bench-idle-cluster.sh: FAILED: the nodes hold %d connections, not %d\n", EST, conns > "/dev/stderr"
	if (CATS != rooms)
		printf "bench-idle-cluster.sh: FAILED: %d room processes run, not %d (one per room in the cluster)\n", CATS, rooms > "/dev/stderr"
	if (failed)
		printf "bench-idle-cluster.sh: FAILED: a load tool reported a failure (above)\n" > "/dev/stderr"
	exit !ok
}'
