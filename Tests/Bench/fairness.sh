#!/usr/bin/env bash
# fairness.sh -- issue 16's bench case: p50/p99 of normal `search` requests to `serve app` while 0, 32 and
# 100 clients keep sending 1 MiB requests of [9e15, ...] (each about 0.2 s of parsing), side by side.
# Target: p99 under attack <= 50 ms, no request failed. Prints figures; not a pass/fail test.
#   usage: Tests/Bench/fairness.sh PATH/TO/sockettool      env: D (seconds per run, default 5)
set -u
BIN=${1:?usage: fairness.sh PATH/TO/sockettool}
D=${D:-5}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do ss -Hltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.05; done; return 1; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
field() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read().splitlines()[-1]); print(" ".join(str(d.get(k, "-")) for k in sys.argv[1:]))' "$@"; }

for attackers in 0 32 100; do
  P=$(free_port); "$BIN" serve app 127.0.0.1 "$P" -q >/dev/null 2>&1 & S=$!; wait_port "$P"
  start_rss=$(rss_kib $S) idle_fds=$(fds $S)
  A=
  if [ "$attackers" -gt 0 ]; then
    # Each attacker connection sends a 1 MiB request, reads its answer, and starts again, until killed.
    python3 - "$P" "$attackers" <<'PY' & A=$!
import json, socket, sys, threading
port, count = int(sys.argv[1]), int(sys.argv[2])
content = b'{"action": "search", "value": [9e15' + b", 9e15" * 174000 + b"]}"
header = json.dumps({"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8",
                     "content-length": len(content)}).encode()
message = len(header).to_bytes(2, "big") + header + content
def attack():
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(message)
                while s.recv(65536): pass
        except OSError:
            pass
for _ in range(count): threading.Thread(target=attack, daemon=True).start()
threading.Event().wait()
PY
    sleep 1  # let the attack build up its backlog before measuring
  fi
  out=$("$BIN" search 127.0.0.1 "$P" morpheus --duration "$D" --concurrency 4 --json -q)
  read -r rps p50 p99 failed <<<"$(echo "$out" | field requests_per_s latency_p50_us latency_p99_us failed)"
  printf 'serve app  %3d attackers (1 MiB each)   search %8s req/s  p50 %8s us  p99 %8s us  failed %s\n' \
    "$attackers" "$rps" "$p50" "$p99" "$failed"
  [ -n "$A" ] && { kill "$A"; wait "$A" 2>/dev/null; }
  # Memory: a second after its last connection closes (its descriptors are back to what they were at the
  # start) the server gives the burst's heap back.
  t0=$(date +%s%N)
  for _ in $(seq 600); do [ "$(fds $S)" -le "$idle_fds" ] && break; sleep 0.1; done
  idle_ms=$((($(date +%s%N) - t0) / 1000000))
  sleep 2
  printf '           RSS %s KiB at start, peak %s KiB, %s KiB idle after (idle %s ms after the attack)\n' \
    "$start_rss" "$(hwm_kib $S)" "$(rss_kib $S)" "$idle_ms"
  kill $S; wait $S 2>/dev/null
done
