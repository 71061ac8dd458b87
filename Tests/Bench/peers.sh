#!/usr/bin/env bash
# peers.sh -- sockettool against the tools a user would pick instead, in one run, alternating (ours,
# theirs, ours, ...), each figure beside its reference and the median of the per-round ratios:
#   one-way throughput: `connect --send-only` to `serve discard` vs `iperf3 -c` to `iperf3 -s`, 1 and 4 streams
#   load generation:    `search --duration` / `connect --duration` vs ../shared/bench/loadgen.c, both
#                       driving the C poll() reference server, same concurrency and threads
#   CPU per request:    ../shared/bench/cpu.sh (serve app vs the C server)
#   (together: the one-way pair again, both running at once, so the host's noise hits both alike)
# usage: Tests/Bench/peers.sh PATH/TO/sockettool [iperf|together|loadgen|cpu]...
#   env: D (seconds per run, default 5), R (rounds, default 3), REFERENCE_BENCH (default ../shared/bench)
set -u
BIN=$(cd "$(dirname "${1:?usage: peers.sh PATH/TO/sockettool}")" && pwd)/$(basename "$1"); shift
D=${D:-5}; R=${R:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
REF=${REFERENCE_BENCH:-$HERE/../../../shared/bench}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do ss -Hltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.05; done; return 1; }
json_field() { python3 -c '
import json, sys
d = json.loads(sys.stdin.read().splitlines()[-1])
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1" 2>/dev/null || echo 0; }
# ratio NAME UNIT "ours..." "theirs..." -> one line: medians and the median of per-round ratios
ratio() {
  python3 - "$@" <<'PY'
import statistics as s, sys
name, unit, a, b = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
r = s.median(x / y for x, y in zip(a, b) if y) if any(b) else 0
print(f"{name:40s} sockettool {s.median(a):10.1f}  reference {s.median(b):10.1f}  {unit:8s} ratio {r:.3f}   rounds {a} vs {b}")
PY
}

# --- one-way throughput against iperf3 ------------------------------------------------------------
ours_send() { # streams [serve discard flags] -> MB/s sent
  local p pid streams=$1; shift; p=$(free_port)
  "$BIN" serve discard 127.0.0.1 "$p" -q "$@" >/dev/null 2>&1 & pid=$!; wait_port "$p"
  "$BIN" connect 127.0.0.1 "$p" --send-only --duration "$D" --conns "$streams" --json -q | json_field mb_per_s
  kill $pid; wait $pid 2>/dev/null
}
iperf_send() { # streams -> MB/s sent
  local p pid; p=$(free_port)
  iperf3 -s -1 -p "$p" >/dev/null 2>&1 & pid=$!; wait_port "$p"
  iperf3 -c 127.0.0.1 -p "$p" -t "$D" -P "$1" -J 2>/dev/null | python3 -c '
import json, sys; print(json.load(sys.stdin)["end"]["sum_sent"]["bits_per_second"] / 8e6)' 2>/dev/null || echo 0
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
}
bench_iperf() {
  if ! command -v iperf3 >/dev/null; then echo "(iperf3 not installed: one-way throughput not compared)"; return; fi
  echo "one-way throughput (connect --send-only -> serve discard, vs iperf3 -c -> iperf3 -s; $(iperf3 --version | head -1 | cut -d' ' -f1-2)):"
  # serve discard drops the bytes in the kernel (MSG_TRUNC); with --copy it reads them out as iperf3 -s
  # does: the second pair of rows is the like-for-like receiver.
  for copy in "" --copy; do
    for streams in 1 4; do
      local a="" b=""
      for _ in $(seq "$R"); do a="$a $(ours_send "$streams" $copy)"; b="$b $(iperf_send "$streams")"; done
      ratio "  $streams stream(s), MB/s sent${copy:+, serve discard $copy}" "MB/s" "$a" "$b"
    done
  done
}

# The same pair at the same time (both servers, both clients), so the host's noise hits both alike: on two
# cores this measures CPU per byte more than a lone run's speed (as side-by-side.sh does for echo).
bench_together() {
  command -v iperf3 >/dev/null || { echo "(iperf3 not installed)"; return; }
  echo "one-way throughput, both at once (sockettool and iperf3 pairs running side by side):"
  for streams in 1 4; do
    local a="" b="" p q s1 s2
    for _ in $(seq "$R"); do
      p=$(free_port); q=$(free_port)
      "$BIN" serve discard 127.0.0.1 "$p" -q >/dev/null 2>&1 & s1=$!
      iperf3 -s -1 -p "$q" >/dev/null 2>&1 & s2=$!
      wait_port "$p"; wait_port "$q"
      "$BIN" connect 127.0.0.1 "$p" --send-only --duration "$D" --conns "$streams" --json -q >"$W/ours" &
      iperf3 -c 127.0.0.1 -p "$q" -t "$D" -P "$streams" -J >"$W/theirs" 2>/dev/null
      wait %3 2>/dev/null; sleep 0.2
      a="$a $(json_field mb_per_s <"$W/ours")"
      b="$b $(python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_sent"]["bits_per_second"] / 8e6)' <"$W/theirs" 2>/dev/null || echo 0)"
      kill $s1 $s2 2>/dev/null; wait $s1 $s2 2>/dev/null
    done
    ratio "  $streams stream(s), MB/s sent, together" "MB/s" "$a" "$b"
  done
}

