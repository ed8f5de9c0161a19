#!/usr/bin/env bash
# Side-by-side benchmarks of BENCHMARKS.md: ScaleSocket (built from this
# tree), websocketd (Debian's package) and the floor, alternating,
# repeated. Writes scripts/bench-results/{results.jsonl,summary.md,fanout.svg}.
#
#   scripts/bench.sh                  # the full run, 5 repetitions (~10 min on 2 cores)
#   REPS=1 scripts/bench.sh -only echo,storm   # a quick look at a few cases
#   OURS_REF=HEAD scripts/bench.sh    # ScaleSocket as committed, not the work tree
#
# Extra arguments go to 'scalesocket-bench suite' (see its -h).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${OUT:-scripts/bench-results}
reps=${REPS:-5}

if ! command -v websocketd >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq websocketd
	else
		echo "bench.sh: websocketd is not installed (apt-get install websocketd)" >&2
		exit 1
	fi
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" ./cmd/scalesocket-bench ./cmd/scalesocket-floor
if [ -n "${OURS_REF:-}" ]; then
	mkdir "$bin/src"
	git archive "$OURS_REF" | tar -x -C "$bin/src"
	(cd "$bin/src" && go build -o "$bin/" ./cmd/scalesocket)
	commit=$(git rev-parse --short "$OURS_REF")
else
	go build -o "$bin/" ./cmd/scalesocket
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git status --porcelain -- internal cmd/scalesocket go.mod go.sum 2>/dev/null)" ]; then
		commit="$commit with uncommitted changes"
	fi
fi

mkdir -p "$out"
# One JSON line per run goes to results.jsonl as well; stdout is not kept.
"$bin/scalesocket-bench" suite \
	-ours "$bin/scalesocket" \
	-floor "$bin/scalesocket-floor" \
	-websocketd "$(command -v websocketd)" \
	-bench "$bin/scalesocket-bench" \
	-reps "$reps" \
	-out "$out" \
	-note "measured: ScaleSocket at commit $commit; websocketd $(dpkg-query -W -f '${Version}' websocketd 2>/dev/null || echo '?') (Debian)" \
	"$@" >/dev/null
