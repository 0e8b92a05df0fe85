"""The tests' Nomad client node, as a mixin of the test API server's Cluster (which holds the
jobs, allocations, images and the lock).

An allocation's tasks run as local processes, in Nomad's lifecycle order: every `prestart`
(non-sidecar) task first, one at a time, each to completion — one that fails fails the
allocation, and the main task never starts —, then the main task (Runway sends one; a group's
other main tasks are not run). `raw_exec`/`exec` run `Config.command` with `Config.args`;
`docker` runs the image's entrypoint and command from --images (or the task's own). The
allocation directory is a directory on this machine shared by the group's tasks: it is in
NOMAD_ALLOC_DIR, and a docker task's `/alloc/...` paths in its entrypoint, command and arguments
are put there (the processes share this machine's filesystem, so that is how the mount is seen).
"""
import os
import shutil
import signal
import subprocess
import time

from testserver import control_loop

NODE = {"ID": "4f1c5d3e-0000-4000-8000-000000000001", "Name": "runway-test-node", "Datacenter": "dc1",
        "attrs": {"${node.class}": "ci", "${node.datacenter}": "dc1", "${attr.kernel.name}": "linux", "${attr.cpu.arch}": "amd64"}}


def clock_text():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def ordered_tasks(group):
    """The tasks the client runs, in order: prestart (non-sidecar) tasks, then the first main task."""
    tasks = group["Tasks"]
    prestart = [t for t in tasks if ((t.get("Lifecycle") or {}).get("Hook") == "prestart" and not t["Lifecycle"].get("Sidecar"))]
    main = [t for t in tasks if not t.get("Lifecycle")]
    return prestart + main[:1]


