#!/usr/bin/env bash
# hold-many.sh -- as many idle connections as one process may hold (this machine: 20,000 descriptors, a hard
# limit), opened by several client processes (hold-clients.py), each from its own loopback address
# (127.0.0.2, 127.0.0.3, ...), then fresh requests from 127.0.0.1 answered beside them (timed by loadgen),
# the server's RSS, and the kernel's memory per connection (sockstat, slabinfo).
#   usage: Tests/Bench/hold-many.sh PATH/TO/sockettool multi|app [BACKEND]
#   env: N (connections, default 19900), P (client processes, default 4), CHECKS (fresh requests, default 9),
#        REFERENCE_BENCH (folder with loadgen.c; default ../shared/bench), LOADGEN (a built loadgen to use).
#   Without loadgen the fresh requests are timed by Python (tens of microseconds slower).
# Prints figures; not a pass/fail test. Loopback only.
set -u
BIN=${1:?usage: hold-many.sh PATH/TO/sockettool multi|app [poll|epoll]}
KIND=${2:?multi or app}
BACKEND=${3:-epoll}
N=${N:-19900}; P=${P:-4}; CHECKS=${CHECKS:-9}
HERE=$(cd "$(dirname "$0")" && pwd)
REF=${REFERENCE_BENCH:-$HERE/../../../shared/bench}
W=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
if [ -n "${LOADGEN:-}" ]; then cp "$LOADGEN" "$W/loadgen"
elif [ -r "$REF/loadgen.c" ]; then gcc -O2 -o "$W/loadgen" "$REF/loadgen.c" -lpthread || exit 1; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do ss -Hltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.05; done; return 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
open_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# The kernel's TCP memory: sockets in use and buffer pages (sockstat), and the slab caches a socket lives in.
sockstat() { awk '/^TCP:/ {print $3, $11}' /proc/net/sockstat; }
# name -> bytes in use (active objects x object size) of every slab cache, when /proc/slabinfo is readable.
slabs() { [ -r /proc/slabinfo ] && awk 'NR > 2 {print $1, $2 * $4}' /proc/slabinfo >"$1" || : >"$1"; }

port=$(free_port)
# --request-timeout: serve app closes a connection that has not sent its request within 10 s by default.
extra=(); [ "$KIND" = app ] && extra=(--request-timeout 600)
"$BIN" serve "$KIND" 127.0.0.1 "$port" -q --backend "$BACKEND" "${extra[@]}" >/dev/null 2>&1 &
S=$!; PIDS="$S"
wait_port "$port" || { echo "server did not start"; exit 1; }
sleep 0.3
rss0=$(rss_kib $S); fds0=$(open_fds $S); read -r socks0 pages0 <<<"$(sockstat)"; slabs "$W/slab0"

start=$(date +%s.%N)
per=$(( (N + P - 1) / P )); left=$N
for i in $(seq "$P"); do
  c=$(( left < per ? left : per )); left=$(( left - c ))
  [ "$c" -gt 0 ] || break
  python3 "$HERE/hold-clients.py" 127.0.0.1 "$port" "$c" "127.0.0.$((i + 1))" >"$W/hold.$i" 2>&1 &
  PIDS="$PIDS $!"
done
# Established means accepted: count the server's descriptors until every connection is there (or 120 s).
for _ in $(seq 2400); do
  [ $(( $(open_fds $S) - fds0 )) -ge "$N" ] && break
  sleep 0.05
done
ramp=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")
held=$(( $(open_fds $S) - fds0 ))
sleep 1  # settle: the last accepts' allocations, the allocator's free lists
rss1=$(rss_kib $S); read -r socks1 pages1 <<<"$(sockstat)"; slabs "$W/slab1"

# Fresh requests on new connections beside the held ones, each timed from connect to the whole answer: in C
# by loadgen, or in Python without it.
check=$([ "$KIND" = app ] && echo app || echo echo)
fresh_us() {
  if [ -x "$W/loadgen" ]; then
    "$W/loadgen" hold -p "$port" -c 1 -d 0 --check "$check" -q | grep -o ' check_ok=1 check_us=[0-9.]*' | cut -d= -f3
  else
    python3 "$HERE/fresh-request.py" 127.0.0.1 "$port" "$check"
  fi
}
times=""
for _ in $(seq "$CHECKS"); do t=$(fresh_us); times="$times ${t:-nan}"; done
alive=$(kill -0 $S 2>/dev/null && echo running || echo DIED)
python3 - "$KIND" "$BACKEND" "$N" "$held" "$ramp" "$rss0" "$rss1" "$socks0" "$socks1" "$pages0" "$pages1" "$W/slab0" "$W/slab1" "$alive" $times <<'PY'
import statistics, sys
kind, backend, n, held, ramp, rss0, rss1, s0, s1, p0, p1, slab0, slab1, alive, *times = sys.argv[1:]
held, rss0, rss1, s0, s1, p0, p1 = map(int, (held, rss0, rss1, s0, s1, p0, p1))
ok = [float(t) for t in times if t != "nan"]
name = f"serve {kind} --backend {backend}"
print(f"{name}: {held:,} of {int(n):,} idle connections held after {ramp} s (server {alive}); "
      f"RSS {rss1 / 1024:.1f} MiB (idle server {rss0 / 1024:.1f} MiB; target <= 48 MiB)")
if held:
    print(f"{name}: process memory per idle connection {(rss1 - rss0) * 1024 / held:,.0f} bytes")
    print(f"{name}: kernel, both ends on this machine: {s1 - s0:,} more TCP sockets, "
          f"{(p1 - p0) * 4:,} KiB more socket buffer pages (sockstat)")
    read = lambda path: dict((l.split()[0], int(l.split()[1])) for l in open(path) if len(l.split()) == 2)
    before, after = read(slab0), read(slab1)
    # The caches a connected socket lives in (socket, inode, file, dentry, epoll item, port bucket).
    caches = ["TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi", "eventpoll_pwq", "tcp_bind_bucket",
              "tcp_bind2_bucket"]
    grown = {c: after.get(c, 0) - before.get(c, 0) for c in caches if c in after}
    if grown:
        total = sum(grown.values())
        parts = ", ".join(f"{c} {v / held:,.0f}" for c, v in grown.items() if v > 0)
        print(f"{name}: kernel slab per connection (both ends): {total / held:,.0f} bytes ({parts})")
if ok:
    print(f"{name}: fresh request beside them: median {statistics.median(ok) / 1000:.3f} ms, best {min(ok) / 1000:.3f} ms, "
          f"worst {max(ok) / 1000:.3f} ms ({len(ok)} of {len(times)} ok; target <= 1 ms)")
else:
    print(f"{name}: fresh request beside them: FAILED ({len(times)} tries)")
PY
