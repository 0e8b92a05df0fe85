#!/usr/bin/env python3
"""A fault-injecting proxy in front of an HTTP server, for the tests: a Docker engine's unix
socket, or a TCP server (moto's ECS).

Requests to the proxy go to the server unchanged (one upstream connection per
request, `Connection: close`, the answer relayed byte for byte, streams included), except those
a fault matches. Faults are added with `POST /_test/faults` (JSON), each applied to `count`
(default 1) requests whose method and path (a regular expression searched in the path, which
carries the API version: `/v1.41/images/create`) match:

- `{"kind": "reset"}`: the connection is closed at once with a TCP-style reset, nothing sent.
- `{"kind": "status", "status": 500}`: an error answer with a Docker-style JSON message.
- `{"kind": "delay", "delay": 3}`: the request waits that many seconds, then goes through.
- `{"kind": "stall", "stall": 60}`: a 200 head and a chunked body that never sends a chunk,
  held for that many seconds (a stalled image pull), then the connection is closed.

A fault with `"chance": 0.3` is taken by a matching request only that often (the others go
through, or to the next fault), so faults spread over the run as a flaky platform's do instead
of making one outage of consecutive requests; `--seed N` makes the draws repeatable.

`GET /_test/injected` answers how many faults of each kind were injected; `DELETE /_test/faults`
drops the faults left. Run: fault_proxy.py --listen SOCKET --upstream SOCKET (unix sockets; it
writes SOCKET.ready once it listens) or --listen-tcp READY-FILE --upstream-tcp HOST:PORT (it
listens on a free loopback port and writes http://127.0.0.1:PORT to READY-FILE); it stops on
SIGTERM or SIGINT.
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import socketserver
import struct
import threading
import time

lock = threading.Lock()
faults = []
injected = {"reset": 0, "status": 0, "delay": 0, "stall": 0}
draws = random.Random()


def read_request(stream):
    """(method, path, raw head bytes, body bytes) of the next request, or None at EOF."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = stream.recv(65536)
        if not chunk:
            return None
        head += chunk
    head, rest = head.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rest
    if "content-length" in headers:
        length = int(headers["content-length"])
        while len(body) < length:
            chunk = stream.recv(65536)
            if not chunk:
                break
            body += chunk
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while not body.endswith(b"0\r\n\r\n"):
            chunk = stream.recv(65536)
            if not chunk:
                break
            body += chunk
    return method, path, lines, body


def take_fault(method, path):
    with lock:
        for fault in faults:
            if fault["count"] <= 0:
                continue
            if fault.get("method") and fault["method"] != method:
                continue
            if fault.get("path") and not re.search(fault["path"], path):
                continue
            if draws.random() >= fault.get("chance", 1):
                continue
            fault["count"] -= 1
            injected[fault["kind"]] += 1
            return fault
    return None


def answer(stream, status, payload):
    body = json.dumps(payload).encode()
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Error")
    stream.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                   f"Connection: close\r\n\r\n".encode() + body)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        request = read_request(self.request)
        if request is None:
            return
        method, path, lines, body = request
        if path.startswith("/_test/"):
            return self.control(method, path, body)
        fault = take_fault(method, path)
        if fault is not None:
            kind = fault["kind"]
            if kind == "reset":
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if kind == "status":
                return answer(self.request, fault.get("status", 500), {"message": "injected fault"})
            if kind == "stall":
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                time.sleep(fault.get("stall", 60))
                return
            if kind == "delay":
                time.sleep(fault.get("delay", 1))
        self.forward(lines, body)

    def forward(self, lines, body):
        kept = [line for line in lines[1:] if line.split(":", 1)[0].strip().lower() != "connection"]
        head = "\r\n".join([lines[0]] + kept + ["Connection: close"]).encode("latin-1") + b"\r\n\r\n"
        upstream = socket.socket(socket.AF_UNIX if isinstance(self.server.upstream, str) else socket.AF_INET, socket.SOCK_STREAM)
        try:
            upstream.connect(self.server.upstream)
            upstream.sendall(head + body)
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                self.request.sendall(chunk)
        except OSError:
            pass
        finally:
            upstream.close()

    def control(self, method, path, body):
        with lock:
            if path == "/_test/faults" and method == "POST":
                fault = json.loads(body)
                fault.setdefault("count", 1)
                if fault.get("kind") not in injected:
                    return answer(self.request, 400, {"message": f"unknown fault kind {fault.get('kind')!r}"})
                faults.append(fault)
                return answer(self.request, 200, {"faults": len(faults)})
            if path == "/_test/faults" and method == "DELETE":
                faults.clear()
                return answer(self.request, 200, {"faults": 0})
            if path == "/_test/injected" and method == "GET":
                return answer(self.request, 200, dict(injected))
        return answer(self.request, 404, {"message": "no such test control"})


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen")
    parser.add_argument("--upstream")
    parser.add_argument("--listen-tcp", metavar="READY-FILE")
    parser.add_argument("--upstream-tcp", metavar="HOST:PORT")
    parser.add_argument("--seed", type=int)
    arguments = parser.parse_args()
    if arguments.seed is not None:
        draws.seed(arguments.seed)
    if arguments.listen:
        if os.path.exists(arguments.listen):
            os.unlink(arguments.listen)
        server = UnixServer(arguments.listen, Handler)
        server.upstream = arguments.upstream
        ready, announce = arguments.listen + ".ready", str(os.getpid())
    else:
        host, port = arguments.upstream_tcp.rsplit(":", 1)
        server = TCPServer(("127.0.0.1", 0), Handler)
        server.upstream = (host, int(port))
        ready, announce = arguments.listen_tcp, f"http://127.0.0.1:{server.server_address[1]}"

    def stop(*_):
        if arguments.listen:
            os.unlink(arguments.listen)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(ready + ".tmp", "w") as f:
        f.write(announce)
    os.rename(ready + ".tmp", ready)
    server.serve_forever()


if __name__ == "__main__":
    main()
