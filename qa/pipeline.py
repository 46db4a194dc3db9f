"""QA of one trace, end to end: the entry point the worker calls.

checkout (mirror → worktree) → the patch (``final_patch``, or rebuilt from the
edit events) checked for unsafe paths → the task's ``test_patch`` if it has one
(applied before both runs, as the SWE-bench harness does) → tests at base →
reset → patch through the ladder → tests again → parse both → verdict. Synchronous and blocking by
design (the worker runs it in a thread); every step is bounded in time
(git and patch subprocesses, the container's wall clock) and ``cancel``
stops a running container within about a second. The worktree and the
containers are removed whatever happens.

Failures are results, not exceptions: a patch that does not apply, an image
that is missing, a run that times out or is OOM-killed, an engine that fails
all come back as a ``TestsResult`` with ``verdict="error"`` and an
``error.kind``. Only cancellation raises (:class:`QACancelled`): a cancelled
job has no result to record.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker

from prtrace.errors import CheckoutError, GitError, PathRefused, PrtraceError, ReplayError
from prtrace.patches import split_files
from prtrace.qa.checkout import Worktree, checkout
from prtrace.qa.parsers import JUNIT_DIR, Instrumented, Parsed, instrument, parse
from prtrace.qa.patching import MalformedPatch, PatchFailed, apply_patch, check_patch
from prtrace.qa.replay import rebuild_patch
from prtrace.qa.runner import (
    MOUNT,
    ImageMissing,
    Limits,
    RunnerError,
    RunResult,
    client_from_env,
    run_in_container,
)
from prtrace.qa.verdict import compare
from prtrace.replay import unverifiable_edits
from prtrace.trace import PatchApplication, QAError, TestCounts, TestsResult, Trace

DEFAULT_IMAGE = "prtrace-test/python:bookworm"


class QACancelled(PrtraceError):
    """The job was cancelled; nothing was decided."""


@dataclass(frozen=True)
class QASettings:
    """What a worker configures once.

    ``cache_dir`` holds the bare mirrors (``mirrors/``) and the per-job
    worktrees (``work/``); keep it on a disk that survives restarts so the
    mirrors stay warm. ``docker_host`` overrides ``DOCKER_HOST``.
    """

    cache_dir: Path
    limits: Limits = Limits()
    docker_host: str | None = None
    default_image: str = DEFAULT_IMAGE
    default_command: str | None = None
    worker_id: str = "local"

    @property
    def mirrors_dir(self) -> Path:
        return Path(self.cache_dir) / "mirrors"

    @property
    def work_dir(self) -> Path:
        return Path(self.cache_dir) / "work"

    def client(self) -> docker.DockerClient:
        if self.docker_host:
            return docker.DockerClient(base_url=self.docker_host, timeout=120)
        return client_from_env()


@dataclass
class QAReport:
    """The result for the trace document, and the whole outputs for the blob store."""

    result: TestsResult
    logs: dict[str, bytes] = field(default_factory=dict)  # "base.stdout", "patched.stderr"...
    timings_ms: dict[str, float] = field(default_factory=dict)


def run_qa(
    trace: Trace,
    *,
    settings: QASettings,
    job_id: str | None = None,
    cancel: threading.Event | None = None,
) -> TestsResult:
    """QA the trace; see :func:`run_qa_report` for the whole outputs as well."""
    return run_qa_report(trace, settings=settings, job_id=job_id, cancel=cancel).result


def run_qa_report(
    trace: Trace,
    *,
    settings: QASettings,
    job_id: str | None = None,
    cancel: threading.Event | None = None,
    client: docker.DockerClient | None = None,
) -> QAReport:
    """QA the trace: the verdict and everything the trace document's ``qa.tests`` holds."""
    task = trace.task
    image = task.test_image or settings.default_image
    command = task.test_command or settings.default_command
    report = QAReport(TestsResult(image=image, command=command))
    res = report.result
    started = time.monotonic()
    clock = _Clock(report.timings_ms)

    def fail(kind: str, message: str) -> QAReport:
        res.verdict, res.ok = "error", False
        res.error = QAError(kind=kind, message=message)  # type: ignore[arg-type]
        res.duration_ms = round((time.monotonic() - started) * 1000, 1)
        return report

    if not command:
        return fail("infrastructure", "the task has no test_command and no default is configured")
    inst = instrument(command, MOUNT)
    res.runner = inst.runner
    try:
        client = client or settings.client()
    except RunnerError as exc:
        return fail("infrastructure", str(exc))
    labels = {
        "prtrace.job": job_id or "",
        "prtrace.trace": trace.trace_id,
        "prtrace.worker": settings.worker_id,
    }
    try:
        clock.start("checkout")
        with checkout(
            task.repository,
            task.commit,
            mirrors_dir=settings.mirrors_dir,
            work_dir=settings.work_dir,
            name=job_id or trace.trace_id,
        ) as tree:
            clock.stop("checkout")
            # The patch first: refusing it needs no container.
            test_patch = task.test_patch or ""
            try:
                with clock("patch_check"):
                    patch = trace.artifacts.final_patch
                    rebuilt = patch is None
                    if patch is None:
                        patch = rebuild_patch(tree, trace.events)
                    check_patch(patch, tree.path)
                    if test_patch.strip():
                        check_patch(test_patch, tree.path)
                        patch = without_files(patch, test_patch)
            except (PathRefused, ReplayError, MalformedPatch) as exc:
                what = (
                    "replaying the edits failed"
                    if isinstance(exc, ReplayError)
                    else "unreadable"
                    if isinstance(exc, MalformedPatch)
                    else "refused"
                )
                res.patch = PatchApplication(
                    method="replay" if patch is None else None,
                    applied=False,
                    detail=str(exc),
                    unverifiable=unverifiable_edits(trace.events),
                )
                return fail("patch_failed", f"patch {what}: {exc}")

            refused = _apply_tests(tree, test_patch, res)
            if refused:
                return fail("patch_failed", refused)
            base, base_parsed = _run(
                client, tree, inst, image, settings, labels, "base", report, cancel, clock
            )
            res.baseline = TestCounts(
                passed=base_parsed.passed, failed=base_parsed.failed, exit_code=base.exit_code
            )
            problem = _run_problem(base, "at base", settings.limits, base_parsed)
            if problem:
                _fill_run(res, base, base_parsed)
                return fail(*problem)

            with clock("apply"):
                tree.reset()
                refused = _apply_tests(tree, test_patch, res)
                if refused:
                    return fail("patch_failed", refused)
                try:
                    res.patch = apply_patch(tree, patch)
                except PatchFailed as exc:
                    res.patch = exc.application
                    return fail("patch_failed", str(exc))
                except (PathRefused, MalformedPatch) as exc:  # git's own parse saw more
                    res.patch = PatchApplication(applied=False, detail=str(exc))
                    return fail("patch_failed", f"patch refused: {exc}")
                if rebuilt:
                    res.patch.method = f"replay + {res.patch.method}"
                res.patch.unverifiable = unverifiable_edits(trace.events)

            after, after_parsed = _run(
                client, tree, inst, image, settings, labels, "patched", report, cancel, clock
            )
            _fill_run(res, after, after_parsed)
            problem = _run_problem(after, "with the patch", settings.limits, after_parsed)
            if problem:
                return fail(*problem)

            with clock("verdict"):
                cmp = compare(base_parsed, after_parsed, list(task.fail_to_pass))
            res.verdict = cmp.verdict
            res.fail_to_pass, res.pass_to_pass, res.pass_to_fail = (
                cmp.fail_to_pass,
                cmp.pass_to_pass,
                cmp.pass_to_fail,
            )
            res.ok = cmp.verdict == "resolved"
            clock.start("cleanup")
        clock.stop("cleanup")
    except (CheckoutError, GitError) as exc:
        return fail("infrastructure", f"checkout: {exc}")
    except ImageMissing as exc:
        return fail("image_missing", str(exc))
    except RunnerError as exc:
        return fail("infrastructure", str(exc))
    res.duration_ms = round((time.monotonic() - started) * 1000, 1)
    return report


