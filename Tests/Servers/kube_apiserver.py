#!/usr/bin/env python3
"""The tests' Kubernetes: an API server on 127.0.0.1 that follows the real API's rules for what
Runway uses, and plays the Job controller, scheduler, kubelet and garbage collector.

- Namespaces, and namespaced Jobs (batch/v1), Pods and Secrets (v1): create, get, list, update
  (PUT, resourceVersion checked: 409 Conflict), patch (merge, strategic merge as merge, JSON
  patch), delete with propagationPolicy (Background, Foreground, Orphan; a Job's API default is
  Orphan, as on a real server). Lists take labelSelector (equality and set-based), fieldSelector
  (metadata.name/namespace), limit and continue. Watches (`?watch=1`) stream ADDED, MODIFIED,
  DELETED and BOOKMARK events from a resourceVersion; one too old for the change log is an ERROR
  event with 410 Expired (kube_watch.py).
- Every object received is checked against the official schemas (kubernetes-validate, strict, for
  Kubernetes 1.30) plus the server-side rules Runway can break (names, labels, restartPolicy),
  and refused as a real server refuses it: a wrong JSON type fails decoding (400 BadRequest), an
  unknown field is refused under fieldValidation=Strict (400) and kept otherwise, an invalid
  value is 422 Invalid with a cause per field.
- Errors are metav1.Status bodies. Requests carry a bearer token (or a client certificate whose
  CN names a user); each user has RBAC rules; 401 and 403 read as the real server's.
- A Job gets a Pod; a schedulable Pod whose images are known runs its init containers in order,
  then its container, each as a local process with its env (envFrom Secrets and secretKeyRef
  values included) and its emptyDir volumes (kube_kubelet.py), Pending → Running →
  Succeeded/Failed. An unknown image is ErrImagePull then ImagePullBackOff; a nodeSelector no
  node matches is Unschedulable; a missing Secret, or runAsNonRoot with an image that runs as
  root, is CreateContainerConfigError. activeDeadlineSeconds and ttlSecondsAfterFinished are
  honoured; deleting a Pod kills its process after its grace period. With --inert-pods, pods run
  no process: Running until deleted or ended with POST /_test/pods/end (thousands fit).
- Test controls under /_test/ (admin token only): faults (status codes with Retry-After, delays
  before or after handling, `stale` lists that leave out objects created in the last `stale`
  seconds, as a lagging cache would), users, the request log, counters, ending every open watch
  (/_test/watches/close, as a restart would), ending an inert pod (/_test/pods/end).

Run: kube_apiserver.py --state DIR [--images images.json]. It makes a CA and a serving
certificate with openssl, listens on a free port with TLS, and writes DIR/kubeconfig (admin) and
DIR/url once ready.
"""
import argparse
import base64
import copy
import datetime
import json
import os
import re
import signal
import ssl
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

import jsonschema
import referencing
from kubernetes_validate import utils as kv

from kube_kubelet import Kubelet
from kube_watch import ChangeLog, close_all, serve_watch
from testserver import add_fault, control_loop, requests_in, run, serve_tls

SCHEMA_VERSION = "1.30.0"
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

# resource → (group, version, kind, namespaced)
RESOURCES = {
    "namespaces": ("", "v1", "Namespace", False),
    "pods": ("", "v1", "Pod", True),
    "secrets": ("", "v1", "Secret", True),
    "jobs": ("batch", "v1", "Job", True),
}


