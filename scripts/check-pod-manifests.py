#!/usr/bin/env python3
"""Checks Manifests/ against the platforms' own schemas: the Kubernetes files with the official
OpenAPI schemas (kubernetes-validate, strict), the ECS task definition with botocore's model of
RegisterTaskDefinition, the Nomad job with an HCL parser. Then what a shipped workload must do:
keep its state where a restart does not lose it, and take the API token from its platform's
secret store. Exits non-zero, naming the file and the problem, on any failure.
RUNWAY_MANIFESTS_ROOT checks another copy (the tests break one on purpose)."""
import json
import re
import os
import pathlib
import subprocess
import sys
import tempfile

import hcl2
import yaml

import botocore.session
from botocore.validate import ParamValidator

root = pathlib.Path(os.environ.get("RUNWAY_MANIFESTS_ROOT") or pathlib.Path(__file__).resolve().parent.parent / "Manifests")
failures = 0

kubernetes = sorted(str(p) for p in (root / "kubernetes").rglob("*.yaml"))  # ha/ too
result = subprocess.run(["kubernetes-validate", "--strict", "--quiet", *kubernetes], capture_output=True, text=True)
if result.returncode != 0:
    print(result.stdout + result.stderr, end="")
    failures += 1

model = botocore.session.get_session().get_service_model("ecs")
shape = model.operation_model("RegisterTaskDefinition").input_shape
path = root / "ecs" / "task-definition.json"
report = ParamValidator().validate(json.loads(path.read_text()), shape)
if report.has_errors():
    print(f"{path}: {report.generate_report()}")
    failures += 1

# The manifest directory the ConfigMap carries must itself be valid Runway manifests, for a
# controller with only the launchers its Deployment enables.
runway = os.environ.get("RUNWAY_BINARY")
if runway:
    configmap = yaml.safe_load((root / "kubernetes" / "configmap.yaml").read_text())
    with tempfile.TemporaryDirectory() as directory:
        for name, text in configmap["data"].items():
            pathlib.Path(directory, name).write_text(text)
        result = subprocess.run([runway, "validate", directory, "--plugins", "kubernetes"], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"{root / 'kubernetes' / 'configmap.yaml'}: its manifests are invalid:\n{result.stderr}", end="")
            failures += 1

    # Every RUNWAY_* variable a Deployment sets is one the controller reads.
    known = set(re.findall(r"RUNWAY_[A-Z_]+", subprocess.run([runway, "controller", "--help"], capture_output=True, text=True).stdout))
    for path in kubernetes:
        for document in yaml.safe_load_all(pathlib.Path(path).read_text()):
            if not document or document.get("kind") != "Deployment":
                continue
            for container in document["spec"]["template"]["spec"]["containers"]:
                for entry in container.get("env", []):
                    name = entry["name"]
                    if name.startswith("RUNWAY_") and name not in known:
                        print(f"{path}: {name} is not a variable `runway controller` reads")
                        failures += 1



def fail(path, message):
    global failures
    print(f"{path}: {message}")
    failures += 1


