"""Running a task's test command in a locked-down container.

The container gets the worktree bind-mounted at ``/repo`` and nothing else:
no network (``network_mode="none"``), a memory limit with swap equal to it (so
"past the limit" means the OOM killer, not slow swapping), CPU and pids limits,
no capabilities, ``no-new-privileges``, an unprivileged user, a read-only root
file system with a small ``/tmp``, an init process to reap zombies, and no TTY
(a TTY would merge stdout and stderr).

docker-py's ``wait(timeout=)`` is only an HTTP read timeout, so the wall clock
is kept here: the container is polled until it exits, the deadline passes or
the caller cancels, then killed and always removed. Every container is labelled
``prtrace.qa=1`` with its job and deadline, so :func:`sweep` can remove those a
crashed worker left behind without touching the running jobs of other workers.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig

from prtrace.errors import DockerError
from prtrace.qa.images import resolve as resolve_image

LABEL = "prtrace.qa"
MOUNT = "/repo"
TEST_UID = 1000


@dataclass(frozen=True)
class Limits:
    """Resource limits of one test run (defaults suit a 2-core, small-repo worker)."""

    memory: str = "1g"
    cpus: float = 1.0
    pids: int = 256
    timeout_s: float = 600.0
    output_cap: int = 64 * 1024  # characters of each stream kept in the trace document
    log_max: str = "16m"  # the engine keeps at most this much output per stream
    tmp_size: str = "256m"


@dataclass
class RunResult:
    image: str
    command: str
    exit_code: int | None
    stdout: str
    stderr: str
    full_stdout: bytes = b""
    full_stderr: bytes = b""
    duration_ms: float = 0.0
    timed_out: bool = False
    oom_killed: bool = False
    cancelled: bool = False
    truncated: bool = False
    container_ms: float = 0.0  # time between start and exit, as the engine saw it
    extra: dict[str, str] = field(default_factory=dict)


class RunnerError(DockerError):
    """The engine failed us (not the tests): an infrastructure error."""


class ImageMissing(RunnerError):
    """The test image is not in the engine and could not be pulled."""


def client_from_env(timeout: int = 120) -> docker.DockerClient:
    """A docker client for ``DOCKER_HOST`` (or the local socket)."""
    try:
        return docker.from_env(timeout=timeout)
    except docker.errors.DockerException as exc:
        raise RunnerError(
            f"no Docker engine reachable at "
            f"{os.environ.get('DOCKER_HOST', 'unix:///var/run/docker.sock')}: {exc}"
        ) from exc


def ensure_image(client: docker.DockerClient, image: str) -> str:
    """The image's name as the engine knows it; pull once if absent, else ImageMissing."""
    name = resolve_image(image)
    try:
        client.images.get(name)
        return name
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as exc:
        raise RunnerError(f"engine error looking up image {name}: {exc}") from exc
    try:
        repo, _, tag = (
            name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "latest")
        )
        client.images.pull(repo, tag=tag or "latest")
        return name
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise ImageMissing(
            f"test image {image!r} is not in the Docker engine and could not be pulled "
            f"({str(exc).strip()[:300]}); standard images are built offline with "
            f"`python -m prtrace.qa.images build --all`"
        ) from exc


def _cap(data: bytes, cap: int) -> tuple[str, bool]:
    text = data.decode("utf-8", "replace")
    if len(text) <= cap:
        return text, False
    head = cap // 4
    tail = cap - head
    return (
        text[:head]
        + f"\n... [{len(text) - cap} characters cut; whole output kept apart] ...\n"
        + text[-tail:]
    ), True


def prepare_worktree(path: Path) -> str:
    """Hand the worktree to the container's user; return the ``user`` to run as.

    As root on the host the tree is chowned to uid 1000 (the images' test
    user); otherwise the container runs as the worker's own uid, which owns
    the tree already. Either way the tests never run as root.
    """
    if os.geteuid() != 0:
        return f"{os.getuid()}:{os.getgid()}"
    for dirpath, dirnames, filenames in os.walk(path):
        os.lchown(dirpath, TEST_UID, TEST_UID)
        for name in filenames + dirnames:
            os.lchown(os.path.join(dirpath, name), TEST_UID, TEST_UID)
    return f"{TEST_UID}:{TEST_UID}"