def now_text(t=None):
    return datetime.datetime.fromtimestamp(t or time.time(), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")



def created_at(obj):
    """An object's creationTimestamp in seconds since the epoch (0 when it has none)."""
    text = obj.get("metadata", {}).get("creationTimestamp")
    if not text:
        return 0
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()

class APIError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details, self.headers = code, reason, message, details, headers or {}

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def qualified(resource):
    group = RESOURCES[resource][0]
    return f"{resource}.{group}" if group else resource


def not_found(resource, name):
    return APIError(404, "NotFound", f'{qualified(resource)} "{name}" not found',
                    {"name": name, "group": RESOURCES[resource][0], "kind": resource})


# MARK: - Validation

class Validator:
    """The official schemas (kubernetes-validate's strict set), one compiled validator per kind."""

    def __init__(self):
        self.validators = {}
        self.lock = threading.Lock()

    def validator(self, kind, api_version):
        key = (kind, api_version)
        with self.lock:
            if key not in self.validators:
                group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
                directory = "v%s-local-strict" % max(v for v in kv.all_versions() if kv.major_minor(v) <= kv.major_minor(SCHEMA_VERSION))
                schema = kv.schema_contents(f"kubernetes-json-schema/{directory}/{kind.lower()}-{group}.json", SCHEMA_VERSION)
                definitions = kv.schema_contents(f"kubernetes-json-schema/{directory}/_definitions.json", SCHEMA_VERSION)
                registry = referencing.Resource.from_contents(definitions) @ (referencing.Resource.from_contents(schema) @ referencing.Registry())
                self.validators[key] = jsonschema.validators.Draft202012Validator(schema, registry=registry)
            return self.validators[key]

    def problems(self, obj, resource):
        """(decoding errors, unknown fields, invalid-value causes), as a real server tells them apart:
        a wrong JSON type fails decoding (400), an unknown field is refused only under
        fieldValidation=Strict (400), anything else is a 422 with causes."""
        decoding, unknown, causes = [], [], []
        for error in self.validator(obj.get("kind", ""), obj.get("apiVersion", "")).iter_errors(obj):
            field = path_text(error.absolute_path)
            if error.validator == "additionalProperties":
                extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
                unknown += [f"{field}.{name}" if field else name for name in extra]
            elif error.validator == "type":
                decoding.append(f"json: cannot unmarshal {type(error.instance).__name__} into Go struct field {obj.get('kind')}.{field} of type {error.validator_value}")
            else:
                reason = "FieldValueNotSupported" if error.validator == "enum" else "FieldValueRequired" if error.validator == "required" else "FieldValueInvalid"
                causes.append({"reason": reason, "message": f"Invalid value: {json.dumps(error.instance)[:120]}: {error.message}", "field": field})
        return decoding, unknown, causes + semantic_causes(obj, resource)


def path_text(path):
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")


def semantic_causes(obj, resource):
    """Server-side rules the schemas do not carry, for the fields Runway sets."""
    causes = []
    meta = obj.get("metadata") or {}
    name = meta.get("name") or meta.get("generateName") or ""
    limit = 63 if resource in ("jobs", "namespaces") else 253
    pattern = DNS1123_LABEL if resource in ("namespaces",) else DNS1123_SUBDOMAIN
    if not meta.get("name") and not meta.get("generateName"):
        causes.append({"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"})
    elif meta.get("name") and (len(name) > limit or not pattern.match(name)):
        causes.append({"reason": "FieldValueInvalid", "field": "metadata.name",
                       "message": f'Invalid value: "{name}": must be no more than {limit} characters and a lowercase RFC 1123 name'})

    def labels(where, values):
        for key, value in (values or {}).items():
            prefix, _, label = key.rpartition("/")
            if (prefix and not DNS1123_SUBDOMAIN.match(prefix)) or len(label) > 63 or not LABEL_NAME.match(label):
                causes.append({"reason": "FieldValueInvalid", "field": where, "message": f'Invalid value: "{key}": name part must be a valid label key'})
            if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
                causes.append({"reason": "FieldValueInvalid", "field": where,
                               "message": f'Invalid value: "{value}": a valid label must be 63 characters or less, alphanumeric, "-", "_" or "."'})

    labels("metadata.labels", meta.get("labels"))
    pod_spec = None
    if resource == "jobs":
        template = (obj.get("spec") or {}).get("template") or {}
        labels("spec.template.metadata.labels", (template.get("metadata") or {}).get("labels"))
        pod_spec, where = template.get("spec") or {}, "spec.template.spec"
        if pod_spec.get("restartPolicy") not in ("Never", "OnFailure"):
            causes.append({"reason": "FieldValueNotSupported", "field": f"{where}.restartPolicy",
                           "message": f'Unsupported value: "{pod_spec.get("restartPolicy", "Always")}": supported values: "OnFailure", "Never"'})
        if isinstance((obj.get("spec") or {}).get("backoffLimit"), int) and obj["spec"]["backoffLimit"] < 0:
            causes.append({"reason": "FieldValueInvalid", "field": "spec.backoffLimit", "message": "Invalid value: must be greater than or equal to 0"})
    elif resource == "pods":
        pod_spec, where = obj.get("spec") or {}, "spec"
    if pod_spec is not None:
        containers = pod_spec.get("containers") or []
        if not containers:
            causes.append({"reason": "FieldValueRequired", "field": f"{where}.containers", "message": "Required value"})
        for index, container in enumerate(containers):
            if not container.get("image"):
                causes.append({"reason": "FieldValueRequired", "field": f"{where}.containers[{index}].image", "message": "Required value"})
            policy = container.get("imagePullPolicy")
            if policy is not None and policy not in ("Always", "IfNotPresent", "Never"):
                causes.append({"reason": "FieldValueNotSupported", "field": f"{where}.containers[{index}].imagePullPolicy",
                               "message": f'Unsupported value: "{policy}": supported values: "Always", "IfNotPresent", "Never"'})
            if not DNS1123_LABEL.match(container.get("name") or ""):
                causes.append({"reason": "FieldValueInvalid", "field": f"{where}.containers[{index}].name", "message": "Invalid value: must be an RFC 1123 label"})
    if resource == "secrets":
        for key in list((obj.get("data") or {}).keys()) + list((obj.get("stringData") or {}).keys()):
            if not re.match(r"^[-._a-zA-Z0-9]+$", key):
                causes.append({"reason": "FieldValueInvalid", "field": f"data[{key}]", "message": "Invalid value: a valid config key must consist of alphanumeric characters, '-', '_' or '.'"})
        for key, value in (obj.get("data") or {}).items():
            try:
                base64.b64decode(value, validate=True)
            except Exception:
                causes.append({"reason": "FieldValueInvalid", "field": f"data[{key}]", "message": "Invalid value: not base64"})
    return causes


# MARK: - Selectors

def parse_label_selector(text):
    """Requirements as (key, op, values); ValueError on bad syntax."""
    requirements = []
    text = (text or "").strip()
    position = 0
    while position < len(text):
        match = re.compile(r"\s*(!?)\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*(==|!=|=|in\b|notin\b)?\s*").match(text, position)
        if not match or not match.group(2):
            raise ValueError(f"unable to parse requirement: {text[position:]!r}")
        negated, key, op = match.group(1), match.group(2), (match.group(3) or "").strip()
        position = match.end()
        if negated:
            if op:
                raise ValueError(f"unable to parse requirement: {text!r}")
            requirements.append((key, "!", None))
        elif not op:
            requirements.append((key, "exists", None))
        elif op in ("in", "notin"):
            values = re.compile(r"\(([^)]*)\)\s*").match(text, position)
            if not values:
                raise ValueError(f"found '{text[position:position + 1]}', expected: '('")
            requirements.append((key, op, [v.strip() for v in values.group(1).split(",") if v.strip()]))
            position = values.end()
        else:
            value = re.compile(r"([A-Za-z0-9_.-]*)\s*").match(text, position)
            requirements.append((key, "!=" if op == "!=" else "=", value.group(1)))
            position = value.end()
        if position < len(text):
            if text[position] != ",":
                raise ValueError(f"found '{text[position]}', expected: ',' or 'end of string'")
            position += 1
    return requirements


def matches_labels(labels, requirements):
    for key, op, value in requirements:
        present = key in labels
        if op == "=" and labels.get(key) != value: return False
        if op == "!=" and labels.get(key) == value: return False
        if op == "exists" and not present: return False
        if op == "!" and present: return False
        if op == "in" and labels.get(key) not in value: return False
        if op == "notin" and present and labels[key] in value: return False
    return True


def parse_field_selector(text):
    requirements = []
    for part in filter(None, (text or "").split(",")):
        match = re.match(r"^([a-zA-Z.]+)(==|!=|=)(.*)$", part)
        if not match or match.group(1) not in ("metadata.name", "metadata.namespace", "status.phase"):
            raise ValueError(f'"{part}" is not a known field selector: only "metadata.name", "metadata.namespace"')
        requirements.append((match.group(1), match.group(2) == "!=", match.group(3)))
    return requirements


def field(obj, path):
    for part in path.split("."):
        obj = (obj or {}).get(part)
    return obj or ""


# MARK: - Patches

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target, operations):
    result = copy.deepcopy(target)
    for operation in operations:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
        parent = result
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        op = operation["op"]
        if op == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if current != operation["value"]:
                raise APIError(422, "Invalid", f"the server rejected our request due to an error in our request: test failed at {operation['path']}")
        elif op in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-": parent.append(operation["value"])
                elif op == "add": parent.insert(int(last), operation["value"])
                else: parent[int(last)] = operation["value"]
            else:
                parent[last] = operation["value"]
        elif op == "remove":
            if isinstance(parent, list): del parent[int(last)]
            else: del parent[last]
        else:
            raise APIError(400, "BadRequest", f"unsupported JSON patch operation {op!r}")
    return result


