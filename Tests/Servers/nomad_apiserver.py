#!/usr/bin/env python3
"""The tests' Nomad: an HTTP API server on 127.0.0.1 implementing what Runway uses of Nomad's
documented API, and playing the scheduler and one client node.

- `PUT/POST /v1/jobs` (register; `EnforceIndex` with `JobModifyIndex`), `GET /v1/jobs`
  (`prefix`, `namespace` (`*` for all), `per_page`, `next_token` with `X-Nomad-NextToken`,
  `meta`), `GET /v1/job/:id`, `GET /v1/job/:id/allocations`, `GET /v1/job/:id/evaluations`,
  `DELETE /v1/job/:id` (`purge`), `GET/POST /v1/namespace(s)`, `GET /v1/agent/self`.
- Regions and namespaces: every request is answered in its `region` (default `global`; an
  unknown one is "No path to region") and `namespace` (default `default`; an unknown one is
  refused). Jobs live per region and namespace.
- ACLs: `X-Nomad-Token` must be a known secret; tokens other than the management one carry
  namespace capabilities (`list-jobs`, `read-job`, `submit-job`). Otherwise 403 "Permission
  denied" (or "ACL token not found"), as Nomad answers.
- Job JSON is checked against the documented job specification for the fields Runway uses:
  wrong JSON types fail decoding (400, "Failed to decode request body"), missing required fields
  and bad values fail validation (500, "N error(s) occurred"), as Nomad's register does; unknown
  keys are refused too (stricter than Nomad, which drops them, to catch mistakes).
- The scheduler places a group's allocation on the node (datacenter `dc1`, `node.class` "ci",
  `attr.kernel.name` "linux") when its datacenters and constraints allow, else the evaluation
  is blocked with its FailedTGAllocs. The client (nomad_client.py) runs the prestart tasks, then
  the main task, sharing an allocation directory: `raw_exec`/`exec` run `Config.command` with
  `Config.args`; `docker` runs the image's command from --images (an unknown image is a "Driver
  Failure"), with the task's `Env`. Allocations go pending →
  running → complete/failed with task events (Received, Task Setup, Started, Terminated with
  its ExitCode, Driver Failure, Killing, Killed). A deregistered job's tasks get `KillSignal`,
  then SIGKILL after `KillTimeout`.
- Test controls under /_test/ (management token only): faults (status codes with Retry-After,
  delays before handling or after it), tokens, the request log.

Run: nomad_apiserver.py --state DIR [--images images.json] [--regions global,eu]. It serves
HTTPS with a fresh CA (DIR/ca.crt) and a certificate for `server.global.nomad` and `localhost`
(not the IP, as Nomad's own), writes the management token to DIR/token and the URL to DIR/url.
"""
import argparse
import json
import os
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

from nomad_client import NODE, Client
from testserver import add_fault, requests_in, run, serve_tls



class NomadError(Exception):
    def __init__(self, code, text, headers=None):
        super().__init__(text)
        self.code, self.text, self.headers = code, text, headers or {}


def now_ns():
    return time.time_ns()


# MARK: - The job specification, as far as Runway uses it

STRING, INT, BOOL = "string", "int", "bool"
CONSTRAINT = {"LTarget": STRING, "RTarget": STRING, "Operand": STRING}
TEMPLATE = {"SourcePath": STRING, "DestPath": STRING, "EmbeddedTmpl": STRING, "ChangeMode": STRING, "ChangeSignal": STRING,
            "Splay": INT, "Perms": STRING, "LeftDelim": STRING, "RightDelim": STRING, "Envvars": BOOL, "VaultGrace": INT}
TASK = {"Name": STRING, "Driver": STRING, "Config": "object", "Env": {"*": STRING}, "Meta": {"*": STRING}, "User": STRING,
        "Resources": {"CPU": INT, "MemoryMB": INT, "MemoryMaxMB": INT, "Cores": INT}, "KillTimeout": INT, "KillSignal": STRING,
        "Constraints": [CONSTRAINT], "Templates": [TEMPLATE], "Lifecycle": {"Hook": STRING, "Sidecar": BOOL}}
