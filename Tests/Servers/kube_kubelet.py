"""The tests' Kubernetes node: the scheduler's one node and its kubelet, as a mixin of the test
API server's Cluster (which holds the objects, the images and the lock).

A schedulable pod whose images are known runs its containers as local processes: the init
containers one at a time, in order, each to completion (one that fails fails the pod:
restartPolicy Never), then the main container. Volumes are `emptyDir` directories on this
machine; a container's volumeMounts are honoured by putting the volume's directory in place of
the mountPath in its command, arguments and working directory (the processes share this
machine's filesystem, so that is how a mount is seen). Before a container starts, the kubelet's
checks run: Secrets of envFrom and secretKeyRef, and `runAsNonRoot` against the image's user
(images.json `user`, as an image config's User: empty is root) — both CreateContainerConfigError
with the kubelet's messages. Processes run as this machine's user whatever runAsUser says.
"""
import base64
import os
import shutil
import signal
import subprocess
import time
import uuid

NODE = "runway-test-node"
NODE_LABELS = {"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}


def now_text(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t or time.time()))


def waiting_status(container, reason, message=None):
    state = {"reason": reason}
    if message is not None:
        state["message"] = message
    return {"name": container["name"], "image": container["image"], "imageID": "", "ready": False, "restartCount": 0,
            "started": False, "state": {"waiting": state}, "lastState": {}}


