#!/usr/bin/env python3
"""Checks the tests' Kubernetes API server with real clients: kubectl and the official Python
client create, list with selectors, watch and delete against it without complaint.

Run: KUBECONFIG=… kube_fidelity.py NAMESPACE   (exit 0 and "ok" when every step held)
"""
import json
import subprocess
import sys
import threading
import time

from kubernetes import client, config, watch

namespace = sys.argv[1]


def kubectl(*arguments, stdin=None):
    result = subprocess.run(["kubectl", *arguments], input=stdin, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        sys.exit(f"kubectl {' '.join(arguments)} failed ({result.returncode}): {result.stderr.strip()}")
    if result.stderr.strip():
        sys.exit(f"kubectl {' '.join(arguments)} complained: {result.stderr.strip()}")
    return result.stdout


def check(condition, message):
    if not condition:
        sys.exit("fidelity: " + message)


# kubectl: namespace, a Job and a Secret from a manifest, list by selector, read, delete.
kubectl("create", "namespace", namespace)
manifest = f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: kubectl-job, namespace: {namespace}, labels: {{made-by: kubectl, tier: test}}}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: "busybox:1.36", command: [sh, -c, "exit 0"]}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: kubectl-secret, namespace: {namespace}, labels: {{made-by: kubectl}}}}
stringData: {{KEY: value}}
"""
kubectl("create", "-f", "-", stdin=manifest)
names = kubectl("get", "jobs", "-n", namespace, "-l", "made-by=kubectl,tier in (test)", "-o", "name").split()
check(names == ["job.batch/kubectl-job"], f"kubectl get jobs by selector: {names}")
check(kubectl("get", "jobs", "-n", namespace, "-l", "made-by=someone-else", "-o", "name").strip() == "", "a selector that matches nothing")
table = kubectl("get", "jobs", "-n", namespace)
check("kubectl-job" in table, f"kubectl get jobs prints the Job: {table}")
secret = json.loads(kubectl("get", "secret", "kubectl-secret", "-n", namespace, "-o", "json"))
check(secret["data"]["KEY"] == "dmFsdWU=", f"stringData became data: {secret.get('data')}")
for _ in range(100):
    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-l", "job-name=kubectl-job", "-o", "json"))["items"]
    if pods and pods[0]["status"]["phase"] == "Succeeded":
        break
    time.sleep(0.1)
check(pods and pods[0]["status"]["phase"] == "Succeeded", f"the Job's pod ran: {[p['status'] for p in pods]}")
kubectl("delete", "job", "kubectl-job", "-n", namespace)
kubectl("delete", "secret", "kubectl-secret", "-n", namespace)
check(kubectl("get", "jobs", "-n", namespace, "-o", "name").strip() == "", "the Job is gone")

# The official Python client: typed models in and out, selectors, pages, delete with propagation.
config.load_kube_config()
batch, core = client.BatchV1Api(), client.CoreV1Api()
for index in range(3):
    job = client.V1Job(
        api_version="batch/v1", kind="Job",
        metadata=client.V1ObjectMeta(name=f"python-{index}", labels={"made-by": "python", "index": str(index)}),
        spec=client.V1JobSpec(backoff_limit=0, template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
            restart_policy="Never", node_selector={"pool": "none"},
            containers=[client.V1Container(name="main", image="busybox:1.36", command=["true"])]))))
    created = batch.create_namespaced_job(namespace, job)
    check(created.metadata.uid and created.spec.selector.match_labels, "the server filled in uid and selector")
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name=f"python-{index}", labels={"made-by": "python"}, owner_references=[client.V1OwnerReference(
            api_version="batch/v1", kind="Job", name=f"python-{index}", uid=created.metadata.uid)]),
        string_data={"KEY": "value"}))
stale = core.read_namespaced_secret("python-0", namespace)
core.patch_namespaced_secret("python-0", namespace, {"metadata": {"annotations": {"touched": "yes"}}})
try:
    core.replace_namespaced_secret("python-0", namespace, stale)
    check(False, "an update with a stale resourceVersion is refused")
except client.ApiException as error:
    check(error.status == 409 and json.loads(error.body)["reason"] == "Conflict", f"409 Conflict: {error.body}")
current = core.read_namespaced_secret("python-0", namespace)
current.metadata.labels["updated"] = "yes"
check(core.replace_namespaced_secret("python-0", namespace, current).metadata.labels["updated"] == "yes", "an update with the current resourceVersion")
page = batch.list_namespaced_job(namespace, label_selector="made-by=python", limit=2)
check(len(page.items) == 2 and page.metadata._continue, "a first page of 2 with a continue token")
rest = batch.list_namespaced_job(namespace, label_selector="made-by=python", limit=2, _continue=page.metadata._continue)
check(len(rest.items) == 1 and not rest.metadata._continue, "the last page")
check([j.metadata.name for j in batch.list_namespaced_job(namespace, label_selector="index notin (0,1)").items] == ["python-2"], "notin")
try:
    batch.read_namespaced_job("absent", namespace)
    check(False, "reading an absent Job fails")
except client.ApiException as error:
    body = json.loads(error.body)
    check(error.status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound", f"404 as a Status: {error.body}")
for index in range(3):
    batch.delete_namespaced_job(f"python-{index}", namespace, propagation_policy="Background")
for _ in range(100):
    if not core.list_namespaced_secret(namespace, label_selector="made-by=python").items:
        break
    time.sleep(0.1)
check(not core.list_namespaced_secret(namespace, label_selector="made-by=python").items, "owned Secrets were garbage-collected")
# Watches: the Python client's watch from a list's resourceVersion sees a pod come, run and go,
# with bookmarks; a version older than the server's change log is 410 Expired; `kubectl get -w`
# prints each change as it happens.
listed = core.list_namespaced_pod(namespace, label_selector="made-by=watch")
seen = []


def follow():
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_pod, namespace, label_selector="made-by=watch",
                               resource_version=listed.metadata.resource_version, allow_watch_bookmarks=True, timeout_seconds=30):
        raw = event["raw_object"]
        seen.append((event["type"], raw["metadata"].get("name"), (raw.get("status") or {}).get("phase")))
        if event["type"] == "DELETED":
            stream.stop()


watcher = threading.Thread(target=follow)
watcher.start()
printed = subprocess.Popen(["kubectl", "get", "pods", "-n", namespace, "-l", "made-by=watch", "-w", "--no-headers"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(1)
core.create_namespaced_pod(namespace, client.V1Pod(
    metadata=client.V1ObjectMeta(name="watched", labels={"made-by": "watch"}),
    spec=client.V1PodSpec(restart_policy="Never", containers=[
        client.V1Container(name="main", image="busybox:1.36", command=["/bin/sh", "-c", "sleep 1.5"])])))
for _ in range(100):
    if core.read_namespaced_pod("watched", namespace).status.phase == "Succeeded":
        break
    time.sleep(0.1)
core.delete_namespaced_pod("watched", namespace)
watcher.join(30)
time.sleep(1)
printed.terminate()
out, err = printed.communicate(timeout=10)
kinds = [kind for kind, _, _ in seen]
changes = [kind for kind in kinds if kind != "BOOKMARK"]
check(changes and changes[0] == "ADDED" and changes[-1] == "DELETED", f"the watch saw the pod come and go: {seen}")
check({"Running", "Succeeded"} <= {phase for kind, _, phase in seen if kind == "MODIFIED"}, f"and run: {seen}")
check("BOOKMARK" in kinds, f"bookmarks were sent: {seen}")
check(all(name == "watched" for kind, name, _ in seen if kind != "BOOKMARK"), f"only what the selector matches: {seen}")
lines = [line for line in out.splitlines() if line.startswith("watched")]
check(len(lines) >= 3 and not err.strip(), f"kubectl get -w printed each change: {out!r} {err!r}")
try:
    for _ in watch.Watch().stream(core.list_namespaced_pod, namespace, resource_version="1", timeout_seconds=5):
        check(False, "a watch from a version older than the change log gets no events")
    check(False, "a watch from a version older than the change log fails")
except client.ApiException as error:
    check(error.status == 410 and "Expired" in str(error), f"410 Expired: {error}")
core.delete_namespace(namespace)
print("ok")