def run_in_container(
    client: docker.DockerClient,
    *,
    image: str,
    command: str,
    worktree: Path,
    limits: Limits = Limits(),
    env: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Run ``command`` (through ``sh -c``) in ``image`` on ``worktree``; always clean up."""
    name = ensure_image(client, image)
    user = prepare_worktree(worktree)
    started = time.monotonic()
    deadline = started + limits.timeout_s
    all_labels = {
        LABEL: "1",
        "prtrace.deadline": str(int(time.time() + limits.timeout_s)),
        **(labels or {}),
    }
    try:
        container = client.containers.create(
            name,
            command=["sh", "-c", command],
            working_dir=MOUNT,
            user=user,
            environment={"HOME": "/tmp", "CI": "true", **(env or {})},
            volumes={str(worktree): {"bind": MOUNT, "mode": "rw"}},
            network_mode="none",
            mem_limit=limits.memory,
            memswap_limit=limits.memory,
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            read_only=True,
            tmpfs={"/tmp": f"rw,exec,nosuid,nodev,size={limits.tmp_size}"},
            init=True,
            tty=False,
            stdin_open=False,
            labels=all_labels,
            log_config=LogConfig(
                type="json-file", config={"max-size": limits.log_max, "max-file": "1"}
            ),
        )
    except docker.errors.ImageNotFound as exc:
        raise ImageMissing(f"test image {image!r} disappeared: {exc}") from exc
    except docker.errors.APIError as exc:
        raise RunnerError(f"could not create the test container: {exc}") from exc

    timed_out = cancelled = False
    exit_code: int | None = None
    try:
        container.start()
        while True:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            try:
                exit_code = container.wait(timeout=min(remaining, 1.0))["StatusCode"]
                break
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                continue  # only the HTTP read timed out; the container runs on
        if timed_out or cancelled:
            try:
                container.kill()
            except docker.errors.APIError:
                pass  # exited between the check and the kill
            exit_code = None
        duration_ms = (time.monotonic() - started) * 1000
        container.reload()
        state = container.attrs.get("State", {})
        oom = bool(state.get("OOMKilled"))
        out = container.logs(stdout=True, stderr=False)
        err = container.logs(stdout=False, stderr=True)
        container_ms = _engine_runtime_ms(state)
    except docker.errors.APIError as exc:
        raise RunnerError(f"the engine failed during the test run: {exc}") from exc
    finally:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError:
            pass  # sweep() will get it
    stdout, cut_out = _cap(out, limits.output_cap)
    stderr, cut_err = _cap(err, limits.output_cap)
    return RunResult(
        image=name,
        command=command,
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        full_stdout=out,
        full_stderr=err,
        duration_ms=duration_ms,
        timed_out=timed_out,
        oom_killed=oom,
        cancelled=cancelled,
        truncated=cut_out or cut_err,
        container_ms=container_ms,
    )


def _engine_runtime_ms(state: Mapping) -> float:
    """Start-to-finish time of the container's process, from the engine's timestamps."""
    from datetime import datetime

    def parse(ts: str) -> datetime | None:
        if not ts or ts.startswith("0001"):
            return None
        ts = ts.rstrip("Z")
        main, _, frac = ts.partition(".")
        return datetime.fromisoformat(f"{main}.{(frac + '000000')[:6]}")

    start, end = parse(state.get("StartedAt", "")), parse(state.get("FinishedAt", ""))
    return (end - start).total_seconds() * 1000 if start and end else 0.0


def sweep(
    client: docker.DockerClient, *, grace_s: float = 60.0, labels: Mapping[str, str] | None = None
) -> list[str]:
    """Remove QA containers a crashed worker left behind; return their ids.

    Removed: those matching ``labels`` (e.g. a dead worker's id), those past
    their deadline by ``grace_s``, and exited ones older than ``grace_s``.
    Safe to run from every worker at start: a live job's container is younger
    than its deadline, and an exited one is removed by its job within moments.
    """
    removed: list[str] = []
    wanted = dict(labels or {})
    now = time.time()
    for c in client.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}=1"}):
        clabels = c.attrs.get("Labels") or {}
        deadline = float(clabels.get("prtrace.deadline", 0) or 0)
        age = now - float(c.attrs.get("Created", now))
        match = bool(wanted) and all(clabels.get(k) == v for k, v in wanted.items())
        exited = c.attrs.get("State") in ("exited", "dead")
        if match or now > deadline + grace_s or (exited and age > grace_s):
            cid = c.id
            if cid is None:  # the listing always has ids; the stubs allow None
                continue
            try:
                client.api.remove_container(cid, force=True)
                removed.append(cid)
            except docker.errors.NotFound:
                pass
    return removed
