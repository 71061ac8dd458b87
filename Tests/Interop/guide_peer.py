#!/usr/bin/env python3
"""Independent Python peer for the socket guide's "app protocol".

This file is an independent re-implementation of the Python programs of the
Real Python guide "Socket Programming in Python" (app-server.py + libserver.py,
app-client.py + libclient.py and multiconn-client.py). It was written from
the app protocol's description (in this repository: docs/protocol.md, "The
app protocol, byte by byte") and the guide's code listings, not from any
Swift code, and the Swift interop tests of sockettool use it as the
reference peer to check byte-for-byte interoperability. Standard library only.

Subcommands (all output lines are flushed at once):

  server HOST PORT
      The guide's app server (selectors, non-blocking sockets, SO_REUSEADDR).
      PORT may be 0; the first line is "Listening on ('HOST', REALPORT)".
      One request per connection; the response is sent and the connection
      closed. SIGINT/SIGTERM: prints "Caught keyboard interrupt, exiting", exit 0.
  client HOST PORT ACTION VALUE
      The guide's app client. ACTION "binary" sends a binary request
      (content = ACTION + VALUE as UTF-8); any other action sends text/json
      {"action": ACTION, "value": VALUE}. After the guide's lines it prints
      "RAW-REQUEST <hex>" and, as the last line, "RAW-RESPONSE <hex>".
      Exit 0 if a whole response was received and parsed, else 1 (10 s limit).
  multiconn-client HOST PORT NUM_CONNS
      The guide's multi-connection echo client; last line "TOTAL-RECEIVED <n>".
      Exit 0 only if every connection got back exactly its messages (10 s limit).
  raw HOST PORT HEX
      Connect, send the bytes, shut down writing, read until EOF or 5 s, print
      "RAW-END EOF|RESET|TIMEOUT" and "RAW-RESPONSE <hex>"; exit 0 (1 if the
      connection or the send fails).
"""

import io
import json
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
import types

# Emoji must print even under a non-UTF-8 locale.
sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")
sys.stderr.reconfigure(encoding="utf-8", errors="backslashreplace")

TIMEOUT = 10.0  # seconds, overall limit of the clients

request_search = {
    "morpheus": "Follow the white rabbit. \U0001f430",
    "ring": "In the caves beneath the Misty Mountains. \U0001f48d",
    "\U0001f436": "\U0001f43e Playing ball! \U0001f3d0",
}


def out(*args):
    print(*args, flush=True)


def err(*args):
    print(*args, file=sys.stderr, flush=True)


def family_for(host):
    """The guide uses AF_INET; an IPv6 literal gets AF_INET6, and unix:PATH AF_UNIX, as conveniences."""
    if host.startswith("unix:"):
        return socket.AF_UNIX
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def address_for(host, port):
    """(host, port), or the path of unix:PATH (the port is then unused)."""
    return host[len("unix:"):] if host.startswith("unix:") else (host, port)


# ---------------------------------------------------------------- libserver/libclient


