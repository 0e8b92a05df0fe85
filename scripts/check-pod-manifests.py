#!/usr/bin/env python3
"""Checks Manifests/ against the platforms' own schemas: the Kubernetes files with the official
OpenAPI schemas (kubernetes-validate, strict), the ECS task definition with botocore's model of
RegisterTaskDefinition. Exits non-zero, naming the file and the problem, on any failure."""
import json
import re
import os
import pathlib
import subprocess
import sys
import tempfile

import yaml

import botocore.session
from botocore.validate import ParamValidator

root = pathlib.Path(__file__).resolve().parent.parent / "Manifests"
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

print(f"{len(kubernetes)} Kubernetes files and 1 ECS task definition checked: {'ok' if not failures else 'FAILED'}")
sys.exit(1 if failures else 0)