GROUP = {"Name": STRING, "Count": INT, "Meta": {"*": STRING}, "Constraints": [CONSTRAINT], "Tasks": [TASK],
         "RestartPolicy": {"Attempts": INT, "Interval": INT, "Delay": INT, "Mode": STRING, "RenderTemplates": BOOL},
         "ReschedulePolicy": {"Attempts": INT, "Interval": INT, "Delay": INT, "DelayFunction": STRING, "MaxDelay": INT, "Unlimited": BOOL}}
JOB = {"ID": STRING, "Name": STRING, "Type": STRING, "Region": STRING, "Namespace": STRING, "Datacenters": [STRING], "Priority": INT,
       "Meta": {"*": STRING}, "Constraints": [CONSTRAINT], "TaskGroups": [GROUP], "AllAtOnce": BOOL, "NodePool": STRING}
GO_TYPES = {STRING: "string", INT: "int", BOOL: "bool"}


def decode(value, shape, path, unknown):
    """Raises NomadError(400) for a JSON type Nomad's decoder would refuse; collects unknown keys."""
    if value is None:
        return
    if isinstance(shape, str):
        ok = {STRING: isinstance(value, str), INT: isinstance(value, int) and not isinstance(value, bool),
              BOOL: isinstance(value, bool), "object": isinstance(value, dict)}[shape]
        if not ok:
            kind = type(value).__name__.replace("str", "string").replace("dict", "object").replace("list", "array")
            raise NomadError(400, f"Failed to decode request body: json: cannot unmarshal {kind} into Go struct field {path} of type {GO_TYPES.get(shape, 'map')}")
    elif isinstance(shape, list):
        if not isinstance(value, list):
            raise NomadError(400, f"Failed to decode request body: json: cannot unmarshal {type(value).__name__} into Go struct field {path} of type []")
        for index, item in enumerate(value):
            decode(item, shape[0], path, unknown)
    else:
        if not isinstance(value, dict):
            raise NomadError(400, f"Failed to decode request body: json: cannot unmarshal {type(value).__name__} into Go struct field {path} of type struct")
        for key, item in value.items():
            if "*" in shape:
                decode(item, shape["*"], f"{path}.{key}", unknown)
            elif key in shape:
                decode(item, shape[key], f"{path}.{key}", unknown)
            else:
                unknown.append(f"{path}.{key}")


def validate(job):
    """Nomad's own validation of a decoded job: the messages `nomad job run` shows."""
    errors = []
    if not job.get("ID"):
        errors.append("Missing job ID")
    elif " " in job["ID"]:
        errors.append("Job ID contains a space")
    if job.get("Type", "service") not in ("service", "batch", "system", "sysbatch"):
        errors.append(f'Invalid job type: "{job.get("Type")}"')
    if not 1 <= job.get("Priority", 50) <= 100:
        errors.append("Job priority must be between [1, 100]")
    if not job.get("TaskGroups"):
        errors.append("Missing job task groups")
    for constraint in job.get("Constraints") or []:
        if constraint.get("Operand", "=") not in ("=", "==", "is", "!=", "not", "<", "<=", ">", ">=", "regexp", "set_contains",
                                                   "set_contains_any", "version", "semver", "is_set", "is_not_set", "distinct_hosts", "distinct_property"):
            errors.append(f'Unknown constraint type "{constraint.get("Operand")}"')
    for group in job.get("TaskGroups") or []:
        problems = []
        if not group.get("Name"):
            problems.append("Missing task group name")
        if group.get("Count", 1) < 0:
            problems.append("Task group count can't be negative")
        if not group.get("Tasks"):
            problems.append("Missing tasks for task group")
        mode = (group.get("RestartPolicy") or {}).get("Mode", "fail")
        if mode not in ("delay", "fail"):
            problems.append(f'Unsupported restart mode: "{mode}"')
        for task in group.get("Tasks") or []:
            task_problems = []
            if not task.get("Name"):
                task_problems.append("Missing task name")
            if not task.get("Driver"):
                task_problems.append("Missing task driver")
            resources = task.get("Resources") or {}
            if resources.get("CPU", 100) < 1 and not resources.get("Cores"):
                task_problems.append("Minimum CPU value is 1")
            if resources.get("MemoryMB", 300) < 10:
                task_problems.append("Minimum MemoryMB value is 10; got %d" % resources.get("MemoryMB"))
            for index, template in enumerate(task.get("Templates") or []):
                # Nomad's Template.Validate.
                if not template.get("SourcePath") and not template.get("EmbeddedTmpl"):
                    task_problems.append(f"Template {index + 1} validation failed: Must specify a source path or have an embedded template")
                destination = template.get("DestPath") or ""
                if not destination:
                    task_problems.append(f"Template {index + 1} validation failed: Must specify a destination for the template")
                elif destination.startswith("/") or ".." in destination.split("/"):
                    task_problems.append(f"Template {index + 1} validation failed: destination escapes allocation directory")
                if template.get("ChangeMode", "restart") not in ("noop", "restart", "signal", "script"):
                    task_problems.append(f"Template {index + 1} validation failed: Invalid change mode ({template.get('ChangeMode')})")
            lifecycle = task.get("Lifecycle")
            if lifecycle and lifecycle.get("Hook") not in ("prestart", "poststart", "poststop"):
                task_problems.append(f'invalid hook: {lifecycle.get("Hook")}')  # Nomad's TaskLifecycleConfig.Validate
            if task_problems:
                problems.append(f'Task {task.get("Name", "")} validation failed: ' + "; ".join(task_problems))
        if group.get("Tasks") and all(task.get("Lifecycle") for task in group["Tasks"]):
            problems.append("Task group must have at least one main task")  # a group of lifecycle hooks only
        if problems:
            errors.append(f'Task group {group.get("Name", "")} validation failed: ' + "; ".join(problems))
    return errors


