#!/usr/bin/env bash
# bench.sh -- sockettool's own load modes against its own servers, then (when the reference tools are
# there) compare.sh's ratios to the C poll() server, and peers.sh's to iperf3, the C load generator and
# the C server's CPU per request. Prints figures; it is not a pass/fail test.
#   usage: Tests/Bench/bench.sh PATH/TO/sockettool      env: D (seconds per run, default 5),
#          REFERENCE_BENCH (folder with compare.sh; default ../shared/bench), SKIP_REFERENCE=1
set -u
BIN=$(cd "$(dirname "${1:?usage: bench.sh PATH/TO/sockettool}")" && pwd)/$(basename "$1")
D=${D:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
REF=${REFERENCE_BENCH:-$HERE/../../../shared/bench}
ulimit -n "$(ulimit -Hn)" 2>/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do ss -Hltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.05; done; return 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
field() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read().splitlines()[-1]); print(" ".join(str(d.get(k, "-")) for k in sys.argv[1:]))' "$@"; }

echo "sockettool benchmark ($(nproc) cores, $D s per run, $("$BIN" --version))"
echo

# --- serve multi: echo throughput, 16 KiB chunks ------------------------------------------------
P=$(free_port); "$BIN" serve multi 127.0.0.1 "$P" -q >/dev/null 2>&1 & S=$!; wait_port "$P"
for c in 1 16; do
  t=$([ "$c" -gt 1 ] && echo 2 || echo 1)
  out=$("$BIN" connect 127.0.0.1 "$P" --duration "$D" --conns "$c" --threads "$t" --size 16384 --json -q)
  read -r mbps p50 p99 <<<"$(echo "$out" | field mb_per_s latency_p50_us latency_p99_us)"
  printf 'serve multi  echo %2d conn   %10s MB/s   round trip p50 %8s us  p99 %8s us\n' "$c" "$mbps" "$p50" "$p99"
done
printf 'serve multi  memory after load: RSS %s KiB, peak %s KiB\n' "$(rss_kib $S)" "$(hwm_kib $S)"
kill $S; wait $S 2>/dev/null

# --- serve app: requests per second at 128 concurrent clients -----------------------------------
P=$(free_port); "$BIN" serve app 127.0.0.1 "$P" >/dev/null 2>&1 & S=$!; wait_port "$P"
out=$("$BIN" search 127.0.0.1 "$P" morpheus --duration "$D" --concurrency 128 --threads 2 --json -q)
read -r rps p50 p99 <<<"$(echo "$out" | field requests_per_s latency_p50_us latency_p99_us)"
printf 'serve app    128 clients     %10s req/s  latency    p50 %8s us  p99 %8s us\n' "$rps" "$p50" "$p99"
out=$("$BIN" search 127.0.0.1 "$P" morpheus --duration "$D" --concurrency 1 --json -q)
read -r rps p50 p99 <<<"$(echo "$out" | field requests_per_s latency_p50_us latency_p99_us)"
printf 'serve app      1 client      %10s req/s  latency    p50 %8s us  p99 %8s us\n' "$rps" "$p50" "$p99"
printf 'serve app    memory after load: RSS %s KiB, peak %s KiB\n' "$(rss_kib $S)" "$(hwm_kib $S)"
kill $S; wait $S 2>/dev/null
# --- serve app at --workers 1 and 2: req/s and the server's CPU per request (issue 15) --------------
REFERENCE_BENCH=$REF "$HERE/workers.sh" "$BIN"
# --- serve app: normal requests while 32 and 100 clients send 1 MiB requests (issue 16) ------------
D=$D "$HERE/fairness.sh" "$BIN"
echo "serve app    soak (30 min of mixed hostile load, fds and RSS every 10 s): make soak, Tests/Bench/soak.sh"
# --- serve app: memory given back after a burst of large requests whose answers nobody reads ------
P=$(free_port); "$BIN" serve app 127.0.0.1 "$P" -q --request-timeout 2 >/dev/null 2>&1 & S=$!; wait_port "$P"
python3 - "$P" <<'PY'
import json, socket, sys, time
port = int(sys.argv[1])
content = b'{"action": ["' + b"\x7f" * 1000000 + b'"]}'  # answered with 5 MB of escapes
header = json.dumps({"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8",
                     "content-length": len(content)}).encode()
clients = []
for _ in range(40):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port)); s.sendall(len(header).to_bytes(2, "big") + header + content); clients.append(s)
time.sleep(6)  # the server cuts them at --request-timeout 2, then gives memory back a second after idle
PY
printf 'serve app    40 unread 5 MB answers: peak RSS %s KiB, RSS once idle %s KiB\n' "$(hwm_kib $S)" "$(rss_kib $S)"
kill $S; wait $S 2>/dev/null

# --- 19,900 idle connections (this machine's descriptor limit is 20,000 a process), then fresh requests -----
# Held by four client processes from 127.0.0.2-5; epoll, where a fresh request costs what the ready
# descriptors cost, not the registered ones (poll()'s figure beside 10,000 is compare.sh's "hold").
for server in multi app; do
  REFERENCE_BENCH=$REF "$HERE/hold-many.sh" "$BIN" "$server" epoll
done

# --- start-up ------------------------------------------------------------------------------------
python3 - "$BIN" <<'PY'
import subprocess, sys, time, socket
binary = sys.argv[1]
best = min((lambda t0: (subprocess.run([binary, "--help"], capture_output=True), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(20))
print(f"--help                       {best * 1000:8.2f} ms (best of 20)")
times = []
for _ in range(10):
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "serve", "app", "127.0.0.1", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    times.append(time.perf_counter() - t0)
    p.terminate(); p.wait()
print(f"start to listening           {min(times) * 1000:8.2f} ms (best of 10)")
PY

# --- the reference: C poll() server under the C load generator, side by side --------------------
if [ -z "${SKIP_REFERENCE:-}" ] && [ -x "$REF/compare.sh" ]; then
  echo
  echo "compare.sh (sockettool vs the C poll() reference server, same C load generator):"
  D=$D "$REF/compare.sh" "$BIN" app echo echo16 hold
fi

# --- against the tools users pick instead: iperf3, the C load generator, the C server's CPU (own script) ---
echo
D=$D REFERENCE_BENCH=$REF "$HERE/peers.sh" "$BIN" ${SKIP_REFERENCE:+iperf}

if [ -n "${SKIP_REFERENCE:-}" ] || [ ! -x "$REF/compare.sh" ]; then
  echo
  echo "(no reference bench at $REF; set REFERENCE_BENCH to compare with the C poll() server)"
fi