def without_files(patch: str, test_patch: str) -> str:
    """``patch`` less the files ``test_patch`` changes: the task's tests win, as in the
    SWE-bench harness, which puts the test files back to the task's version."""
    taken = {section.path for section in split_files(test_patch)}
    return "".join(s.text for s in split_files(patch) if s.path not in taken)


def _apply_tests(tree: Worktree, test_patch: str, res: TestsResult) -> str | None:
    """Apply the task's ``test_patch``; why not, if it did not apply."""
    if not test_patch.strip():
        return None
    try:
        apply_patch(tree, test_patch)
    except PatchFailed as exc:
        res.patch = exc.application
        return f"the task's test_patch does not apply: {exc}"
    except (PathRefused, MalformedPatch) as exc:
        return f"the task's test_patch was refused: {exc}"
    return None


def _run(
    client,
    tree: Worktree,
    inst: Instrumented,
    image: str,
    settings: QASettings,
    labels: dict[str, str],
    phase: str,
    report: QAReport,
    cancel: threading.Event | None,
    clock: _Clock,
) -> tuple[RunResult, Parsed]:
    with clock(f"{phase}_prepare"):
        (tree.path / JUNIT_DIR).mkdir(exist_ok=True)
    run = run_in_container(
        client,
        image=image,
        command=inst.command,
        worktree=tree.path,
        limits=settings.limits,
        env=inst.env,
        labels={**labels, "prtrace.phase": phase},
        cancel=cancel,
    )
    report.timings_ms[f"{phase}_container"] = run.duration_ms
    report.timings_ms[f"{phase}_command"] = run.container_ms
    if run.cancelled:
        raise QACancelled(f"cancelled during the {phase} run")
    report.logs[f"{phase}.stdout"] = run.full_stdout
    report.logs[f"{phase}.stderr"] = run.full_stderr
    with clock(f"{phase}_parse"):
        parsed = parse(inst, tree.path, run.stdout, run.stderr, run.exit_code)
    return run, parsed