# MARK: - The cluster

class Cluster(Client):
    def __init__(self, regions, images, logs):
        self.lock = threading.RLock()
        self.regions = set(regions)
        self.namespaces = {"default"}
        self.jobs = {}  # (region, namespace, id) → job
        self.allocations = {}  # alloc id → alloc (with private "_key", "_process", "_kill_at")
        self.evaluations = {}  # (region, namespace, id) → [eval]
        self.index = 100
        self.images = images
        self.logs = logs
        self.tokens = {}  # secret → {"name", "policies": {namespace: [capabilities]}} (None: management)
        self.faults = []
        self.log = []

    def next_index(self):
        self.index += 1
        return self.index

    def place(self, job, group):
        """FailedTGAllocs for a group the node cannot take, else None."""
        datacenters = job.get("Datacenters") or ["*"]
        if not any(dc in ("*", NODE["Datacenter"]) for dc in datacenters):
            return {"NodesEvaluated": 0, "NodesFiltered": 0, "NodesAvailable": {}, "ClassFiltered": None, "ConstraintFiltered": None,
                    "NodesExhausted": 0, "QuotaExhausted": None, "CoalescedFailures": 0, "DimensionExhausted": None}
        for constraint in (job.get("Constraints") or []) + (group.get("Constraints") or []):
            left, right, operand = constraint.get("LTarget", ""), constraint.get("RTarget", ""), constraint.get("Operand", "=")
            value = NODE["attrs"].get(left)
            satisfied = (value == right) if operand in ("=", "==", "is") else (value != right) if operand in ("!=", "not") else True
            if not satisfied:
                return {"NodesEvaluated": 1, "NodesFiltered": 1, "NodesAvailable": {"dc1": 1}, "ClassFiltered": None,
                        "ConstraintFiltered": {f"{left} {operand} {right}": 1}, "NodesExhausted": 0, "QuotaExhausted": None,
                        "CoalescedFailures": 0, "DimensionExhausted": None}
        return None

    def register(self, key, job):
        region, namespace, job_id = key
        existing = self.jobs.get(key)
        index = self.next_index()
        job.update(Region=region, Namespace=namespace, Status="pending", StatusDescription="", Stop=False, Version=0,
                   CreateIndex=existing["CreateIndex"] if existing else index, ModifyIndex=index, JobModifyIndex=index,
                   SubmitTime=now_ns(), Stable=False)
        job.setdefault("Name", job_id)
        job.setdefault("Priority", 50)
        job.setdefault("Datacenters", ["*"])
        self.jobs[key] = job
        evaluation = {"ID": str(uuid.uuid4()), "Namespace": namespace, "JobID": job_id, "Type": job.get("Type", "service"),
                      "TriggeredBy": "job-register", "Status": "complete", "StatusDescription": "", "FailedTGAllocs": None,
                      "CreateIndex": index, "ModifyIndex": index, "CreateTime": now_ns(), "ModifyTime": now_ns()}
        blocked = {}
        for group in job["TaskGroups"]:
            failure = self.place(job, group)
            if failure:
                blocked[group["Name"]] = failure
                continue
            for number in range(group.get("Count", 1)):
                alloc_id = str(uuid.uuid4())
                self.allocations[alloc_id] = {
                    "_key": key, "_group": group, "ID": alloc_id, "EvalID": evaluation["ID"], "Name": f"{job_id}.{group['Name']}[{number}]",
                    "Namespace": namespace, "NodeID": NODE["ID"], "NodeName": NODE["Name"], "JobID": job_id, "JobType": job.get("Type"),
                    "JobVersion": 0, "TaskGroup": group["Name"], "DesiredStatus": "run", "DesiredDescription": "", "ClientStatus": "pending",
                    "ClientDescription": "No tasks have started", "TaskStates": {task["Name"]: {
                        "State": "pending", "Failed": False, "Restarts": 0, "StartedAt": None, "FinishedAt": None,
                        "Events": [self.event("Received", "Task received by client")]} for task in group["Tasks"]},
                    "CreateIndex": index, "ModifyIndex": index, "CreateTime": now_ns(), "ModifyTime": now_ns()}
        if blocked:
            evaluation.update(FailedTGAllocs=blocked, BlockedEval=str(uuid.uuid4()))
            self.evaluations.setdefault(key, []).append({**evaluation, "ID": evaluation["BlockedEval"], "Status": "blocked",
                                                          "StatusDescription": "created to place remaining allocations", "TriggeredBy": "queued-allocs"})
        self.evaluations.setdefault(key, []).append(evaluation)
        return evaluation, index

    @staticmethod
    def event(kind, message, **fields):
        return {"Type": kind, "Time": now_ns(), "DisplayMessage": message, "Details": {}, "ExitCode": 0, "Signal": 0,
                "DriverError": "", "KillTimeout": 0, "Message": "", **fields}

    def deregister(self, key, purge):
        job = self.jobs.get(key)
        if job is None:
            raise NomadError(404, "job not found")
        index = self.next_index()
        for alloc in self.allocations.values():
            if alloc["_key"] == key and alloc["DesiredStatus"] == "run":
                alloc.update(DesiredStatus="stop", DesiredDescription="alloc is not needed as job has been stopped", ModifyIndex=index)
        if purge:
            del self.jobs[key]
            self.evaluations.pop(key, None)
        else:
            job.update(Stop=True, Status="dead", ModifyIndex=index, JobModifyIndex=index)
        return {"EvalID": str(uuid.uuid4()), "EvalCreateIndex": index, "JobModifyIndex": index, "Index": index}

    def summary(self, key):
        job = self.jobs[key]
        counts = {group["Name"]: {"Queued": 0, "Complete": 0, "Failed": 0, "Running": 0, "Starting": 0, "Lost": 0, "Unknown": 0}
                  for group in job["TaskGroups"]}
        for evaluation in self.evaluations.get(key, []):
            if evaluation["Status"] == "blocked":
                for group in evaluation["FailedTGAllocs"] or {}:
                    counts[group]["Queued"] += 1
        for alloc in self.allocations.values():
            if alloc["_key"] == key:
                name = {"pending": "Starting", "running": "Running", "complete": "Complete", "failed": "Failed", "lost": "Lost"}[alloc["ClientStatus"]]
                counts[alloc["TaskGroup"]][name] += 1
        return {"JobID": key[2], "Namespace": key[1], "Summary": counts, "Children": {"Pending": 0, "Running": 0, "Dead": 0},
                "CreateIndex": job["CreateIndex"], "ModifyIndex": job["ModifyIndex"]}

    def status(self, key):
        job = self.jobs[key]
        if job.get("Stop"):
            return "dead"
        allocs = [a for a in self.allocations.values() if a["_key"] == key]
        blocked = any(e["Status"] == "blocked" for e in self.evaluations.get(key, []))
        if allocs and all(a["ClientStatus"] in ("complete", "failed", "lost") for a in allocs) and not blocked:
            return "dead"
        return "running" if any(a["ClientStatus"] == "running" for a in allocs) else "pending"


