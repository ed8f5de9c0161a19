#!/usr/bin/env bash
# Cross-node fan-out of BENCHMARKS.md: one room, its clients split over two
# cluster nodes (the room's process on the first, the second relaying it
# over NATS), against the same load on one server without a cluster,
# alternating, repeated. Prints each run and the medians and their ratio.
#
#   scripts/bench-cluster.sh                 # C=1000 and C=100, 5 repetitions
#   REPS=3 CLIENTS=100 scripts/bench-cluster.sh
#
# Needs nats-server on PATH, or installs it with 'go install'.
set -euo pipefail
cd "$(dirname "$0")/.."

reps=${REPS:-5}
clients=${CLIENTS:-"1000 100"}
lines=${LINES:-10000}

bin=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "logs in $bin" >&2; else rm -rf "$bin"; fi
}
trap cleanup EXIT
go build -o "$bin/" ./cmd/scalesocket ./cmd/scalesocket-bench
nats=$(command -v nats-server || true)
if [ -z "$nats" ]; then
	GOBIN="$bin" go install github.com/nats-io/nats-server/v2@v2.15.2
	nats="$bin/nats-server"
fi

"$nats" -js -sd "$bin/js" -a 127.0.0.1 -p 14299 >"$bin/nats.log" 2>&1 &
pids+=($!)
node() { # node NAME PORT
	"$bin/scalesocket" --addr "127.0.0.1:$2" --cluster nats://127.0.0.1:14299 --nodename "$1" \
		"$bin/scalesocket-bench" -- backend >"$bin/$1.log" 2>&1 &
	pids+=($!)
}
node n1 19101
node n2 19102
for port in 19101 19102; do
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.1
	done
done

single="$bin/scalesocket --addr 127.0.0.1:19100 $bin/scalesocket-bench -- backend"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
fps() { sed -n 's/.*"frames_per_s":\([0-9.]*\).*/\1/p'; }

for c in $clients; do
	: >"$bin/one" && : >"$bin/two"
	for rep in $(seq "$reps"); do
		one=$("$bin/scalesocket-bench" fanout -c "$c" -m "$lines" -sources 4 -url ws://127.0.0.1:19100 -server "$single" 2>/dev/null | fps)
		two=$("$bin/scalesocket-bench" fanout -c "$c" -m "$lines" -sources 4 -url ws://127.0.0.1:19101 -spread ws://127.0.0.1:19102 2>/dev/null | fps)
		if [ -z "$one" ] || [ -z "$two" ]; then
			echo "bench-cluster.sh: a run failed (C=$c, repetition $rep)" >&2
			exit 1
		fi
		echo "C=$c rep $rep: one server $(printf '%.0f' "$one") frames/s, two nodes $(printf '%.0f' "$two") frames/s"
		echo "$one" >>"$bin/one"
		echo "$two" >>"$bin/two"
	done
	m1=$(median <"$bin/one")
	m2=$(median <"$bin/two")
	awk -v c="$c" -v a="$m1" -v b="$m2" 'BEGIN {printf "C=%s median: one server %.2fM frames/s, two nodes %.2fM frames/s, ratio %.2f\n", c, a/1e6, b/1e6, b/a}'
done