# Durable state and the API token, per workload. A workload whose store is PostgreSQL
# (RUNWAY_STORE) keeps its state there; one on the embedded SQLite store needs its state
# directory on a volume that outlives the task.
documents = {path: [d for d in yaml.safe_load_all(pathlib.Path(path).read_text()) if d] for path in kubernetes}
claims = {d["metadata"]["name"] for docs in documents.values() for d in docs if d["kind"] == "PersistentVolumeClaim"}
secrets = {d["metadata"]["name"] for docs in documents.values() for d in docs if d["kind"] == "Secret"}
for path, docs in documents.items():
    for document in docs:
        if document["kind"] != "Deployment":
            continue
        spec = document["spec"]
        pod = spec["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            mounts = container.get("volumeMounts", [])
            def volume_at(directory):
                for mount in mounts:
                    if directory == mount["mountPath"] or directory.startswith(mount["mountPath"].rstrip("/") + "/"):
                        return volumes.get(mount["volume"] if "volume" in mount else mount["name"])
                return None
            if "RUNWAY_STORE" not in env:
                state = env.get("RUNWAY_STATE_DIR", {}).get("value", "./.runway")
                volume = volume_at(state)
                claim = (volume or {}).get("persistentVolumeClaim", {}).get("claimName")
                if claim is None:
                    fail(path, f"{container['name']} keeps its SQLite state in {state}, which a restart loses: mount a PersistentVolumeClaim there")
                elif claim not in claims:
                    fail(path, f"{container['name']} mounts the claim {claim}, which no shipped file declares")
                if spec.get("replicas", 1) != 1 or spec.get("strategy", {}).get("type") != "Recreate":
                    fail(path, "a controller on a ReadWriteOnce state volume runs one replica with the Recreate strategy")
            token_file = env.get("RUNWAY_API_TOKEN_FILE", {}).get("value")
            token_ref = env.get("RUNWAY_API_TOKEN", {}).get("valueFrom", {}).get("secretKeyRef", {}).get("name")
            secret = (volume_at(token_file) or {}).get("secret", {}).get("secretName") if token_file else token_ref
            if secret is None:
                fail(path, f"{container['name']} takes no API token from a Secret (RUNWAY_API_TOKEN_FILE in a secret volume)")
            elif secret not in secrets:
                fail(path, f"{container['name']} takes its API token from the Secret {secret}, which no shipped file declares")

configmaps = [(path, d) for path, docs in documents.items() for d in docs if d["kind"] == "ConfigMap"]
for path, document in configmaps:
    for name, text in document.get("data", {}).items():
        for manifest in yaml.safe_load_all(text):
            spec = (manifest or {}).get("spec", {})
            if manifest and manifest.get("kind") == "RunnerProfile" and spec.get("default") and spec.get("plugin") != "kubernetes":
                fail(path, f"the ConfigMap's default profile {manifest['metadata']['name']} runs on {spec.get('plugin', 'local')}, not kubernetes")


def unquote(value):
    return value[1:-1] if isinstance(value, str) and value.startswith('"') and value.endswith('"') else value


nomad_path = root / "nomad" / "runway.nomad.hcl"
with open(nomad_path) as handle:
    nomad = hcl2.load(handle)
for job in nomad["job"]:
    for groups in job.values():
        for group_entry in groups["group"]:
            for group in group_entry.values():
                host_volumes = {unquote(name) for v in group.get("volume", []) for name, body in v.items()
                                if unquote(body.get("type")) in ("host", "csi")}
                for task_entry in group["task"]:
                    for task in task_entry.values():
                        env = {k: unquote(v) for e in task.get("env", []) for k, v in e.items() if k != "__is_block__"}
                        if "RUNWAY_STORE" not in env:
                            state = env.get("RUNWAY_STATE_DIR", "./.runway")
                            mounted = [m for m in task.get("volume_mount", []) if unquote(m["volume"]) in host_volumes
                                       and (state + "/").startswith(unquote(m["destination"]).rstrip("/") + "/")]
                            if not mounted:
                                fail(nomad_path, f"the controller keeps its SQLite state in {state}, which a reschedule loses: mount a host or CSI volume there")
                        token_file = env.get("RUNWAY_API_TOKEN_FILE", "")
                        templates = [t for t in task.get("template", []) if "nomadVar" in unquote(t.get("data", ""))]
                        if not any(token_file.endswith("/" + unquote(t["destination"]).split("/", 1)[-1]) for t in templates):
                            fail(nomad_path, "the controller takes no API token from a Nomad Variable (a template into RUNWAY_API_TOKEN_FILE)")

task_definition = json.loads((root / "ecs" / "task-definition.json").read_text())
efs = {v["name"] for v in task_definition.get("volumes", []) if "efsVolumeConfiguration" in v}
for container in task_definition["containerDefinitions"]:
    env = {e["name"]: e["value"] for e in container.get("environment", [])}
    secret_names = {e["name"] for e in container.get("secrets", []) if e.get("valueFrom")}
    if "RUNWAY_STORE" not in env and "RUNWAY_STORE" not in secret_names:
        state = env.get("RUNWAY_STATE_DIR", "./.runway")
        if not any(m["sourceVolume"] in efs and (state + "/").startswith(m["containerPath"].rstrip("/") + "/") for m in container.get("mountPoints", [])):
            fail(root / "ecs" / "task-definition.json", f"{container['name']} keeps its SQLite state in {state}, which a new task loses: mount an EFS volume there")
    if "RUNWAY_API_TOKEN" not in secret_names:
        fail(root / "ecs" / "task-definition.json", f"{container['name']} takes no API token from its secrets (RUNWAY_API_TOKEN with valueFrom)")

print(f"{len(kubernetes)} Kubernetes files, 1 ECS task definition and 1 Nomad job checked: {'ok' if not failures else 'FAILED'}")
sys.exit(1 if failures else 0)
