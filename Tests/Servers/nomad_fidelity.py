#!/usr/bin/env python3
"""Checks the tests' Nomad API server with a real Nomad client library (python-nomad): register,
list, read allocations and deregister against it, with an ACL token and TLS.

Run: nomad_fidelity.py STATE_DIR NAMESPACE   (exit 0 and "ok" when every step held)
"""
import os
import sys
import time

import nomad

state, namespace = sys.argv[1], sys.argv[2]
url = open(os.path.join(state, "url")).read()
token = open(os.path.join(state, "token")).read()
port = int(url.rsplit(":", 1)[1])


def check(condition, message):
    if not condition:
        sys.exit("fidelity: " + message)


client = nomad.Nomad(host="localhost", port=port, secure=True, verify=os.path.join(state, "ca.crt"), token=token, timeout=10)
client.namespace.create_namespace({"Name": namespace, "Description": "fidelity"})
scoped = nomad.Nomad(host="localhost", port=port, secure=True, verify=os.path.join(state, "ca.crt"), token=token, timeout=10,
                     namespace=namespace, region="eu")
job = {"Job": {"ID": "fidelity-1", "Name": "fidelity-1", "Type": "batch", "Datacenters": ["dc1"], "Meta": {"made-by": "python-nomad"},
               "TaskGroups": [{"Name": "g", "Count": 1, "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
                               "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/sh", "args": ["-c", "exit 3"]}}]}]}}
registered = scoped.jobs.register_job(job)
check(registered.get("EvalID"), f"register answers an evaluation: {registered}")
listed = scoped.jobs.get_jobs(prefix="fidelity-")
check([j["ID"] for j in listed] == ["fidelity-1"], f"listed by prefix in the namespace: {listed}")
check(client.jobs.get_jobs(prefix="fidelity-") == [], "not in the default namespace of the global region")
for _ in range(100):
    allocations = scoped.job.get_allocations("fidelity-1")
    if allocations and allocations[0]["ClientStatus"] in ("complete", "failed"):
        break
    time.sleep(0.1)
check(allocations and allocations[0]["ClientStatus"] == "failed", f"the allocation ran and failed: {allocations}")
events = allocations[0]["TaskStates"]["t"]["Events"]
check([e["ExitCode"] for e in events if e["Type"] == "Terminated"] == [3], f"Terminated with exit code 3: {events}")
check(scoped.job.get_job("fidelity-1")["Meta"] == {"made-by": "python-nomad"}, "the job reads back")
scoped.job.deregister_job("fidelity-1", purge=True)
check(scoped.jobs.get_jobs(prefix="fidelity-") == [], "purged")
try:
    nomad.Nomad(host="localhost", port=port, secure=True, verify=os.path.join(state, "ca.crt"), token="wrong", timeout=10).jobs.get_jobs()
    check(False, "a wrong token is refused")
except nomad.api.exceptions.URLNotAuthorizedNomadException as error:
    check(error.nomad_resp.status_code == 403, f"403: {error.nomad_resp.text}")
print("ok")