# MARK: - The store, the controllers and the kubelet

class Cluster(Kubelet):
    def __init__(self, images, log_directory, volume_directory):
        self.lock = threading.RLock()
        self.objects = {resource: {} for resource in RESOURCES}  # resource → {(namespace, name): obj}
        self.revision = 1000
        self.validator = Validator()
        self.init_kubelet(images, log_directory, volume_directory)
        self.counters = {"invalid": 0, "created": {}, "requests": 0}
        self.users = {}
        self.faults = []
        self.log = []

    def next_revision(self):
        self.revision += 1
        return str(self.revision)

    def uid_exists(self, uid):
        return any(obj["metadata"].get("uid") == uid for table in self.objects.values() for obj in table.values())

    # Storage operations: callers hold the lock.

    def get(self, resource, namespace, name):
        obj = self.objects[resource].get((namespace, name))
        if obj is None:
            raise not_found(resource, name)
        return obj

    def check_namespace(self, namespace):
        if namespace is not None and (None, namespace) not in self.objects["namespaces"]:
            raise not_found("namespaces", namespace)
        if namespace is not None and self.objects["namespaces"][(None, namespace)]["metadata"].get("deletionTimestamp"):
            raise APIError(403, "Forbidden", f'unable to create new content in namespace {namespace} because it is being terminated')

    def validate(self, obj, resource, strict=False):
        group, version, kind, _ = RESOURCES[resource]
        expected = f"{group}/{version}" if group else version
        obj.setdefault("apiVersion", expected)  # inferred from the endpoint, as a real server does
        obj.setdefault("kind", kind)
        if obj.get("kind") != kind or obj.get("apiVersion") != expected:
            raise APIError(400, "BadRequest", f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API version ({expected})"
                           if obj.get("apiVersion") != expected else f"kind {obj.get('kind')!r} does not match {kind!r}")
        decoding, unknown, causes = self.validator.problems(obj, resource)
        name = (obj.get("metadata") or {}).get("name", "")
        if decoding or (strict and unknown):
            self.counters["invalid"] += 1
            detail = decoding[0] if decoding else "strict decoding error: " + ", ".join(f'unknown field "{f}"' for f in unknown)
            raise APIError(400, "BadRequest", f"{kind} in version \"{version}\" cannot be handled as a {kind}: {detail}")
        if causes:
            self.counters["invalid"] += 1
            text = ", ".join(f"{c['field']}: {c['message']}" for c in causes[:5])
            raise APIError(422, "Invalid", f'{kind}.{group or "core"} "{name}" is invalid: [{text}]'.replace(".core", ""),
                           {"name": name, "group": group, "kind": kind, "causes": causes})

    def create(self, resource, namespace, obj, internal=False, strict=False):
        if not internal:
            self.validate(obj, resource, strict)
        self.check_namespace(namespace)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if meta.get("namespace") not in (None, namespace):
            raise APIError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        if RESOURCES[resource][3]:
            meta["namespace"] = namespace
        key = (namespace, meta["name"])
        if key in self.objects[resource]:
            raise APIError(409, "AlreadyExists", f'{qualified(resource)} "{meta["name"]}" already exists',
                           {"name": meta["name"], "group": RESOURCES[resource][0], "kind": resource})
        for server_field in ("resourceVersion", "deletionTimestamp"):
            meta.pop(server_field, None)
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_text(), resourceVersion=self.next_revision(), generation=1)
        self.default(resource, obj)
        self.objects[resource][key] = obj
        created = self.counters["created"]
        created[resource] = created.get(resource, 0) + 1
        return obj

    def default(self, resource, obj):
        meta = obj["metadata"]
        if resource == "secrets":
            obj.setdefault("type", "Opaque")
            for key, value in (obj.pop("stringData", None) or {}).items():
                obj.setdefault("data", {})[key] = base64.b64encode(value.encode()).decode()
        elif resource == "namespaces":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        elif resource == "jobs":
            spec = obj["spec"]
            uid = meta["uid"]
            spec.setdefault("parallelism", 1)
            spec.setdefault("completions", 1)
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completionMode", "NonIndexed")
            spec.setdefault("suspend", False)
            spec.setdefault("manualSelector", False)
            spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            template_labels = spec["template"].setdefault("metadata", {}).setdefault("labels", {})
            template_labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": meta["name"],
                                    "controller-uid": uid, "job-name": meta["name"]})
            self.default_pod_spec(spec["template"]["spec"])
            obj["status"] = {}
        elif resource == "pods":
            self.default_pod_spec(obj["spec"])
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}

    @staticmethod
    def default_pod_spec(spec):
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("securityContext", {})
        for container in spec.get("containers", []):
            image = container.get("image", "")
            tag = image.rsplit("/", 1)[-1]
            container.setdefault("imagePullPolicy", "Always" if (":" not in tag or tag.endswith(":latest")) and "@" not in tag else "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})

    def replace(self, resource, namespace, name, obj, internal=False, strict=False):
        current = self.get(resource, namespace, name)
        if not internal:
            self.validate(obj, resource, strict)
            given = (obj.get("metadata") or {}).get("resourceVersion")
            if given is not None and given != current["metadata"]["resourceVersion"]:
                raise APIError(409, "Conflict", f'Operation cannot be fulfilled on {qualified(resource)} "{name}": the object has been modified; '
                               "please apply your changes to the latest version and try again",
                               {"name": name, "group": RESOURCES[resource][0], "kind": resource})
            if (obj.get("metadata") or {}).get("name") != name:
                raise APIError(400, "BadRequest", "the name of the object does not match the name on the URL")
            if resource == "jobs":
                for path in ("selector", "template", "completions"):
                    old, new = current["spec"].get(path), obj["spec"].get(path)
                    if path == "template" and new is not None:
                        new = copy.deepcopy(new)
                        new.setdefault("metadata", {}).setdefault("labels", {}).update(old["metadata"]["labels"])
                        self.default_pod_spec(new["spec"])
                    if new is not None and new != old:
                        raise APIError(422, "Invalid", f'Job.batch "{name}" is invalid: spec.{path}: Invalid value: field is immutable',
                                       {"name": name, "group": "batch", "kind": "Job",
                                        "causes": [{"reason": "FieldValueInvalid", "message": "Invalid value: field is immutable", "field": f"spec.{path}"}]})
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        for server_field in ("uid", "creationTimestamp", "deletionTimestamp", "generation"):
            if server_field in current["metadata"]:
                meta[server_field] = current["metadata"][server_field]
        if RESOURCES[resource][3]:
            meta["namespace"] = namespace
        if not internal:
            obj["status"] = current.get("status", {}) if resource in ("jobs", "pods", "namespaces") else obj.get("status")
            if obj.get("status") is None:
                obj.pop("status", None)
            if resource == "jobs":
                obj["spec"]["selector"] = current["spec"]["selector"]
                obj["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {}).update(current["spec"]["template"]["metadata"]["labels"])
                for key in ("parallelism", "completions", "backoffLimit", "completionMode", "suspend", "manualSelector", "podReplacementPolicy"):
                    obj["spec"].setdefault(key, current["spec"].get(key))
                self.default_pod_spec(obj["spec"]["template"]["spec"])
            if resource == "secrets":
                self.default("secrets", obj)
            if obj.get("spec") != current.get("spec"):
                meta["generation"] = current["metadata"].get("generation", 1) + 1
        meta["resourceVersion"] = self.next_revision()
        self.objects[resource][(namespace, name)] = obj
        return obj

    def delete(self, resource, namespace, name, policy=None, grace=None):
        obj = self.get(resource, namespace, name)
        meta = obj["metadata"]
        if policy is None:
            policy = "Orphan" if resource == "jobs" else "Background"
        if policy == "Orphan":
            for table in self.objects.values():
                for dependent in table.values():
                    references = dependent["metadata"].get("ownerReferences") or []
                    kept = [r for r in references if r.get("uid") != meta["uid"]]
                    if len(kept) != len(references):
                        dependent["metadata"]["ownerReferences"] = kept
                        dependent["metadata"]["resourceVersion"] = self.next_revision()
        if resource == "pods" and self.process_alive(meta["uid"]):
            # Graceful: SIGTERM now, SIGKILL after the grace period; gone once the process is.
            if not meta.get("deletionTimestamp"):
                period = obj["spec"].get("terminationGracePeriodSeconds", 30) if grace is None else grace
                meta.update(deletionTimestamp=now_text(), deletionGracePeriodSeconds=period, resourceVersion=self.next_revision())
                self.signal(meta["uid"], signal.SIGTERM, group=False)  # PID 1 of the container, as a runtime does
                self.kills[meta["uid"]] = time.time() + period
            return obj
        if resource == "namespaces" or policy == "Foreground":
            if not meta.get("deletionTimestamp"):
                finalizers = meta.setdefault("finalizers", [])
                if policy == "Foreground" and "foregroundDeletion" not in finalizers:
                    finalizers.append("foregroundDeletion")
                meta.update(deletionTimestamp=now_text(), deletionGracePeriodSeconds=0, resourceVersion=self.next_revision())
                if resource == "namespaces":
                    obj["status"]["phase"] = "Terminating"
            return obj
        del self.objects[resource][(namespace, name)]
        if resource == "pods":  # the Pod registry returns the object deleted, as the real one does
            return obj
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": RESOURCES[resource][0], "kind": resource, "uid": meta["uid"]}}

    # The control loop: garbage collector, Job controller, scheduler and kubelet.

    def run_forever(self):
        control_loop(self.lock, self.step, "kube_apiserver")

    def step(self):
        uids = {obj["metadata"]["uid"]: obj for table in self.objects.values() for obj in table.values()}
        # Garbage collector: dependents whose owners are all gone; foreground deletions; namespaces.
        for resource, table in self.objects.items():
            for key, obj in list(table.items()):
                references = obj["metadata"].get("ownerReferences") or []
                if references and not any(r.get("uid") in uids for r in references):
                    if resource != "pods" or not obj["metadata"].get("deletionTimestamp"):
                        self.delete(resource, key[0], key[1])
                    continue
                if "foregroundDeletion" in (obj["metadata"].get("finalizers") or []):
                    uid = obj["metadata"]["uid"]
                    dependents = [(r, k) for r, t in self.objects.items() for k, o in t.items()
                                  if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])]
                    for dependent_resource, dependent_key in dependents:
                        if not self.objects[dependent_resource][dependent_key]["metadata"].get("deletionTimestamp"):
                            self.delete(dependent_resource, dependent_key[0], dependent_key[1])
                    if not dependents:
                        del table[key]
        for key, namespace in list(self.objects["namespaces"].items()):
            if namespace["metadata"].get("deletionTimestamp"):
                contents = [(r, k) for r, t in self.objects.items() if r != "namespaces" for k in t if k[0] == key[1]]
                for resource, content in contents:
                    if content in self.objects[resource] and not self.objects[resource][content]["metadata"].get("deletionTimestamp"):
                        self.delete(resource, content[0], content[1], policy="Background", grace=0)
                if not contents:
                    del self.objects["namespaces"][key]
        for key, job in list(self.objects["jobs"].items()):
            self.sync_job(key, job)
        for key, pod in list(self.objects["pods"].items()):
            self.sync_pod(key, pod)

    def pods_of(self, job):
        uid = job["metadata"]["uid"]
        return [pod for pod in self.objects["pods"].values()
                if any(r.get("uid") == uid for r in pod["metadata"].get("ownerReferences") or [])]

    def sync_job(self, key, job):
        spec, status, meta = job["spec"], job.setdefault("status", {}), job["metadata"]
        finished = any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in status.get("conditions", []))
        if meta.get("deletionTimestamp"):
            return
        if finished:
            ttl = spec.get("ttlSecondsAfterFinished")
            done = status.get("completionTime") or status.get("failedAt")
            if ttl is not None and done and time.time() >= datetime.datetime.strptime(done, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp() + ttl:
                self.delete("jobs", key[0], key[1], policy="Background")
            return
        if spec.get("suspend"):
            return
        changed = False
        if "startTime" not in status:
            status["startTime"] = now_text()
            status["_started"] = time.time()
            changed = True
        pods = self.pods_of(job)
        active = [p for p in pods if p["status"].get("phase") in ("Pending", "Running") and not p["metadata"].get("deletionTimestamp")]
        succeeded = sum(1 for p in pods if p["status"].get("phase") == "Succeeded")
        failed = sum(1 for p in pods if p["status"].get("phase") == "Failed")
        deadline = spec.get("activeDeadlineSeconds")
        condition = None
        if succeeded >= spec.get("completions", 1):
            condition = ("Complete", None, None)
        elif failed > spec.get("backoffLimit", 6):
            condition = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif deadline is not None and time.time() >= status["_started"] + deadline:
            condition = ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
            for pod in active:
                self.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        elif not active:
            template = copy.deepcopy(spec["template"])
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"generateName": meta["name"] + "-", "labels": template["metadata"].get("labels", {}),
                                "annotations": template["metadata"].get("annotations", {}),
                                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"], "uid": meta["uid"],
                                                     "controller": True, "blockOwnerDeletion": True}]},
                   "spec": template["spec"]}
            active = [self.create("pods", key[0], pod, internal=True)]
            changed = True
        counts = {"active": len(active), "succeeded": succeeded, "failed": failed, "ready": sum(1 for p in active if p["status"].get("phase") == "Running")}
        for name, value in counts.items():
            if status.get(name, 0) != value:
                changed = True
            if value:
                status[name] = value
            else:
                status.pop(name, None)
        if condition:
            kind, reason, message = condition
            entry = {"type": kind, "status": "True", "lastProbeTime": now_text(), "lastTransitionTime": now_text()}
            if reason:
                entry.update(reason=reason, message=message)
            status.setdefault("conditions", []).append(entry)
            if kind == "Complete":
                status["completionTime"] = now_text()
            else:
                status["failedAt"] = now_text()
            changed = True
        if changed:
            meta["resourceVersion"] = self.next_revision()



