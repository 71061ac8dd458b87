#!/usr/bin/env bash
# soak.sh -- issue 16's soak: `serve app` under continuous mixed load (normal searches, garbage, partial
# requests left to time out, 1 MiB [9e15, ...] requests and clients that reset mid-request), with the
# server's descriptors (/proc/PID/fd) and RSS (VmRSS) sampled every 10 s. Prints a table, then a verdict
# per resource: "flat" or "grew". Exit 0 when both are flat, 1 when one grew.
#   usage: Tests/Bench/soak.sh PATH/TO/sockettool
#   env:   SOAK_SECONDS (default 1800: 30 minutes), SOAK_INTERVAL (default 10 s)
#
# Flat means: the highest sample of the last third of the run is no higher than the highest of the first
# third (after the first minute, while the allocator and the worker threads settle) plus a slack -- 16
# descriptors, and 10 % + 4 MiB of RSS; and once the load stops the server is back to the descriptors it
# had before it (every connection closed) and within 4 MiB of its RSS at the end of the first minute.
set -u
BIN=${1:?usage: soak.sh PATH/TO/sockettool}
SECONDS_TOTAL=${SOAK_SECONDS:-1800}
INTERVAL=${SOAK_INTERVAL:-10}
WARMUP=$((SECONDS_TOTAL < 180 ? SECONDS_TOTAL / 3 : 60))
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do ss -Hltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.05; done; return 1; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
conns() { ss -Htn state established "sport = :$1" 2>/dev/null | wc -l; }
TMP=$(mktemp -d)
L= N= S=
trap 'kill ${L:-} ${N:-} ${S:-} 2>/dev/null; rm -rf "$TMP"' EXIT

P=$(free_port)
"$BIN" serve app 127.0.0.1 "$P" -q --request-timeout 5 >/dev/null 2>&1 &
S=$!
wait_port "$P" || { echo "soak: the server did not start" >&2; exit 2; }
idle_fds=$(fds $S)
idle_rss=$(rss_kib $S)

# The hostile and odd clients, each kind on its own threads, until killed; on SIGTERM they print how many
# connections of each kind they made, and how many of those got an answer where one was due.
python3 - "$P" >"$TMP/load" 2>&1 <<'PY' &
import json, os, random, signal, socket, struct, sys, threading, time
port = int(sys.argv[1])
def message(content, ctype="text/json", encoding="utf-8"):
    header = json.dumps({"byteorder": "little", "content-type": ctype, "content-encoding": encoding,
                         "content-length": len(content)}).encode()
    return struct.pack(">H", len(header)) + header + content
big = message(b'{"action": "search", "value": [9e15' + b", 9e15" * 174000 + b"]}")
small = message(b'{"action": "search", "value": "morpheus"}')
counts = {k: [0, 0] for k in ("garbage", "partial", "big", "reset")}
lock = threading.Lock()
def count(kind, answered):
    with lock:
        counts[kind][0] += 1
        counts[kind][1] += answered
def read_all(s):
    got = 0
    while True:
        chunk = s.recv(65536)
        if not chunk: return got
        got += len(chunk)
def garbage():
    # Random bytes: a bad length prefix or header, answered with an error and a close.
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    with s:
        s.sendall(os.urandom(random.randint(1, 4096)))
        s.shutdown(socket.SHUT_WR)
        count("garbage", read_all(s) > 0)
    time.sleep(0.02)
def partial():
    # Part of a request, then silence: the server's --request-timeout closes it.
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    with s:
        s.sendall(small[:random.randint(1, len(small) - 1)])
        read_all(s)
        count("partial", 1)
def big_request():
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    with s:
        s.sendall(big)
        count("big", read_all(s) > 0)