class Kubelet:
    def init_kubelet(self, images, log_directory, volume_directory):
        self.images = images
        self.log_directory = log_directory
        self.volume_directory = volume_directory
        self.processes = {}  # pod uid → Popen of the container running now
        self.running = {}  # pod uid → ("init" | "main", index) of that container
        self.kills = {}  # pod uid → SIGKILL deadline
        self.pulls = {}  # pod uid → attempts
        self.inert = False  # pods run no process (see run_inert)

    def signal(self, uid, number, group=True):
        process = self.processes.get(uid)
        if process and process.poll() is None:
            try:
                os.killpg(process.pid, number) if group else os.kill(process.pid, number)
            except ProcessLookupError:
                pass

    def process_alive(self, uid):
        return uid in self.processes and self.processes[uid].poll() is None

    def sync_pod(self, key, pod):
        meta, spec, status = pod["metadata"], pod["spec"], pod["status"]
        uid = meta["uid"]
        process = self.processes.get(uid)
        if meta.get("deletionTimestamp"):
            if process is None or process.poll() is not None:
                del self.objects["pods"][key]
                self.processes.pop(uid, None)
                shutil.rmtree(os.path.join(self.volume_directory, uid), ignore_errors=True)
            elif time.time() >= self.kills.get(uid, 0):
                self.signal(uid, signal.SIGKILL)
            return
        if status.get("phase") in ("Succeeded", "Failed"):
            return
        before = repr(status)
        if process is not None:
            code = process.poll()
            if code is not None:
                self.container_ended(pod, code if code >= 0 else 128 - code)
        elif not spec.get("nodeName"):
            selector = spec.get("nodeSelector") or {}
            already = any(c.get("reason") == "Unschedulable" for c in status.get("conditions") or [])
            if any(NODE_LABELS.get(k) != v for k, v in selector.items()):
                if already:
                    return  # still unschedulable, since the condition's lastTransitionTime
                status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastProbeTime": None,
                                         "lastTransitionTime": now_text(),
                                         "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. "
                                                    "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."}]
            else:
                spec["nodeName"] = NODE
                status["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now_text()}]
        else:
            self.start_next(pod)
        if repr(status) != before:
            meta["resourceVersion"] = self.next_revision()

    def container_ended(self, pod, exit_code):
        meta, spec, status = pod["metadata"], pod["spec"], pod["status"]
        uid = meta["uid"]
        kind, index = self.running.pop(uid)
        del self.processes[uid]
        statuses = status["initContainerStatuses" if kind == "init" else "containerStatuses"]
        started = statuses[index]["state"].get("running", {}).get("startedAt", now_text())
        statuses[index].update(ready=kind == "init" and exit_code == 0, started=False, state={"terminated": {
            "exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error", "startedAt": started,
            "finishedAt": now_text(), "containerID": f"containerd://{uid}-{kind}-{index}"}})
        if kind == "init" and exit_code == 0:
            self.start_next(pod)
            return
        status["phase"] = "Succeeded" if exit_code == 0 else "Failed"
        status["conditions"] = [c if c["type"] not in ("Ready", "ContainersReady") else {**c, "status": "False", "reason": "PodCompleted"}
                                for c in status["conditions"]]

    def start_next(self, pod):
        """Starts the first init container that has not completed, else the main container."""
        spec, status = pod["spec"], pod["status"]
        status.setdefault("startTime", now_text())
        status.setdefault("hostIP", "127.0.0.1")
        if self.inert or any((self.images.get(c["image"]) or {}).get("inert") for c in spec["containers"]):
            return self.run_inert(pod)
        inits = spec.get("initContainers") or []
        if inits and "initContainerStatuses" not in status:
            status["initContainerStatuses"] = [waiting_status(c, "PodInitializing") for c in inits]
        if "containerStatuses" not in status:
            status["containerStatuses"] = [waiting_status(c, "ContainerCreating") for c in spec["containers"]]
        done = [s for s in status.get("initContainerStatuses", []) if (s["state"].get("terminated") or {}).get("exitCode") == 0]
        if len(done) < len(inits):
            pending = [c["name"] for c in inits[len(done):]]
            status["conditions"] = [c for c in status["conditions"] if c["type"] == "PodScheduled"] + [
                {"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized", "lastProbeTime": None,
                 "lastTransitionTime": now_text(), "message": f"containers with incomplete status: [{' '.join(pending)}]"}]
            status["containerStatuses"] = [waiting_status(c, "PodInitializing") for c in spec["containers"]]
            self.start_container(pod, inits[len(done)], "init", len(done))
        else:
            self.start_container(pod, spec["containers"][0], "main", 0)

    def run_as_non_root_problem(self, pod, container, image):
        """The kubelet's runAsNonRoot check (verifyRunAsNonRoot): the container's security context
        over the pod's; the image's user when no runAsUser is given."""
        pod_context = pod["spec"].get("securityContext") or {}
        context = container.get("securityContext") or {}
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if not non_root:
            return None
        where = f'(pod: "{pod["metadata"]["name"]}_{pod["metadata"]["namespace"]}({pod["metadata"]["uid"]})", container: {container["name"]})'
        user = context.get("runAsUser", pod_context.get("runAsUser"))
        if user is not None:
            return f"container's runAsUser breaks non-root policy {where}" if user == 0 else None
        image_user = str(image.get("user", "")).split(":")[0]
        if image_user == "" or image_user == "0":
            return f"container has runAsNonRoot and image will run as root {where}"
        if not image_user.isdigit():
            return f"container has runAsNonRoot and image has non-numeric user ({image_user}), cannot verify user is non-root {where}"
        return None

    def start_container(self, pod, container, kind, index):
        meta, spec, status = pod["metadata"], pod["spec"], pod["status"]
        statuses = status["initContainerStatuses" if kind == "init" else "containerStatuses"]

        def waiting(reason, message):
            statuses[index] = waiting_status(container, reason, message)

        image = self.images.get(container["image"])
        if image is None:
            attempts = self.pulls[meta["uid"]] = self.pulls.get(meta["uid"], 0) + 1
            if attempts == 1 or attempts % 20 == 0:
                waiting("ErrImagePull", f'failed to pull and unpack image "{container["image"]}": failed to resolve reference '
                                        f'"{container["image"]}": not found')
            else:
                waiting("ImagePullBackOff", f'Back-off pulling image "{container["image"]}"')
            return
        problem = self.run_as_non_root_problem(pod, container, image)
        if problem:
            waiting("CreateContainerConfigError", problem)
            return
        environment = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": meta["name"]}
        environment.update(image.get("env", {}))
        for source in container.get("envFrom") or []:
            reference = source.get("secretRef")
            if not reference:
                continue
            secret = self.objects["secrets"].get((meta["namespace"], reference["name"]))
            if secret is None:
                if reference.get("optional"):
                    continue
                waiting("CreateContainerConfigError", f'secret "{reference["name"]}" not found')
                return
            for name, value in (secret.get("data") or {}).items():
                environment[source.get("prefix", "") + name] = base64.b64decode(value).decode()
        for variable in container.get("env") or []:
            reference = (variable.get("valueFrom") or {}).get("secretKeyRef")
            if reference is None:
                environment[variable["name"]] = variable.get("value", "")
                continue
            # As the kubelet does: the Secret's key, or the container cannot be configured.
            secret = self.objects["secrets"].get((meta["namespace"], reference["name"]))
            data = (secret or {}).get("data") or {}
            if secret is None or reference["key"] not in data:
                if reference.get("optional"):
                    continue
                waiting("CreateContainerConfigError", f'secret "{reference["name"]}" not found' if secret is None
                        else f'couldn\'t find key {reference["key"]} in Secret {meta["namespace"]}/{reference["name"]}')
                return
            environment[variable["name"]] = base64.b64decode(data[reference["key"]]).decode()
        mounts = self.mounts(pod, container)
        if isinstance(mounts, str):
            waiting("CreateContainerConfigError", mounts)
            return
        command = container.get("command") or image.get("entrypoint", [])
        arguments = container.get("args") if container.get("args") is not None else ([] if container.get("command") else image.get("cmd", []))
        argv = [self.mounted(text, mounts) for text in list(command) + list(arguments)]
        directory = self.mounted(container.get("workingDir") or image.get("workingDir") or "/", mounts)
        log = open(os.path.join(self.log_directory, f"{meta['namespace']}_{meta['name']}.log"), "ab")
        try:
            process = subprocess.Popen(argv, env=environment, cwd=directory,
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        except OSError as error:
            waiting("RunContainerError", f"failed to create containerd task: exec: {argv[0] if argv else ''!r}: {error.strerror}")
            return
        finally:
            log.close()
        self.processes[meta["uid"]] = process
        self.running[meta["uid"]] = (kind, index)
        statuses[index] = {"name": container["name"], "image": container["image"], "imageID": f"sha256:{uuid.uuid4().hex}",
                           "containerID": f"containerd://{meta['uid']}-{kind}-{index}", "ready": kind == "main", "restartCount": 0,
                           "started": True, "state": {"running": {"startedAt": now_text()}}, "lastState": {}}
        if kind == "main":
            status["phase"] = "Running"
            status["podIP"] = "127.0.0.1"
            status["conditions"] = [{"type": condition, "status": "True", "lastProbeTime": None, "lastTransitionTime": now_text()}
                                    for condition in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]

    def mounts(self, pod, container):
        """[(mountPath, directory)] of the container's volumeMounts, longest path first, or the
        kubelet's message when one names no volume of the pod (or a kind this node lacks)."""
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        found = []
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"])
            if volume is None:
                return f'cannot find volume "{mount["name"]}" to mount into container "{container["name"]}"'
            if "emptyDir" not in volume:
                return f'volume "{mount["name"]}": only emptyDir volumes are on this test node'
            directory = os.path.join(self.volume_directory, pod["metadata"]["uid"], mount["name"])
            os.makedirs(directory, exist_ok=True)
            os.chmod(directory, 0o777)  # as the kubelet makes an emptyDir
            found.append((mount["mountPath"].rstrip("/"), directory))
        return sorted(found, key=lambda m: -len(m[0]))

    @staticmethod
    def mounted(text, mounts):
        for path, directory in mounts:
            if text == path or text.startswith(path + "/"):
                return directory + text[len(path):]
        return text

    def run_inert(self, pod):
        """Inert pods (--inert-pods, or an image marked "inert" in images.json): whatever its images, a scheduled pod's init containers count
        as completed and its container as running, with no process, until the pod is deleted or
        ended by /_test/pods/end (end_inert). So thousands of pods fit on one machine."""
        spec, status = pod["spec"], pod["status"]
        if status.get("phase") == "Running":
            return
        status["initContainerStatuses"] = [
            {"name": c["name"], "image": c["image"], "imageID": "", "ready": True, "restartCount": 0, "started": False,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now_text(), "finishedAt": now_text()}},
             "lastState": {}} for c in spec.get("initContainers") or []]
        if not status["initContainerStatuses"]:
            del status["initContainerStatuses"]
        status["containerStatuses"] = [
            {"name": c["name"], "image": c["image"], "imageID": "", "containerID": f"containerd://{pod['metadata']['uid']}-main-{i}",
             "ready": True, "restartCount": 0, "started": True, "state": {"running": {"startedAt": now_text()}}, "lastState": {}}
            for i, c in enumerate(spec["containers"])]
        status["phase"] = "Running"
        status["podIP"] = "127.0.0.1"
        status["conditions"] = [{"type": condition, "status": "True", "lastProbeTime": None, "lastTransitionTime": now_text()}
                                for condition in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]

    def end_inert(self, pod, exit_code):
        """Ends an inert pod's container with `exit_code`, as if its process had exited."""
        status = pod["status"]
        if status.get("phase") != "Running":
            raise ValueError("the pod is not running")
        for container in status["containerStatuses"]:
            started = container["state"].get("running", {}).get("startedAt", now_text())
            container.update(ready=False, started=False, state={"terminated": {
                "exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error", "startedAt": started,
                "finishedAt": now_text(), "containerID": container.get("containerID", "")}})
        status["phase"] = "Succeeded" if exit_code == 0 else "Failed"
        status["conditions"] = [c if c["type"] not in ("Ready", "ContainersReady") else {**c, "status": "False", "reason": "PodCompleted"}
                                for c in status["conditions"]]
        pod["metadata"]["resourceVersion"] = self.next_revision()

    def shutdown(self):
        for uid in list(self.processes):
            self.signal(uid, signal.SIGKILL)