# MARK: - HTTP

def public(obj):
    """An object as the API returns it (without the server's private bookkeeping)."""
    obj = copy.deepcopy(obj)
    if isinstance(obj.get("status"), dict):
        for key in [k for k in obj["status"] if k.startswith("_") or k == "failedAt"]:
            del obj["status"][key]
    return obj


def discovery(port):
    def resource(name, kind, namespaced, verbs):
        singular = kind.lower()
        return {"name": name, "singularName": singular, "namespaced": namespaced, "kind": kind, "verbs": verbs}

    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    return {
        "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{port}"}]},
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [{"name": "batch", "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
                                                                           "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}}]},
        "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
            resource("namespaces", "Namespace", False, ["create", "delete", "get", "list", "patch", "update", "watch"]),
            resource("pods", "Pod", True, verbs), resource("secrets", "Secret", True, verbs)]},
        "/apis/batch/v1": {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "batch/v1", "resources": [resource("jobs", "Job", True, verbs)]},
        "/version": {"major": "1", "minor": "30", "gitVersion": "v1.30.0-runway-test", "platform": "linux/amd64"},
        "/openapi/v3": {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=runway"},
                                  "apis/batch/v1": {"serverRelativeURL": "/openapi/v3/apis/batch/v1?hash=runway"}}},
        "/openapi/v3/api/v1": openapi([("", "v1", "Namespace", "namespaces", False), ("", "v1", "Pod", "pods", True), ("", "v1", "Secret", "secrets", True)]),
        "/openapi/v3/apis/batch/v1": openapi([("batch", "v1", "Job", "jobs", True)]),
    }


