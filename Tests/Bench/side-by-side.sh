#!/usr/bin/env bash
# side-by-side.sh -- the one-connection echo of `serve multi` and of the C reference server measured at
# the same time, each under its own C load generator, so the host's noise hits both alike. On a noisy
# VM, compare.sh's alternating runs scatter too widely to resolve 10 % here (docs/performance.md).
#   usage: Tests/Bench/side-by-side.sh PATH/TO/sockettool     env: N (rounds, default 5), D (seconds, 4),
#          REFERENCE_BENCH (folder with loadgen.c and refserver.c; default ../shared/bench)
set -u
BIN=${1:?usage: side-by-side.sh PATH/TO/sockettool}
N=${N:-5}; D=${D:-4}
HERE=$(cd "$(dirname "$0")" && pwd)
REF=${REFERENCE_BENCH:-$HERE/../../../shared/bench}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
gcc -O2 -o "$W/loadgen" "$REF/loadgen.c" -lpthread && gcc -O2 -o "$W/refserver" "$REF/refserver.c" || exit 1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do ss -Hltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.05; done; return 1; }
mbps() { grep -o ' mbps=[0-9.]*' "$1" | cut -d= -f2; }

ratios=""
for round in $(seq "$N"); do
  P1=$(free_port); P2=$(free_port)
  "$BIN" serve multi 127.0.0.1 "$P1" >/dev/null 2>&1 & S1=$!
  "$W/refserver" echo 127.0.0.1 "$P2" >/dev/null 2>&1 & S2=$!
  wait_port "$P1" && wait_port "$P2" || { kill $S1 $S2; exit 1; }
  "$W/loadgen" echo -p "$P1" -c 1 -s 16384 -d "$D" -q >"$W/ours" & L1=$!
  "$W/loadgen" echo -p "$P2" -c 1 -s 16384 -d "$D" -q >"$W/ref" & L2=$!
  wait $L1 $L2; kill $S1 $S2; wait $S1 $S2 2>/dev/null
  a=$(mbps "$W/ours"); b=$(mbps "$W/ref")
  r=$(python3 -c "print(f'{$a / $b:.3f}')")
  ratios="$ratios $r"
  printf 'round %d: sockettool %8s MB/s  reference %8s MB/s  ratio %s\n' "$round" "$a" "$b" "$r"
done
python3 -c 'import statistics, sys; print(f"echo, 1 conn, side by side: median ratio {statistics.median(map(float, sys.argv[1:])):.3f}")' $ratios