class MessageBase:
    """What libserver.Message and libclient.Message have in common."""

    def __init__(self, selector, sock, addr):
        self.selector = selector
        self.sock = sock
        self.addr = addr
        self._recv_buffer = b""
        self._send_buffer = b""
        self._jsonheader_len = None
        self.jsonheader = None
        self.content_done = False  # the guide tests `if self.request:` (spins on {})
        self.raw_sent = b""  # every byte sent and received, for RAW-* lines
        self.raw_received = b""

    def _set_selector_events_mask(self, mode):
        """Set selector to listen for events: mode is 'r', 'w', or 'rw'."""
        events = {"r": selectors.EVENT_READ, "w": selectors.EVENT_WRITE,
                  "rw": selectors.EVENT_READ | selectors.EVENT_WRITE}[mode]
        self.selector.modify(self.sock, events, data=self)

    def _read(self):
        try:
            data = self.sock.recv(4096)  # Should be ready to read
        except BlockingIOError:
            pass  # Resource temporarily unavailable (errno EWOULDBLOCK)
        else:
            if data:
                self._recv_buffer += data
                self.raw_received += data
            else:
                raise RuntimeError("Peer closed.")

    def _send(self):
        """Send what we can; return the number of bytes sent (None if EAGAIN)."""
        out(f"Sending {self._send_buffer!r} to {self.addr}")
        try:
            sent = self.sock.send(self._send_buffer)  # Should be ready to write
        except BlockingIOError:
            return None  # Resource temporarily unavailable (errno EWOULDBLOCK)
        self.raw_sent += self._send_buffer[:sent]
        self._send_buffer = self._send_buffer[sent:]
        return sent

    @staticmethod
    def _json_encode(obj, encoding):
        return json.dumps(obj, ensure_ascii=False).encode(encoding)

    @staticmethod
    def _json_decode(json_bytes, encoding):
        tiow = io.TextIOWrapper(io.BytesIO(json_bytes), encoding=encoding, newline="")
        obj = json.load(tiow)
        tiow.close()
        return obj

    def _create_message(self, *, content_bytes, content_type, content_encoding):
        jsonheader = {
            "byteorder": sys.byteorder,
            "content-type": content_type,
            "content-encoding": content_encoding,
            "content-length": len(content_bytes),
        }
        jsonheader_bytes = self._json_encode(jsonheader, "utf-8")
        message_hdr = struct.pack(">H", len(jsonheader_bytes))
        return message_hdr + jsonheader_bytes + content_bytes

    def read(self):
        """Both versions; process_content() is process_request()/process_response()."""
        self._read()
        if self._jsonheader_len is None:
            self.process_protoheader()
        if self._jsonheader_len is not None and self.jsonheader is None:
            self.process_jsonheader()
        if self.jsonheader and not self.content_done:
            self.process_content()

    def process_events(self, mask):
        if mask & selectors.EVENT_READ:
            self.read()
        if mask & selectors.EVENT_WRITE and self.sock is not None:
            self.write()

    def process_protoheader(self):
        hdrlen = 2
        if len(self._recv_buffer) >= hdrlen:
            self._jsonheader_len = struct.unpack(">H", self._recv_buffer[:hdrlen])[0]
            self._recv_buffer = self._recv_buffer[hdrlen:]

    def process_jsonheader(self):
        hdrlen = self._jsonheader_len
        if len(self._recv_buffer) >= hdrlen:
            self.jsonheader = self._json_decode(self._recv_buffer[:hdrlen], "utf-8")
            self._recv_buffer = self._recv_buffer[hdrlen:]
            for reqhdr in ("byteorder", "content-length", "content-type", "content-encoding"):
                if reqhdr not in self.jsonheader:
                    raise ValueError(f"Missing required header '{reqhdr}'.")

    def take_content(self):
        """The content once all content-length bytes are here, else None."""
        content_len = self.jsonheader["content-length"]
        if not len(self._recv_buffer) >= content_len:
            return None
        data = self._recv_buffer[:content_len]
        self._recv_buffer = self._recv_buffer[content_len:]
        return data

    def close(self):
        out(f"Closing connection to {self.addr}")
        try:
            self.selector.unregister(self.sock)
        except Exception as e:
            out(f"Error: selector.unregister() exception for {self.addr}: {e!r}")
        try:
            self.sock.close()
        except OSError as e:
            out(f"Error: socket.close() exception for {self.addr}: {e!r}")
        finally:
            self.sock = None  # Delete reference to socket object for garbage collection


class ServerMessage(MessageBase):
    """libserver.Message: read one request, send one response, close."""

    def __init__(self, selector, sock, addr):
        super().__init__(selector, sock, addr)
        self.request = None
        self.response_created = False

    def write(self):
        if self.content_done and not self.response_created:
            self.create_response()
        if self._send_buffer:
            sent = self._send()
            # Close when the buffer is drained. The response has been sent.
            if sent and not self._send_buffer:
                self.close()

    def process_content(self):  # process_request()
        data = self.take_content()
        if data is None:
            return
        if self.jsonheader["content-type"] == "text/json":
            self.request = self._json_decode(data, self.jsonheader["content-encoding"])
            out(f"Received request {self.request!r} from {self.addr}")
        else:
            # Binary or unknown content-type
            self.request = data
            out(f"Received {self.jsonheader['content-type']} request from {self.addr}")
        self.content_done = True
        # Set selector to listen for write events, we're done reading.
        self._set_selector_events_mask("w")

    def create_response(self):
        if self.jsonheader["content-type"] == "text/json":
            action = self.request.get("action")
            if action == "search":
                query = self.request.get("value")
                answer = request_search.get(query) or f"No match for '{query}'."
                content = {"result": answer}
            else:
                content = {"result": f"Error: invalid action '{action}'."}
            response = {"content_bytes": self._json_encode(content, "utf-8"),
                        "content_type": "text/json", "content_encoding": "utf-8"}
        else:
            # Binary or unknown content-type
            response = {"content_bytes": b"First 10 bytes of request: " + self.request[:10],
                        "content_type": "binary/custom-server-binary-type",
                        "content_encoding": "binary"}
        self._send_buffer += self._create_message(**response)
        self.response_created = True