# --- load generation against the C load generator, both driving the C server ---------------------
with_ref() { # kind (app|echo) command... -> the command's output, run against a fresh C server
  local kind=$1 p pid out; shift; p=$(free_port)
  "$W/refserver" "$kind" 127.0.0.1 "$p" >/dev/null 2>&1 & pid=$!; wait_port "$p"
  out=$("${@//PORT/$p}")
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  echo "$out"
}
loadgen_field() { grep -o " $1=[0-9.]*" | cut -d= -f2; }
bench_loadgen() {
  [ -f "$REF/loadgen.c" ] || { echo "(no $REF/loadgen.c: load generation not compared)"; return; }
  gcc -O2 -o "$W/loadgen" "$REF/loadgen.c" -lpthread && gcc -O2 -o "$W/refserver" "$REF/refserver.c" || return
  echo "load generation (sockettool's load modes vs loadgen.c, both against the C poll() server):"
  local a="" b=""
  for _ in $(seq "$R"); do
    a="$a $(with_ref app "$BIN" search 127.0.0.1 PORT morpheus --duration "$D" --concurrency 128 --threads 2 --json -q | json_field requests_per_s)"
    b="$b $(with_ref app "$W/loadgen" app -p PORT -c 128 -t 2 -d "$D" -q | loadgen_field rps)"
  done
  ratio "  app, 128 concurrent, 2 threads" "req/s" "$a" "$b"
  for conns in 1 16; do
    local t; t=$([ "$conns" -gt 1 ] && echo 2 || echo 1); a=""; b=""
    for _ in $(seq "$R"); do
      a="$a $(with_ref echo "$BIN" connect 127.0.0.1 PORT --duration "$D" --conns "$conns" --threads "$t" --size 16384 --json -q | json_field mb_per_s)"
      b="$b $(with_ref echo "$W/loadgen" echo -p PORT -c "$conns" -t "$t" -s 16384 -d "$D" -q | loadgen_field mbps)"
    done
    ratio "  echo, $conns conn(s), $t thread(s), 16 KiB" "MB/s" "$a" "$b"
  done
}

bench_cpu() {
  [ -x "$REF/cpu.sh" ] || { echo "(no $REF/cpu.sh: CPU per request not compared)"; return; }
  echo "CPU per request (serve app vs the C server, 60,000 requests at 128 clients, cpu.sh):"
  "$REF/cpu.sh" "$BIN" "$R" | sed 's/^/  /'
}

for part in ${*:-iperf together loadgen cpu}; do "bench_$part"; echo; done
