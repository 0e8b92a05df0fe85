"""What the tests' API servers share: certificates made with openssl, and serving HTTPS on a free
loopback port with the URL written to a file once ready."""
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import traceback
from http.server import ThreadingHTTPServer


def make_certificates(directory, names="IP:127.0.0.1,DNS:localhost"):
    """A CA and a serving certificate for `names` (subjectAltName entries), made with openssl."""
    def run(*arguments):
        subprocess.run(["openssl", *arguments], check=True, capture_output=True)

    ca_key, ca, key, csr, cert = (os.path.join(directory, n) for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=runway-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=runway-test-server")
    extensions = os.path.join(directory, "server.ext")
    with open(extensions, "w") as f:
        f.write(f"subjectAltName={names}\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", extensions)
    return ca, cert, key, ca_key


class TestHTTPServer(ThreadingHTTPServer):
    """A thread per connection, and a listen queue for the tests' bursts of connections (the
    standard library's is 5: the kernel dropped connections past it, and a client waited
    seconds for its SYN to be sent again)."""
    daemon_threads = True
    request_queue_size = 1024


def serve_tls(handler, state, port=0, client_ca=True, names="IP:127.0.0.1,DNS:localhost"):
    """An HTTPS server for `handler` on 127.0.0.1 (a free port unless given), with a fresh CA in
    `state`; when `client_ca`, a client certificate signed by that CA is asked for (optional).
    Returns (server, url, ca path)."""
    ca, cert, key, _ = make_certificates(state, names)
    server = TestHTTPServer(("127.0.0.1", port), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca:
        context.load_verify_locations(ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    # The handshake happens in the connection's own thread, at its first read: done on accept,
    # one slow client held up every other connection while the listen queue overflowed.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server, f"https://127.0.0.1:{server.server_address[1]}", ca


def add_fault(faults, body):
    """A fault from a /_test/faults body, applied to `count` (default 1) matching requests."""
    fault = json.loads(body)
    fault.setdefault("count", 1)
    faults.append(fault)
    return {"faults": len(faults)}


def requests_in(log, namespace):
    """The request log, or its part in `namespace`."""
    return {"requests": [r for r in log if namespace is None or r.get("namespace") == namespace]}


def announce(state, url):
    """Writes `url` to state/url atomically: the test command waits for that file."""
    with open(os.path.join(state, "url.tmp"), "w") as f:
        f.write(url)
    os.rename(os.path.join(state, "url.tmp"), os.path.join(state, "url"))


def run(server, state, url, control_loop, shutdown):
    """Runs `control_loop` on a thread and serves until SIGTERM or SIGINT, which call `shutdown`
    (it stops what the server started) and exit; announces `url` once ready."""
    def stop(*_):
        shutdown()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=control_loop, daemon=True).start()
    announce(state, url)
    server.serve_forever()


def control_loop(lock, step, name):
    """Runs `step` with `lock` held every 50 ms, for ever: a test server's controllers and node.
    An error is printed and the loop goes on (the tests see its symptom)."""
    while True:
        time.sleep(0.05)
        try:
            with lock:
                step()
        except Exception:
            print(f"{name}: control loop:", traceback.format_exc(), file=sys.stderr, flush=True)