_SHELL_CANNOT_RUN = {126: "not executable", 127: "command not found"}


def _run_problem(
    run: RunResult, when: str, limits: Limits, parsed: Parsed | None = None
) -> tuple[str, str] | None:
    if run.oom_killed:
        return "oom", f"the tests {when} went past the {limits.memory} memory limit (OOM-killed)"
    if run.timed_out:
        return "timeout", f"the tests {when} ran past the {limits.timeout_s:g}s limit"
    ran_no_test = (
        parsed is None or parsed.source == "exit-code" or parsed.passed + parsed.failed == 0
    )
    if run.exit_code in _SHELL_CANNOT_RUN and ran_no_test:
        # The shell could not start the test command: a broken task or image, not a failing test.
        reason = _SHELL_CANNOT_RUN[run.exit_code]
        return "infrastructure", (
            f"the test command could not run {when} (exit {run.exit_code}: "
            f"{reason}): {run.stderr.strip()[-300:]}"
        )
    return None


def _fill_run(res: TestsResult, run: RunResult, parsed: Parsed) -> None:
    res.exit_code = run.exit_code
    res.stdout = _capped(parsed.text, run.stdout) if parsed.text is not None else run.stdout
    res.stderr = run.stderr
    res.passed, res.failed, res.skipped = parsed.passed, parsed.failed, parsed.skipped


def _capped(text: str, fallback: str) -> str:
    # go test -json: show the human output, no longer than what was kept of stdout.
    cap = max(len(fallback), 1)
    return text if len(text) <= cap else text[: cap // 4] + "\n...\n" + text[-(cap - cap // 4) :]


class _Clock:
    """Named wall-clock spans, for the benchmark's breakdown of QA's own time."""

    def __init__(self, into: dict[str, float]) -> None:
        self.into = into
        self._open: dict[str, float] = {}

    def start(self, name: str) -> None:
        self._open[name] = time.monotonic()

    def stop(self, name: str) -> None:
        if name in self._open:
            self.into[name] = (
                self.into.get(name, 0.0) + (time.monotonic() - self._open.pop(name)) * 1000
            )

    def __call__(self, name: str) -> _Span:
        return _Span(self, name)


class _Span:
    def __init__(self, clock: _Clock, name: str) -> None:
        self.clock, self.name = clock, name

    def __enter__(self) -> None:
        self.clock.start(self.name)

    def __exit__(self, *exc: object) -> None:
        self.clock.stop(self.name)


def sweep_leftovers(
    settings: QASettings, *, grace_s: float = 3600.0, client: docker.DockerClient | None = None
) -> dict[str, int]:
    """What a worker killed mid-job left: labelled containers and old worktrees.

    Call it when a worker starts (and now and then). Containers go by their
    deadline (:func:`prtrace.qa.runner.sweep`); worktrees older than ``grace_s`` are
    removed and the mirrors' worktree lists pruned.
    """
    import shutil

    from prtrace.qa.checkout import git
    from prtrace.qa.runner import sweep

    containers = sweep(client or settings.client())
    trees = 0
    now = time.time()
    if settings.work_dir.is_dir():
        for path in settings.work_dir.iterdir():
            if now - path.lstat().st_mtime > grace_s:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
                trees += 1
    if trees and settings.mirrors_dir.is_dir():
        for mirror in settings.mirrors_dir.glob("*.git"):
            git("worktree", "prune", cwd=mirror, check=False)
    return {"containers": len(containers), "worktrees": trees}