def parse_bool(text):
    """As Go's strconv.ParseBool, which Nomad uses for query flags."""
    return (text or "") in ("1", "t", "T", "true", "TRUE", "True")


def public(alloc):
    return {k: v for k, v in alloc.items() if not k.startswith("_")}


# MARK: - HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cluster: Cluster = None
    management = ""

    def log_message(self, *args):
        pass

    def do_GET(self): self.handle_request("GET")
    def do_PUT(self): self.handle_request("PUT")
    def do_POST(self): self.handle_request("POST")
    def do_DELETE(self): self.handle_request("DELETE")

    def reply(self, code, body, headers=None):
        data = (json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Nomad-Index", str(self.cluster.index))
        self.send_header("X-Nomad-KnownLeader", "true")
        self.send_header("X-Nomad-LastContact", "0")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    def handle_request(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        record = {"method": method, "path": url.path, "region": query.get("region"), "namespace": query.get("namespace"), "at": time.time()}
        try:
            if url.path.startswith("/_test/"):
                if self.headers.get("X-Nomad-Token") != self.management:
                    raise NomadError(403, "Permission denied")
                return self.reply(200, self.control(method, url.path, query, body))
            delay_after = self.fault(record)
            code, response, headers = self.serve(method, url.path, query, body, record)
            record["status"] = code
            if delay_after:  # handled and logged; the answer is held back
                with self.cluster.lock:
                    self.cluster.log.append(record)
                    record["logged"] = True
                time.sleep(delay_after)
            self.reply(code, response, headers)
        except NomadError as error:
            record["status"] = error.code
            self.reply(error.code, error.text, error.headers)
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            record["status"] = 400
            self.reply(400, f"Failed to decode request body: {error}")
        finally:
            if not url.path.startswith("/_test/") and not record.get("logged"):
                with self.cluster.lock:
                    self.cluster.log.append(record)

    def fault(self, record):
        """Applies the first matching fault; returns seconds to hold the answer back, if any."""
        with self.cluster.lock:
            for fault in self.cluster.faults:
                if fault["count"] > 0 and all(fault.get(k) in (None, record.get(k)) for k in ("method", "namespace")) \
                        and record["path"].startswith(fault.get("path", "/")):
                    fault["count"] -= 1
                    break
            else:
                return 0
        if fault.get("delay") and fault.get("after"):
            return fault["delay"]
        if fault.get("delay"):
            time.sleep(fault["delay"])
            return 0
        headers = {"Retry-After": str(fault["retryAfter"])} if fault.get("retryAfter") is not None else {}
        raise NomadError(fault.get("status", 500), {429: "Too many requests", 500: "rpc error: injected fault"}.get(fault.get("status", 500), "injected fault"), headers)

    def authorize(self, namespace, capability):
        token = self.headers.get("X-Nomad-Token")
        if not token:
            raise NomadError(403, "Permission denied")
        if token == self.management:
            return
        acl = self.cluster.tokens.get(token)
        if acl is None:
            raise NomadError(403, "ACL token not found")
        allowed = acl["policies"].get(namespace, []) + acl["policies"].get("*", [])
        if capability not in allowed:
            raise NomadError(403, "Permission denied")

    def scope(self, query, body_job=None):
        region = query.get("region") or (body_job or {}).get("Region") or "global"
        if region not in self.cluster.regions:
            raise NomadError(500, "No path to region")
        namespace = query.get("namespace") or (body_job or {}).get("Namespace") or "default"
        return region, namespace

    def serve(self, method, path, query, body, record):
        cluster = self.cluster
        parts = [p for p in path.split("/") if p]
        if parts[:1] != ["v1"]:
            raise NomadError(404, "Invalid URL")
        parts = parts[1:]
        if parts == ["agent", "self"] and method == "GET":
            token = self.headers.get("X-Nomad-Token")
            if token != self.management and token not in self.cluster.tokens:
                raise NomadError(403, "Permission denied" if not token else "ACL token not found")
            return 200, {"config": {"Region": "global", "Datacenter": "dc1"}, "member": {"Name": "runway-test-nomad"}}, None
        if parts == ["namespaces"] and method == "GET":
            self.authorize("default", "list-jobs")
            return 200, [{"Name": n, "Description": ""} for n in sorted(cluster.namespaces)], None
        if parts[:1] == ["namespace"] and len(parts) <= 2 and method in ("PUT", "POST"):
            if self.headers.get("X-Nomad-Token") != self.management:
                raise NomadError(403, "Permission denied")
            name = parts[1] if len(parts) == 2 else (json.loads(body or b"{}") or {}).get("Name")
            if not name:
                raise NomadError(400, "Namespace name must be specified")
            with cluster.lock:
                cluster.namespaces.add(name)
            return 200, "", None
        if parts == ["jobs"] and method in ("PUT", "POST"):
            try:
                request = json.loads(body or b"{}")
            except ValueError as error:
                raise NomadError(400, f"Failed to decode request body: {error}")
            if not isinstance(request, dict) or not isinstance(request.get("Job"), dict):
                raise NomadError(400, "Job must be specified")
            job = request["Job"]
            unknown = []
            decode(job, JOB, "Job", unknown)
            decode(request.get("EnforceIndex"), BOOL, "JobRegisterRequest.EnforceIndex", [])
            decode(request.get("JobModifyIndex"), INT, "JobRegisterRequest.JobModifyIndex", [])
            region, namespace = self.scope(query, job)
            record.update(region=region, namespace=namespace)
            self.authorize(namespace, "submit-job")
            errors = validate(job) + [f"unknown field {field}" for field in unknown]
            if job.get("Region") not in (None, region):
                errors.append(f'Job region "{job["Region"]}" does not match the request region "{region}"')
            if errors:
                text = f"{len(errors)} error{'s' if len(errors) > 1 else ''} occurred:\n" + "".join(f"\t* {e}\n" for e in errors) + "\n"
                raise NomadError(500, text)
            with cluster.lock:
                if namespace not in cluster.namespaces:
                    raise NomadError(400, f'job "{job["ID"]}" is in nonexistent namespace "{namespace}"')
                key = (region, namespace, job["ID"])
                if request.get("EnforceIndex"):
                    current = cluster.jobs.get(key)
                    given = request.get("JobModifyIndex", 0)
                    if given == 0 and current is not None:
                        raise NomadError(500, "Enforcing job modify index 0: job already exists")
                    if given != 0 and (current is None or current["JobModifyIndex"] != given):
                        raise NomadError(500, f"Enforcing job modify index {given}: job exists with conflicting job modify index: "
                                              f"{current['JobModifyIndex'] if current else 0}")
                evaluation, index = cluster.register(key, job)
            return 200, {"EvalID": evaluation["ID"], "EvalCreateIndex": index, "JobModifyIndex": index, "Warnings": "", "Index": index,
                         "LastContact": 0, "KnownLeader": True}, None
        if parts == ["jobs"] and method == "GET":
            region, namespace = self.scope(query)
            self.authorize(namespace if namespace != "*" else "default", "list-jobs")
            prefix, per_page, token = query.get("prefix", ""), int(query.get("per_page") or 0), query.get("next_token", "")
            with cluster.lock:
                keys = sorted((k for k in cluster.jobs if k[0] == region and (namespace == "*" or k[1] == namespace) and k[2].startswith(prefix)),
                              key=lambda k: (k[1], k[2]))
                if token:
                    keys = [k for k in keys if f"{k[1]}.{k[2]}" >= token] if namespace == "*" else [k for k in keys if k[2] >= token]
                headers = {}
                if per_page and len(keys) > per_page:
                    following = keys[per_page]
                    headers["X-Nomad-NextToken"] = f"{following[1]}.{following[2]}" if namespace == "*" else following[2]
                    keys = keys[:per_page]
                stubs = []
                for key in keys:
                    job = cluster.jobs[key]
                    stub = {"ID": job["ID"], "ParentID": "", "Name": job["Name"], "Namespace": key[1], "Datacenters": job["Datacenters"],
                            "Type": job.get("Type", "service"), "Priority": job["Priority"], "Periodic": False, "ParameterizedJob": False,
                            "Stop": job["Stop"], "Status": cluster.status(key), "StatusDescription": "", "JobSummary": cluster.summary(key),
                            "CreateIndex": job["CreateIndex"], "ModifyIndex": job["ModifyIndex"], "JobModifyIndex": job["JobModifyIndex"],
                            "SubmitTime": job["SubmitTime"]}
                    if parse_bool(query.get("meta")):
                        stub["Meta"] = job.get("Meta") or {}
                    stubs.append(stub)
            return 200, stubs, headers
        if len(parts) >= 2 and parts[0] == "job":
            job_id = urllib.parse.unquote(parts[1])
            region, namespace = self.scope(query)
            record.update(region=region, namespace=namespace, job=job_id)
            key = (region, namespace, job_id)
            if method == "DELETE" and len(parts) == 2:
                self.authorize(namespace, "submit-job")
                with cluster.lock:
                    return 200, cluster.deregister(key, parse_bool(query.get("purge"))), None
            if method == "GET":
                self.authorize(namespace, "read-job")
                with cluster.lock:
                    if key not in cluster.jobs:
                        raise NomadError(404, "job not found")
                    if len(parts) == 2:
                        job = dict(cluster.jobs[key])
                        job["Status"] = cluster.status(key)
                        return 200, job, None
                    if parts[2:] == ["allocations"]:
                        return 200, [public(a) for a in cluster.allocations.values() if a["_key"] == key], None
                    if parts[2:] == ["evaluations"]:
                        return 200, cluster.evaluations.get(key, []), None
                    if parts[2:] == ["summary"]:
                        return 200, cluster.summary(key), None
        raise NomadError(404, "Invalid URL" if method == "GET" else f"Invalid method {method}")

    def control(self, method, path, query, body):
        cluster = self.cluster
        with cluster.lock:
            if path == "/_test/faults" and method == "POST":
                return add_fault(cluster.faults, body)
            if path == "/_test/tokens" and method == "POST":
                token = json.loads(body)
                cluster.tokens[token["secret"]] = {"name": token.get("name", ""), "policies": token.get("policies", {})}
                return {"tokens": len(cluster.tokens)}
            if path == "/_test/requests" and method == "GET":
                return requests_in(cluster.log, query.get("namespace"))
        raise NomadError(404, f"no test control {method} {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True, help="directory for the CA, the management token, the url and task logs")
    parser.add_argument("--images", help='JSON: {"image": {"entrypoint": [...], "cmd": [...], "env": {...}}} the docker driver "has"')
    parser.add_argument("--regions", default="global", help="comma-separated regions this server answers for")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    os.makedirs(os.path.join(arguments.state, "tasks"), exist_ok=True)
    images = json.load(open(arguments.images)) if arguments.images else {}
    cluster = Cluster(arguments.regions.split(","), images, os.path.join(arguments.state, "tasks"))
    Handler.cluster = cluster
    Handler.management = str(uuid.uuid4())
    with open(os.path.join(arguments.state, "token"), "w") as f:
        f.write(Handler.management)
    # Nomad's servers present certificates for `server.<region>.nomad`, not their address: clients
    # set a TLS server name (NOMAD_TLS_SERVER_NAME) to reach one by IP.
    server, url, _ = serve_tls(Handler, arguments.state, arguments.port, names="DNS:server.global.nomad,DNS:localhost")

    run(server, arguments.state, url, cluster.run_forever, cluster.shutdown)


if __name__ == "__main__":
    main()