class ClientMessage(MessageBase):
    """libclient.Message, plus a record of the raw bytes sent and received."""

    def __init__(self, selector, sock, addr, request):
        super().__init__(selector, sock, addr)
        self.request = request
        self.response = None
        self._request_queued = False

    def raw_response(self):
        """The response message bytes: prefix, JSON header and content."""
        if self.content_done:
            n = 2 + self._jsonheader_len + self.jsonheader["content-length"]
            return self.raw_received[:n]
        return self.raw_received

    def write(self):
        if not self._request_queued:
            self.queue_request()
        if self._send_buffer:
            self._send()
        if self._request_queued and not self._send_buffer:
            # Set selector to listen for read events, we're done writing.
            self._set_selector_events_mask("r")

    def queue_request(self):
        content, content_type = self.request["content"], self.request["type"]
        content_encoding = self.request["encoding"]
        if content_type == "text/json":
            content_bytes = self._json_encode(content, content_encoding)
        else:
            content_bytes = content
        self._send_buffer += self._create_message(content_bytes=content_bytes,
                                                  content_type=content_type,
                                                  content_encoding=content_encoding)
        self._request_queued = True

    def process_content(self):  # process_response()
        data = self.take_content()
        if data is None:
            return
        if self.jsonheader["content-type"] == "text/json":
            self.response = self._json_decode(data, self.jsonheader["content-encoding"])
            out(f"Received response {self.response!r} from {self.addr}")
            out(f"Got result: {self.response.get('result')}")
        else:
            # Binary or unknown content-type
            self.response = data
            out(f"Received {self.jsonheader['content-type']} response from {self.addr}")
            out(f"Got response: {self.response!r}")
        self.content_done = True
        # Close when response has been processed
        self.close()


# ---------------------------------------------------------------- the programs


def raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def run_server(host, port):
    """app-server.py"""
    # SIGINT too: a shell's "cmd &" starts Python with SIGINT ignored.
    signal.signal(signal.SIGINT, raise_keyboard_interrupt)
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    sel = selectors.DefaultSelector()
    lsock = socket.socket(family_for(host), socket.SOCK_STREAM)
    # Avoid bind() exception: OSError: [Errno 48] Address already in use
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(address_for(host, port))
    lsock.listen()
    if family_for(host) == socket.AF_UNIX:
        out(f"Listening on {lsock.getsockname()}")
    else:
        out(f"Listening on {(host, lsock.getsockname()[1])}")
    lsock.setblocking(False)
    sel.register(lsock, selectors.EVENT_READ, data=None)
    try:
        while True:
            for key, mask in sel.select(timeout=None):
                if key.data is None:
                    try:
                        conn, addr = key.fileobj.accept()  # Should be ready to read
                    except (BlockingIOError, ConnectionAbortedError):
                        continue
                    out(f"Accepted connection from {addr}")
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, data=ServerMessage(sel, conn, addr))
                else:
                    message = key.data
                    try:
                        message.process_events(mask)
                    except Exception:
                        out(f"Main: Error: Exception for {message.addr}:\n"
                            f"{traceback.format_exc()}")
                        message.close()
    except KeyboardInterrupt:
        out("Caught keyboard interrupt, exiting")
    finally:
        sel.close()
    return 0


def create_request(action, value):
    """app-client.py's create_request (see the module docstring for the action rule)."""
    if action != "binary":
        return dict(type="text/json", encoding="utf-8",
                    content=dict(action=action, value=value))
    return dict(type="binary/custom-client-binary-type", encoding="binary",
                content=bytes(action + value, encoding="utf-8"))


def run_client(host, port, action, value):
    """app-client.py"""
    sel = selectors.DefaultSelector()
    addr = address_for(host, port)
    out(f"Starting connection to {addr}")
    sock = socket.socket(family_for(host), socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.connect_ex(addr)
    message = ClientMessage(sel, sock, addr, create_request(action, value))
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, data=message)
    deadline = time.monotonic() + TIMEOUT
    error = None
    try:
        while sel.get_map():  # Check for a socket being monitored to continue.
            if time.monotonic() > deadline:
                error = f"timed out after {TIMEOUT:g} s"
                message.close()
                break
            for key, mask in sel.select(timeout=1):
                try:
                    message.process_events(mask)
                except Exception as e:
                    out(f"Main: Error: Exception for {message.addr}:\n"
                        f"{traceback.format_exc()}")
                    error = repr(e)
                    message.close()
    except KeyboardInterrupt:
        out("Caught keyboard interrupt, exiting")
        error = "interrupted"
    finally:
        sel.close()
    out(f"RAW-REQUEST {message.raw_sent.hex()}")
    out(f"RAW-RESPONSE {message.raw_response().hex()}")
    if message.content_done and error is None:
        return 0
    err(f"error: no complete response from {addr}: {error or 'connection closed'}")
    return 1