class Client:
    def run_forever(self):
        control_loop(self.lock, self.step, "nomad_apiserver")

    def step(self):
        for alloc_id, alloc in list(self.allocations.items()):
            tasks = ordered_tasks(alloc["_group"])
            stage = alloc.setdefault("_stage", 0)
            task = tasks[min(stage, len(tasks) - 1)]
            state = alloc["TaskStates"][task["Name"]]
            process = alloc.get("_process")
            if alloc["DesiredStatus"] == "stop":
                if process is not None and process.poll() is None:
                    if "_kill_at" not in alloc:
                        signal_name = task.get("KillSignal") or "SIGINT"
                        self.signal(process, getattr(signal, signal_name, signal.SIGINT), group=False)  # the task's process, as Nomad does
                        alloc["_kill_at"] = time.time() + (task.get("KillTimeout") or 5_000_000_000) / 1e9
                        state["Events"].append(self.event("Killing", f"Sent interrupt. Waiting {task.get('KillTimeout', 5e9) / 1e9:.0f}s before force killing"))
                    elif time.time() >= alloc["_kill_at"]:
                        self.signal(process, signal.SIGKILL)
                    continue
                if alloc["_key"] not in self.jobs:  # purged: the allocation is garbage-collected once stopped
                    del self.allocations[alloc_id]
                    shutil.rmtree(self.alloc_dir(alloc), ignore_errors=True)
                    continue
                if alloc["ClientStatus"] in ("pending", "running"):
                    for name, other in alloc["TaskStates"].items():
                        if other["State"] != "dead":
                            other.update(State="dead", FinishedAt=clock_text())
                            other["Events"].append(self.event("Killed", "Task successfully killed"))
                    alloc.update(ClientStatus="complete", ClientDescription="All tasks have completed", ModifyIndex=self.next_index())
                continue
            if process is None and alloc["ClientStatus"] in ("pending", "running") and stage < len(tasks):
                self.start(alloc, task, state)
            elif process is not None and process.poll() is not None:
                self.ended(alloc, task, state, process.poll(), main=stage == len(tasks) - 1)

    def ended(self, alloc, task, state, code, main):
        exit_code, sig = (code, 0) if code >= 0 else (0, -code)
        failed = code != 0
        state["Events"].append(self.event("Terminated", f"Exit Code: {exit_code}" + (f", Signal: {sig}" if sig else ""), ExitCode=exit_code, Signal=sig))
        if failed:
            state["Events"].append(self.event("Not Restarting", "Policy allows no restarts", RestartReason="Policy allows no restarts"))
        state.update(State="dead", Failed=failed, FinishedAt=clock_text())
        alloc["_process"] = None
        alloc["_stage"] += 1
        if main or failed:
            if failed and not main:  # a failed prestart task: the main task is never started
                for name, other in alloc["TaskStates"].items():
                    if other["State"] == "pending":
                        other.update(State="dead", Failed=True, FinishedAt=clock_text())
                        other["Events"].append(self.event("Sibling Task Failed", f"Task's sibling {task['Name']!r} failed",
                                                          FailedSibling=task["Name"]))
            alloc.update(ClientStatus="failed" if failed else "complete",
                         ClientDescription="Failed tasks" if failed else "All tasks have completed", ModifyIndex=self.next_index())
        else:
            alloc.update(ModifyIndex=self.next_index())

    def alloc_dir(self, alloc):
        return os.path.join(self.logs, "allocs", alloc["ID"])

    def start(self, alloc, task, state):
        config = task.get("Config") or {}
        driver = task.get("Driver")
        shared = os.path.join(self.alloc_dir(alloc), "alloc")
        os.makedirs(shared, exist_ok=True)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NOMAD_ALLOC_ID": alloc["ID"],
               "NOMAD_JOB_ID": alloc["JobID"], "NOMAD_NAMESPACE": alloc["Namespace"], "NOMAD_REGION": alloc["_key"][0],
               "NOMAD_TASK_NAME": task["Name"], "NOMAD_GROUP_NAME": alloc["TaskGroup"], "NOMAD_DC": NODE["Datacenter"],
               "NOMAD_ALLOC_DIR": shared}
        if driver == "docker":
            image = self.images.get(config.get("image", ""))
            if image is None:
                return self.driver_failure(alloc, state, f'Failed to pull `{config.get("image")}`: API error (404): manifest for {config.get("image")} not found')
            env.update(image.get("env", {}))
            argv = (config.get("entrypoint") or image.get("entrypoint", [])) + ([config["command"]] if config.get("command") else []) + (
                config.get("args") if config.get("args") is not None else ([] if config.get("command") else image.get("cmd", [])))
            argv = [shared + text[len("/alloc"):] if text == "/alloc" or text.startswith("/alloc/") else text for text in argv]
        elif driver in ("raw_exec", "exec"):
            if not config.get("command"):
                return self.driver_failure(alloc, state, "failed to launch command: no command given")
            argv = [config["command"]] + list(config.get("args") or [])
        else:
            return self.driver_failure(alloc, state, f'missing drivers: driver "{driver}" is not available on this node')
        env.update(task.get("Env") or {})
        state["Events"].append(self.event("Task Setup", "Building Task Directory"))
        log = open(os.path.join(self.logs, f"{alloc['JobID']}-{alloc['ID'][:8]}.log"), "ab")
        try:
            process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        except OSError as error:
            return self.driver_failure(alloc, state, f"failed to launch command with executor: {error.strerror}: {argv[0]}")
        finally:
            log.close()
        alloc["_process"] = process
        state.update(State="running", StartedAt=clock_text())
        state["Events"].append(self.event("Started", "Task started by client"))
        # As Nomad's client: pending while any task is (the main one during prestart), then running.
        main = not task.get("Lifecycle")
        alloc.update(ClientStatus="running" if main else "pending", ClientDescription="Tasks are running" if main else "No tasks have started",
                     ModifyIndex=self.next_index())

    def driver_failure(self, alloc, state, message):
        state["Events"].append(self.event("Driver Failure", message, DriverError=message, FailsTask=True))
        state["Events"].append(self.event("Not Restarting", "Error was unrecoverable", RestartReason="Error was unrecoverable"))
        state.update(State="dead", Failed=True)
        alloc.update(ClientStatus="failed", ClientDescription="Failed tasks", ModifyIndex=self.next_index())

    @staticmethod
    def signal(process, number, group=True):
        try:
            os.killpg(process.pid, number) if group else os.kill(process.pid, number)
        except ProcessLookupError:
            pass

    def shutdown(self):
        for alloc in self.allocations.values():
            if alloc.get("_process") is not None:
                self.signal(alloc["_process"], signal.SIGKILL)