def reset():
    # Part of a 1 MiB request, then a reset (SO_LINGER 0): the server must let go of what it held.
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(big[:random.randint(1, len(big) // 2)])
    s.close()
    count("reset", 1)
    time.sleep(0.05)
def run(job):
    while True:
        try:
            job()
        except OSError:
            time.sleep(0.01)
def report(*_):
    with lock:
        print(" ".join(f"{k}={n}/{a}" for k, (n, a) in counts.items()), flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, report)
for job, threads in ((garbage, 2), (partial, 8), (big_request, 2), (reset, 2)):
    for _ in range(threads): threading.Thread(target=run, args=(job,), daemon=True).start()
while True: time.sleep(3600)
PY
L=$!
# The normal clients: the guide's search, two at a time, for the whole run; its summary counts failures.
"$BIN" search 127.0.0.1 "$P" morpheus --duration "$SECONDS_TOTAL" --concurrency 2 --json -q >"$TMP/search" 2>&1 &
N=$!

printf '%8s %6s %10s %6s\n' "elapsed" "fds" "rss_kib" "conns"
printf '%8s %6s %10s %6s\n' "idle" "$idle_fds" "$idle_rss" "0"
start=$(date +%s)
: >"$TMP/samples"
while :; do
  sleep "$INTERVAL"
  now=$(($(date +%s) - start))
  [ "$now" -gt "$SECONDS_TOTAL" ] && break
  f=$(fds $S); r=$(rss_kib $S); c=$(conns "$P")
  [ -z "$r" ] && { echo "soak: the server exited" >&2; exit 2; }
  printf '%8s %6s %10s %6s\n' "${now}s" "$f" "$r" "$c"
  echo "$now $f $r" >>"$TMP/samples"
done
wait $N 2>/dev/null
kill -TERM $L 2>/dev/null; wait $L 2>/dev/null
# Idle again: every connection closed, and a second past the last one the server gives memory back.
for _ in $(seq 600); do [ "$(fds $S)" -le "$idle_fds" ] && break; sleep 0.1; done
sleep 2
after_fds=$(fds $S); after_rss=$(rss_kib $S)
printf '%8s %6s %10s %6s\n' "after" "$after_fds" "$after_rss" "$(conns "$P")"

summary() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read().splitlines()[-1]); print("%s requests, %s failed, p50 %s us, p99 %s us" % tuple(d.get(k) for k in ("requests", "failed", "latency_p50_us", "latency_p99_us")))'; }
echo "normal search: $(summary <"$TMP/search" 2>/dev/null || cat "$TMP/search")"
echo "other clients (connections/answered): $(cat "$TMP/load")"
python3 - "$TMP/samples" "$WARMUP" "$SECONDS_TOTAL" "$idle_fds" "$after_fds" "$after_rss" <<'PY'
import sys
path, warmup, total, idle_fds, after_fds, after_rss = sys.argv[1], *map(int, sys.argv[2:])
rows = [tuple(map(int, line.split())) for line in open(path)]
settled = [r for r in rows if r[0] > warmup]
if len(settled) < 3:
    print("verdict: too short to judge (fewer than 3 samples after the warm-up)"); sys.exit(1)
third = max(1, len(settled) // 3)
first, last = settled[:third], settled[-third:]
warm_rss = max(r[2] for r in rows if r[0] <= warmup) if any(r[0] <= warmup for r in rows) else first[0][2]
fd_first, fd_last = max(r[1] for r in first), max(r[1] for r in last)
rss_first, rss_last = max(r[2] for r in first), max(r[2] for r in last)
fd_flat = fd_last <= fd_first + 16 and after_fds == idle_fds
rss_flat = rss_last <= rss_first * 1.1 + 4096 and after_rss <= warm_rss + 4096
print(f"descriptors: first third max {fd_first}, last third max {fd_last}, idle before {idle_fds}, after {after_fds}"
      f" -> {'flat' if fd_flat else 'grew'}")
print(f"rss KiB:     first third max {rss_first}, last third max {rss_last}, after the load {after_rss}"
      f" (end of warm-up max {warm_rss}) -> {'flat' if rss_flat else 'grew'}")
print(f"verdict: {'flat' if fd_flat and rss_flat else 'grew'} ({len(rows)} samples over {total} s)")
sys.exit(0 if fd_flat and rss_flat else 1)
PY