def run_multiconn_client(host, port, num_conns):
    """multiconn-client.py, with a check that every echo came back whole."""
    sel = selectors.DefaultSelector()
    messages = [b"Message 1 from client.", b"Message 2 from client."]
    server_addr = (host, port)
    conns = []
    for i in range(0, num_conns):
        connid = i + 1
        out(f"Starting connection {connid} to {server_addr}")
        sock = socket.socket(family_for(host), socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex(server_addr)
        data = types.SimpleNamespace(connid=connid, msg_total=sum(len(m) for m in messages),
                                     recv_total=0, messages=messages.copy(), outb=b"",
                                     received=b"", error=None)
        conns.append(data)
        sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, data=data)

    def close(sock, data):
        out(f"Closing connection {data.connid}")
        sel.unregister(sock)
        sock.close()

    def service_connection(key, mask):
        sock, data = key.fileobj, key.data
        if mask & selectors.EVENT_READ:
            recv_data = sock.recv(1024)  # Should be ready to read
            if recv_data:
                out(f"Received {recv_data!r} from connection {data.connid}")
                data.recv_total += len(recv_data)
                data.received += recv_data
            if not recv_data or data.recv_total == data.msg_total:
                close(sock, data)
                return
        if mask & selectors.EVENT_WRITE:
            if not data.outb and data.messages:
                data.outb = data.messages.pop(0)
            if data.outb:
                out(f"Sending {data.outb!r} to connection {data.connid}")
                sent = sock.send(data.outb)  # Should be ready to write
                data.outb = data.outb[sent:]
            if not data.outb and not data.messages:
                sel.modify(sock, selectors.EVENT_READ, data=data)  # all sent: no busy loop

    deadline = time.monotonic() + TIMEOUT
    timed_out = False
    try:
        while sel.get_map():  # Check for a socket being monitored to continue.
            if time.monotonic() > deadline:
                timed_out = True
                for key in list(sel.get_map().values()):
                    key.data.error = f"timed out after {TIMEOUT:g} s"
                    close(key.fileobj, key.data)
                break
            for key, mask in sel.select(timeout=1):
                try:
                    service_connection(key, mask)
                except OSError as e:
                    key.data.error = repr(e)
                    close(key.fileobj, key.data)
    except KeyboardInterrupt:
        out("Caught keyboard interrupt, exiting")
        timed_out = True
    finally:
        sel.close()
    expected = b"".join(messages)
    ok = not timed_out
    for data in conns:
        if data.error or data.received != expected:
            ok = False
            err(f"error: connection {data.connid}: received {data.received!r}"
                f" ({data.recv_total} of {data.msg_total} bytes)"
                + (f": {data.error}" if data.error else ""))
    out(f"TOTAL-RECEIVED {sum(d.recv_total for d in conns)}")
    return 0 if ok else 1


def run_raw(host, port, payload, limit=5.0):
    """Send raw bytes, half-close, and show everything the peer sends back."""
    try:
        sock = socket.create_connection((host, port), timeout=limit)
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        err(f"error: {(host, port)}: {e!r}")
        return 1
    received, end, deadline = b"", "EOF", time.monotonic() + limit
    with sock:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                end = "TIMEOUT"
                break
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                end = "TIMEOUT"
                break
            except ConnectionResetError as e:
                err(f"note: {(host, port)}: {e!r} after {len(received)} bytes")
                end = "RESET"
                break
            if not chunk:
                break
            received += chunk
    out(f"RAW-END {end}")
    out(f"RAW-RESPONSE {received.hex()}")
    return 0


def main(argv):
    usage = {"server": "HOST PORT", "client": "HOST PORT ACTION VALUE",
             "multiconn-client": "HOST PORT NUM_CONNS", "raw": "HOST PORT HEX"}
    cmd = argv[1] if len(argv) > 1 else None
    if cmd not in usage or len(argv) != 2 + len(usage[cmd].split()):
        err("Usage:\n" + "\n".join(f"  {argv[0]} {c} {a}" for c, a in usage.items()))
        return 2
    host, port = argv[2], int(argv[3])
    if cmd == "server":
        return run_server(host, port)
    if cmd == "client":
        return run_client(host, port, argv[4], argv[5])
    if cmd == "multiconn-client":
        return run_multiconn_client(host, port, int(argv[4]))
    return run_raw(host, port, bytes.fromhex(argv[4]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
