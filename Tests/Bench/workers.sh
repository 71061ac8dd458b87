#!/usr/bin/env bash
# workers.sh -- serve app with --workers 1 (the guide's single loop) and 2: requests per second and the
# server's CPU (user+sys) per request, under the C load generator (REFERENCE_BENCH/loadgen.c; sockettool's own
# `search` load mode when it is not there), 128 clients, a fixed number of requests, runs alternating.
# On a machine with two cores the load generator takes one of them: the figure to read is CPU per request
# (what a second loop costs), req/s says how much a second core is free to give. Both backends: with poll()
# every loop wakes for every connection (one request each, here), with epoll one does (EPOLLEXCLUSIVE).
#   usage: Tests/Bench/workers.sh PATH/TO/sockettool [ROUNDS] [REQUESTS]   env: REFERENCE_BENCH
set -u
BIN=${1:?usage: workers.sh PATH/TO/sockettool [ROUNDS] [REQUESTS]}; R=${2:-3}; N=${3:-60000}
HERE=$(cd "$(dirname "$0")" && pwd)
REF=${REFERENCE_BENCH:-$HERE/../../../shared/bench}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
tck=$(getconf CLK_TCK)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do ss -Hltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.05; done; return 1; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
LOADGEN=""
if [ -f "$REF/loadgen.c" ] && gcc -O2 -o "$T/loadgen" "$REF/loadgen.c" -lpthread 2>/dev/null; then LOADGEN=$T/loadgen; fi

one() { # backend workers -> "req/s us-per-request"
  local p pid t0 t1 out ok rps; p=$(free_port)
  "$BIN" serve app 127.0.0.1 "$p" -q --backend "$1" --workers "$2" >/dev/null 2>&1 & pid=$!
  wait_port "$p" || { echo "0 0"; kill $pid; return; }
  t0=$(ticks $pid)
  if [ -n "$LOADGEN" ]; then
    out=$("$LOADGEN" app -p "$p" -c 128 -t 2 -n "$N" -d 120 -q)
    ok=$(echo "$out" | grep -o ' ok=[0-9]*' | cut -d= -f2); rps=$(echo "$out" | grep -o ' rps=[0-9.]*' | cut -d= -f2)
  else
    out=$("$BIN" search 127.0.0.1 "$p" morpheus --count "$N" --concurrency 128 --threads 2 --json -q | tail -n 1)
    read -r ok rps <<<"$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("requests", 0) - d.get("failed", 0), d.get("requests_per_s", 0))')"
  fi
  t1=$(ticks $pid)
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  python3 -c "print(${rps:-0}, round(($t1-$t0)/$tck*1e6/max(1,${ok:-0}),2))"
}

echo "serve app --workers (128 clients, $N requests a run, $R runs each, $([ -n "$LOADGEN" ] && echo loadgen.c || echo "sockettool search"), $(nproc) cores):"
for backend in poll epoll; do
  declare -A rps=() cpu=()
  for _ in $(seq "$R"); do
    for w in 1 2; do read -r a b <<<"$(one $backend $w)"; rps[$w]="${rps[$w]:-} $a"; cpu[$w]="${cpu[$w]:-} $b"; done
  done
  python3 - "$backend" "${rps[1]}" "${cpu[1]}" "${rps[2]}" "${cpu[2]}" <<'PY'
import statistics as s, sys
backend = sys.argv[1]
r1, c1, r2, c2 = ([float(x) for x in a.split()] for a in sys.argv[2:])
for w, r, c in ((1, r1, c1), (2, r2, c2)):
    print(f"  {backend:5} --workers {w}   {s.median(r):8.0f} req/s   {s.median(c):6.2f} us CPU per request   (runs: {r}, {c})")
print(f"  {backend:5} 2 vs 1: req/s x{s.median(r2) / max(s.median(r1), 1):.2f}, CPU per request x{s.median(c2) / max(s.median(c1), 0.01):.2f}")
PY
done
