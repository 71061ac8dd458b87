#!/usr/bin/env python3
"""fresh-request.py HOST PORT app|echo: one request on a new connection (the guide's morpheus search, or 16
echoed bytes); prints the microseconds from connect to the whole answer, nothing if it failed. A first,
untimed request warms Python up (its first socket calls load code and take milliseconds)."""
import json, socket, sys, time

host, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if kind == "app":
    content = json.dumps({"action": "search", "value": "morpheus"}, ensure_ascii=False).encode()
    header = json.dumps({"byteorder": sys.byteorder, "content-type": "text/json", "content-encoding": "utf-8",
                         "content-length": len(content)}, ensure_ascii=False).encode()
    request = len(header).to_bytes(2, "big") + header + content
else:
    request = b"hold-check-echo!"


def exchange():
    with socket.create_connection((host, port), timeout=15) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(request)
        answer = b""
        while True:
            if kind == "echo" and len(answer) >= len(request):
                break
            if kind == "app" and len(answer) >= 2:
                length = int.from_bytes(answer[:2], "big")
                if len(answer) >= 2 + length and len(answer) >= 2 + length + json.loads(answer[2:2 + length])["content-length"]:
                    break
            part = s.recv(65536)
            if not part:
                break
            answer += part
    return answer


exchange()
start = time.perf_counter_ns()
answer = exchange()
elapsed = (time.perf_counter_ns() - start) / 1000
ok = answer == request if kind == "echo" else b"Follow the white rabbit." in answer
if ok:
    print(f"{elapsed:.1f}")