def openapi(resources):
    """Enough OpenAPI v3 for kubectl to see that the server validates fields itself (the
    `fieldValidation` parameter); the schemas themselves are checked on the server."""
    paths, schemas = {}, {}
    parameter = {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    for group, version, kind, plural, namespaced in resources:
        prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
        collection = f"{prefix}/namespaces/{{namespace}}/{plural}" if namespaced else f"{prefix}/{plural}"
        gvk = [{"group": group, "version": version, "kind": kind}]
        name = f"io.k8s.api.{group or 'core'}.{version}.{kind}"
        schemas[name] = {"type": "object", "x-kubernetes-group-version-kind": gvk}
        response = {"200": {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}}
        paths[collection] = {"post": {"parameters": [parameter], "responses": response, "x-kubernetes-group-version-kind": gvk[0]},
                             "get": {"responses": response, "x-kubernetes-group-version-kind": gvk[0]}}
        paths[collection + "/{name}"] = {verb: {"parameters": [parameter], "responses": response, "x-kubernetes-group-version-kind": gvk[0]}
                                         for verb in ("put", "patch")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.30.0"}, "paths": paths, "components": {"schemas": schemas}}


PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>batch)/v1)(?:/namespaces/(?P<namespace>[^/]+))?/(?P<resource>[a-z]+)(?:/(?P<name>[^/]+))?$")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cluster: Cluster = None
    changes: ChangeLog = None
    admin_token = ""
    port = 0

    def log_message(self, *args):
        pass

    def do_GET(self): self.handle_request("GET")
    def do_POST(self): self.handle_request("POST")
    def do_PUT(self): self.handle_request("PUT")
    def do_PATCH(self): self.handle_request("PATCH")
    def do_DELETE(self): self.handle_request("DELETE")

    def send_json(self, code, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client went away (a controller killed while its answer was held back)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def user(self):
        token = (self.headers.get("Authorization") or "")
        if token.startswith("Bearer "):
            token = token[len("Bearer "):].strip()
            if token == self.admin_token:
                return {"name": "admin", "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
            return self.cluster.users.get("token:" + token)
        certificate = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if certificate:
            subject = dict(item[0] for item in certificate.get("subject", ()))
            return self.cluster.users.get("cn:" + subject.get("commonName", ""))
        return None

    def handle_request(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        body = self.read_body()
        record = {"method": method, "path": url.path, "query": query, "at": time.time()}
        try:
            user = self.user()
            if url.path.startswith("/_test/"):
                if user is None or user["name"] != "admin":
                    raise APIError(401, "Unauthorized", "Unauthorized")
                return self.send_json(200, self.control(method, url.path, query, body))
            if url.path in ("/healthz", "/readyz", "/livez"):
                return self.send_response_only(200) or self.end_headers()
            if user is None:
                raise APIError(401, "Unauthorized", "Unauthorized")
            documents = discovery(self.port)
            if url.path in documents and method == "GET":
                return self.send_json(200, documents[url.path])
            match = PATH.match(url.path)
            if not match or match.group("resource") not in RESOURCES or RESOURCES[match.group("resource")][0] != (match.group("group") or ""):
                raise APIError(404, "NotFound", "the server could not find the requested resource")
            resource, namespace, name = match.group("resource"), match.group("namespace"), match.group("name")
            if resource == "namespaces" and namespace is not None:
                raise APIError(404, "NotFound", "the server could not find the requested resource")
            if resource == "namespaces":
                namespace, name = None, name
            verb = {"GET": "get" if name else ("watch" if query.get("watch") in ("1", "true") else "list"), "POST": "create",
                    "PUT": "update", "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"}[method]
            record.update(verb=verb, resource=resource, namespace=namespace, name=name, user=user["name"])
            self.authorize(user, verb, resource, namespace, name)
            delay_after = self.inject_faults(record)
            if verb == "watch":  # logged as it begins: it may last minutes
                record["status"] = 200
                self.remember(record)
                return self.watch(resource, namespace, query)
            code, response = self.serve(method, verb, resource, namespace, name, query, body)
            if record.get("stale") and verb == "list" and code == 200:
                cutoff = time.time() - record["stale"]
                response = dict(response, items=[item for item in response.get("items", [])
                                                 if created_at(item) <= cutoff])
            record["status"] = code
            if delay_after:  # handled and logged; the answer is held back
                self.remember(record)
                time.sleep(delay_after)
            self.send_json(code, response)
        except APIError as error:
            record["status"] = error.code
            self.send_json(error.code, error.status(), error.headers)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            record["status"] = 400
            self.send_json(400, APIError(400, "BadRequest", f"the request could not be decoded: {error}").status())
        finally:
            if not url.path.startswith("/_test/"):
                self.remember(record)

    def remember(self, record):
        with self.cluster.lock:
            if not record.get("logged"):
                record["logged"] = True
                self.cluster.counters["requests"] += 1
                self.cluster.log.append(record)

    def authorize(self, user, verb, resource, namespace, name):
        group = RESOURCES[resource][0]
        for rule in user["rules"]:
            if (("*" in rule.get("apiGroups", []) or group in rule.get("apiGroups", []))
                    and ("*" in rule.get("resources", []) or resource in rule.get("resources", []))
                    and ("*" in rule.get("verbs", []) or verb in rule.get("verbs", []))
                    and (not rule.get("resourceNames") or name in rule["resourceNames"])):
                return
        subject = f'{qualified(resource)} "{name}"' if name else qualified(resource)
        where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        raise APIError(403, "Forbidden", f'{subject} is forbidden: User "{user["name"]}" cannot {verb} resource "{resource}" in API group "{group}"{where}',
                       {"name": name, "group": group, "kind": resource} if name else {"group": group, "kind": resource})

    def inject_faults(self, record):
        """Applies the first matching fault; returns seconds to wait after handling, if any."""
        with self.cluster.lock:
            for fault in self.cluster.faults:
                if fault["count"] <= 0:
                    continue
                if any(fault.get(k) is not None and fault[k] != record.get(k) for k in ("namespace", "verb", "resource")):
                    continue
                fault["count"] -= 1
                break
            else:
                return 0
        if fault.get("stale") is not None:
            record["stale"] = fault["stale"]
            return 0
        if fault.get("delay") and not fault.get("after"):
            time.sleep(fault["delay"])
            return 0
        if fault.get("delay"):
            return fault["delay"]
        code = fault.get("status", 500)
        headers = {"Retry-After": str(fault["retryAfter"])} if fault.get("retryAfter") is not None else {}
        reason = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}.get(code, "InternalError")
        message = {429: "Too many requests, please try again later.", 500: "Internal error occurred: injected fault"}.get(code, "injected fault")
        raise APIError(code, reason, message, {"retryAfterSeconds": fault["retryAfter"]} if fault.get("retryAfter") is not None else None, headers)

    def serve(self, method, verb, resource, namespace, name, query, body):
        cluster = self.cluster
        group, version, kind, namespaced = RESOURCES[resource]
        strict = query.get("fieldValidation") == "Strict"
        with cluster.lock:
            if verb == "list":
                return 200, self.list(resource, namespace, query)
            if verb == "get":
                return 200, public(cluster.get(resource, namespace, name))
            if verb == "create":
                obj = json.loads(body or b"{}")
                if query.get("dryRun") == "All":
                    cluster.validate(obj, resource, strict)
                    return 201, obj
                return 201, public(cluster.create(resource, namespace, obj, strict=strict))
            if verb == "update":
                return 200, public(cluster.replace(resource, namespace, name, json.loads(body or b"{}"), strict=strict))
            if verb == "patch":
                current = cluster.get(resource, namespace, name)
                content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                patch = json.loads(body or b"null")
                if content_type == "application/json-patch+json":
                    patched = json_patch(public(current), patch)
                elif content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                    patched = merge_patch(public(current), patch)
                else:
                    raise APIError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media types include: "
                                   "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json")
                if not (isinstance(patch, dict) and (patch.get("metadata") or {}).get("resourceVersion")):
                    patched.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
                return 200, public(cluster.replace(resource, namespace, name, patched, strict=strict))
            if verb == "delete":
                options = json.loads(body) if body else {}
                policy = query.get("propagationPolicy") or options.get("propagationPolicy")
                if policy not in (None, "Background", "Foreground", "Orphan"):
                    raise APIError(400, "BadRequest", f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"')
                if options.get("orphanDependents") is True or query.get("orphanDependents") == "true":
                    policy = policy or "Orphan"
                grace = query.get("gracePeriodSeconds") or options.get("gracePeriodSeconds")
                precondition = (options.get("preconditions") or {}).get("resourceVersion")
                if precondition and precondition != cluster.get(resource, namespace, name)["metadata"]["resourceVersion"]:
                    raise APIError(409, "Conflict", f'Operation cannot be fulfilled on {qualified(resource)} "{name}": the ResourceVersion in the precondition '
                                   "does not match the ResourceVersion in record. The object might have been modified")
                return 200, public(cluster.delete(resource, namespace, name, policy, None if grace is None else int(grace)))
            raise APIError(405, "MethodNotAllowed", f"{method} is not supported")

    @staticmethod
    def selectors(query):
        """The labelSelector and fieldSelector of a list or watch, parsed."""
        try:
            labels = parse_label_selector(query.get("labelSelector"))
        except ValueError as error:
            raise APIError(400, "BadRequest", f"unable to parse requirement: {error}")
        try:
            fields = parse_field_selector(query.get("fieldSelector"))
        except ValueError as error:
            raise APIError(400, "BadRequest", str(error))
        return labels, fields

    @staticmethod
    def matching(obj, labels, fields):
        return matches_labels(obj["metadata"].get("labels") or {}, labels) and \
            not any((field(obj, path) == value) == negated for path, negated, value in fields)

    def watch(self, resource, namespace, query):
        """A watch: events after the resourceVersion asked for (kube_watch.py)."""
        group, version, kind, _ = RESOURCES[resource]
        labels, fields = self.selectors(query)
        with self.cluster.lock:
            self.check_namespace_exists(namespace)
        api_version = f"{group}/{version}" if group else version

        def decorate(obj):
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
            return obj
        serve_watch(self, self.changes, resource, namespace, query, lambda obj: self.matching(obj, labels, fields), decorate)

    def check_namespace_exists(self, namespace):
        if namespace is not None and (None, namespace) not in self.cluster.objects["namespaces"]:
            raise not_found("namespaces", namespace)

    def list(self, resource, namespace, query):
        group, version, kind, _ = RESOURCES[resource]
        labels, fields = self.selectors(query)
        limit = int(query.get("limit") or 0)
        start = None
        if query.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(query["continue"].encode()))
                start = tuple(token["start"])
            except Exception:
                raise APIError(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        keys = sorted(k for k in self.cluster.objects[resource] if namespace is None or k[0] == namespace)
        items, more = [], None
        for key in keys:
            if start is not None and tuple(x or "" for x in key) <= start:
                continue
            obj = self.cluster.objects[resource][key]
            if not self.matching(obj, labels, fields):
                continue
            if limit and len(items) == limit:
                more = json.dumps({"start": [x or "" for x in last_key]}).encode()
                break
            items.append(public(obj))
            last_key = key
        apiVersion = f"{group}/{version}" if group else version
        metadata = {"resourceVersion": str(self.cluster.revision)}
        if more:
            metadata["continue"] = base64.urlsafe_b64encode(more).decode()
            metadata["remainingItemCount"] = sum(1 for k in keys if tuple(x or "" for x in k) > tuple(x or "" for x in last_key))
        for item in items:
            item.setdefault("apiVersion", apiVersion)
            item.setdefault("kind", kind)
        return {"kind": f"{kind}List", "apiVersion": apiVersion, "metadata": metadata, "items": items}

    def control(self, method, path, query, body):
        cluster = self.cluster
        with cluster.lock:
            if path == "/_test/faults" and method == "POST":
                return add_fault(cluster.faults, body)
            if path == "/_test/users" and method == "POST":
                user = json.loads(body)
                key = ("token:" + user["token"]) if user.get("token") else ("cn:" + user["commonName"])
                cluster.users[key] = {"name": user["name"], "rules": user.get("rules", [])}
                return {"users": len(cluster.users)}
            if path == "/_test/requests" and method == "GET":
                return requests_in(cluster.log, query.get("namespace"))
            if path == "/_test/watches/close" and method == "POST":
                close_all(self.changes)
                return {"closed": True}
            if path == "/_test/pods/end" and method == "POST":
                request = json.loads(body)
                pod = cluster.get("pods", request["namespace"], request["name"])
                if not (cluster.inert or any((cluster.images.get(c["image"]) or {}).get("inert") for c in pod["spec"]["containers"])):
                    raise APIError(400, "BadRequest", "only inert pods (--inert-pods, or an inert image) are ended by hand")
                cluster.end_inert(pod, int(request.get("exitCode", 0)))
                return {"phase": pod["status"]["phase"]}
            if path == "/_test/stats" and method == "GET":
                return {**cluster.counters, "processes": sum(1 for p in cluster.processes.values() if p.poll() is None)}
        raise APIError(404, "NotFound", f"no test control {method} {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True, help="directory for certificates, kubeconfig, url and pod logs")
    parser.add_argument("--images", help='JSON: {"image": {"entrypoint": [...], "cmd": [...], "env": {...}, "user": "65532"}} the node "has"')
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--inert-pods", action="store_true", help="pods run no process: Running until deleted or ended by /_test/pods/end")
    arguments = parser.parse_args()
    os.makedirs(arguments.state, exist_ok=True)
    images = json.load(open(arguments.images)) if arguments.images else {}
    logs = os.path.join(arguments.state, "pods")
    os.makedirs(logs, exist_ok=True)
    volumes = os.path.join(arguments.state, "volumes")
    os.makedirs(volumes, exist_ok=True)
    cluster = Cluster(images, logs, volumes)
    cluster.inert = arguments.inert_pods
    changes = ChangeLog(cluster, public)
    threading.Thread(target=changes.run_forever, daemon=True).start()
    Handler.changes = changes
    admin_token = uuid.uuid4().hex
    Handler.cluster = cluster
    Handler.admin_token = admin_token
    server, url, ca = serve_tls(Handler, arguments.state, arguments.port)
    Handler.port = server.server_address[1]
    ca_data = base64.b64encode(open(ca, "rb").read()).decode()
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "test", "preferences": {},
        "clusters": [{"name": "test", "cluster": {"server": url, "certificate-authority-data": ca_data}}],
        "users": [{"name": "admin", "user": {"token": admin_token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin", "namespace": "default"}}],
    }
    with open(os.path.join(arguments.state, "kubeconfig"), "w") as f:
        json.dump(kubeconfig, f, indent=2)
    with cluster.lock:
        cluster.create("namespaces", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})

    run(server, arguments.state, url, cluster.run_forever, cluster.shutdown)


if __name__ == "__main__":
    main()
