"""Watches for the tests' Kubernetes API server, as the real one serves them.

A change log: every 20 ms, when something changed (the revision moved or an object went away),
the objects are compared with those last seen, and each added, modified or deleted one becomes
an event carrying its resourceVersion (a deleted one gets a new revision, as on a real server).
The log keeps the last `keep` events; a watch from a resourceVersion older than that gets an
ERROR event with a 410 Expired Status, so the client lists again.

A watch (`GET ...?watch=1`) answers 200 with a chunked stream of JSON lines `{"type", "object"}`:
with no resourceVersion (or "0"), an ADDED event per object first; then every event after the
resourceVersion it starts from, filtered by namespace, labelSelector and fieldSelector; with
allowWatchBookmarks, a BOOKMARK every `bookmark_interval` seconds naming the revision the stream
is complete up to. It ends after timeoutSeconds (default 300), or when the client goes away.
"""
import collections
import copy
import json
import ssl
import threading
import time


class ChangeLog:
    def __init__(self, cluster, public, keep=10000, bookmark_interval=1.0):
        self.cluster = cluster
        self.public = public
        self.events = collections.deque()  # (revision, resource, namespace, type, object)
        self.keep = keep
        self.floor = cluster.revision  # a watch may start from this revision or later
        self.seen = {}  # (resource, namespace, name) -> (resourceVersion, object as last seen)
        self.complete_up_to = cluster.revision  # every change at or below it is in the log
        self.last_count = -1
        self.bookmark_interval = bookmark_interval
        self.changed = threading.Condition(cluster.lock)
        self.closings = 0  # /_test/watches/close ends every open watch (as an API server restart does)

    def run_forever(self):
        while True:
            time.sleep(0.02)
            with self.cluster.lock:
                self.scan()

    def scan(self):
        """Turns what changed since the last scan into events. The caller holds the lock."""
        cluster = self.cluster
        count = sum(len(table) for table in cluster.objects.values())
        if cluster.revision == self.complete_up_to and count == self.last_count:
            return
        found = []
        current = set()
        for resource, table in cluster.objects.items():
            for (namespace, name), obj in table.items():
                key = (resource, namespace, name)
                current.add(key)
                version = obj["metadata"].get("resourceVersion")
                before = self.seen.get(key)
                if before is not None and before[0] == version:
                    continue
                same_object = before is not None and before[1]["metadata"].get("uid") == obj["metadata"].get("uid")
                snapshot = self.public(obj)
                if before is not None and not same_object:
                    found.append((int(before[1]["metadata"]["resourceVersion"]), resource, namespace, "DELETED", before[1]))
                found.append((int(version), resource, namespace, "MODIFIED" if same_object else "ADDED", snapshot))
                self.seen[key] = (version, snapshot)
        for key in [k for k in self.seen if k not in current]:
            _, last = self.seen.pop(key)
            gone = copy.deepcopy(last)
            gone["metadata"]["resourceVersion"] = cluster.next_revision()
            found.append((int(gone["metadata"]["resourceVersion"]), key[0], key[1], "DELETED", gone))
        found.sort(key=lambda event: event[0])
        for event in found:
            self.events.append(event)
        while len(self.events) > self.keep:
            self.floor = self.events.popleft()[0]
        self.complete_up_to = cluster.revision
        self.last_count = count
        if found:
            self.changed.notify_all()


def serve_watch(handler, log, resource, namespace, query, matches, decorate):
    """Streams a watch to `handler`'s client; `matches(obj)` applies the selectors and
    `decorate(obj)` sets apiVersion and kind."""
    timeout = int(query.get("timeoutSeconds") or 300)
    bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
    given = query.get("resourceVersion") or "0"
    deadline = time.time() + timeout
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()

    def send(kind, obj):
        line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        handler.wfile.flush()

    def wanted(event):
        return event[1] == resource and (namespace is None or event[2] == namespace) and matches(event[4])

    try:
        with log.cluster.lock:
            log.scan()
            initial = []
            if given == "0":
                initial = [decorate(copy.deepcopy(obj)) for (r, ns, _), (_, obj) in sorted(log.seen.items())
                           if r == resource and (namespace is None or ns == namespace) and matches(obj)]
                position = log.complete_up_to
            elif not given.isdigit() or int(given) < log.floor:
                position = None
            else:
                position = int(given)
        if position is None:
            send("ERROR", {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": f"too old resource version: {given} ({log.floor})", "reason": "Expired", "code": 410})
            return finish(handler)
        for obj in initial:
            send("ADDED", obj)
        last_bookmark = time.time()
        closings = log.closings
        while time.time() < deadline and log.closings == closings:
            with log.cluster.lock:
                log.changed.wait(timeout=min(0.5, max(0.0, deadline - time.time())))
                pending = [e for e in log.events if e[0] > position and wanted(e)]
                complete = log.complete_up_to
            for event in pending:
                send(event[3], decorate(copy.deepcopy(event[4])))
                position = event[0]
            if bookmarks and time.time() - last_bookmark >= log.bookmark_interval:
                position = max(position, complete)
                send("BOOKMARK", decorate({"metadata": {"resourceVersion": str(position)}}))
                last_bookmark = time.time()
        finish(handler)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
        handler.close_connection = True


def close_all(log):
    """Ends every open watch (the caller holds the lock)."""
    log.closings += 1
    log.changed.notify_all()


def finish(handler):
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()
