"""Per-test results from a test run, best source first.

1. pytest: JUnit XML, written where :func:`instrument` told pytest to put it
   (through ``PYTEST_ADDOPTS``, which works however the command starts pytest:
   ``pytest``, ``python -m pytest``, ``make test``...).
2. Go: ``go test -json`` events (``-json`` is inserted into the command).
3. Otherwise the runner's closing summary line (pytest's ``N passed, N failed``,
   unittest's ``Ran N tests`` + ``FAILED (failures=N)``, go's ``ok``/``FAIL``
   package lines): counts, no names.
4. Otherwise the exit code: the whole command is one test.

Whatever the source, the parsed results are cross-checked against the exit
code: a run that exits non-zero with no failure parsed (a crash in a fixture,
a collection error), or exits zero with failures parsed, is *inconsistent*,
and the verdict will not call it resolved.
"""

from __future__ import annotations

import json
import os
import re
import stat
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Status = Literal["passed", "failed", "skipped"]
_GO_STATUS: dict[str, Status] = {"pass": "passed", "fail": "failed", "skip": "skipped"}
JUNIT_DIR = ".prtrace-qa"
JUNIT_NAME = "junit.xml"


@dataclass
class Parsed:
    """What a run found: per-test statuses when the source has names."""

    source: Literal["junit", "go-json", "summary", "exit-code"]
    tests: dict[str, Status] = field(default_factory=dict)
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    consistent: bool = True
    no_tests: bool = False
    # go test -json carries the test's human output inside its events.
    text: str | None = None

    @property
    def named(self) -> bool:
        return self.source in ("junit", "go-json")


@dataclass(frozen=True)
class Instrumented:
    runner: str  # "pytest", "go", or "command"
    command: str
    env: dict[str, str]
    junit_path: str | None = None  # relative to the worktree


_PYTEST = re.compile(r"(^|[\s/;&|(])(py\.test|pytest)(\s|$|;|&|\|)")
_GO_TEST = re.compile(r"\bgo\s+test\b")


def instrument(command: str, mount: str = "/repo") -> Instrumented:
    """Make the command report per-test results, without changing what it runs."""
    if _PYTEST.search(command):
        rel = f"{JUNIT_DIR}/{JUNIT_NAME}"
        addopts = f"--junitxml={mount}/{rel} -o junit_family=xunit1 -p no:cacheprovider"
        return Instrumented("pytest", command, {"PYTEST_ADDOPTS": addopts}, rel)
    if _GO_TEST.search(command):
        cmd = command if "-json" in command else _GO_TEST.sub("go test -json", command, count=1)
        return Instrumented("go", cmd, {})
    return Instrumented("command", command, {})


def parse(
    inst: Instrumented, worktree: Path, stdout: str, stderr: str, exit_code: int | None
) -> Parsed:
    """Per-test results of one run, cross-checked against ``exit_code``."""
    result: Parsed | None = None
    if inst.runner == "pytest" and inst.junit_path:
        result = parse_junit(worktree / inst.junit_path)
        if result is not None and exit_code == 5 and not result.tests:
            result.no_tests = True
    elif inst.runner == "go":
        result = parse_go_json(stdout)
    if result is None:
        result = parse_summary(stdout + "\n" + stderr)
    if result is None:
        ok = exit_code == 0
        result = Parsed(
            "exit-code",
            {"<command>": "passed" if ok else "failed"},
            passed=int(ok),
            failed=int(not ok),
        )
    result.consistent = _consistent(result, exit_code, inst.runner)
    return result


def _consistent(p: Parsed, exit_code: int | None, runner: str) -> bool:
    if exit_code is None:
        return False
    if p.source == "exit-code":
        return True
    if runner == "pytest" and exit_code == 5:  # pytest: no tests collected
        return p.passed + p.failed == 0
    return (exit_code == 0) == (p.failed == 0)


def _count(p: Parsed) -> Parsed:
    values = list(p.tests.values())
    p.passed, p.failed, p.skipped = (
        values.count("passed"),
        values.count("failed"),
        values.count("skipped"),
    )
    p.no_tests = p.no_tests or not values
    return p


def parse_junit(path: Path) -> Parsed | None:
    """pytest's JUnit XML (xunit1 or xunit2): ``file::Class::name`` ids."""
    # The file is written by test code: never follow a symlink it may have
    # planted there (to a host file the worker, maybe root, could read).
    if path.parent.is_symlink():
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            root = ET.fromstring(f.read(64 * 1024 * 1024))
    except (ET.ParseError, OSError):
        return None
    tests: dict[str, Status] = {}
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        file = case.get("file")
        classname = case.get("classname", "")
        if file:
            # xunit1: classname is dotted module + class; keep only the class part.
            module = file[:-3].replace("/", ".") if file.endswith(".py") else ""
            cls = (
                classname[len(module) + 1 :]
                if module and classname.startswith(module + ".")
                else ""
            )
            test_id = "::".join(x for x in (file, cls, name) if x)
        else:
            test_id = f"{classname}::{name}" if classname else name
        if case.find("failure") is not None or case.find("error") is not None:
            status: Status = "failed"
        elif case.find("skipped") is not None:
            status = "skipped"
        else:
            status = "passed"
        # A test that errors in teardown appears twice: failure wins.
        if tests.get(test_id) != "failed":
            tests[test_id] = status
    errors = sum(int(s.get("errors", 0) or 0) for s in root.iter("testsuite"))
    parsed = _count(Parsed("junit", tests))
    if errors and not tests:  # collection errors: no testcase, but a failed run
        parsed.failed = errors
        parsed.no_tests = False
    return parsed


def parse_go_json(stdout: str) -> Parsed | None:
    """``go test -json``: ``package/TestName`` ids (subtests as ``TestA/sub``)."""
    tests: dict[str, Status] = {}
    text: list[str] = []
    package_failed = False
    seen = False
    for line in stdout.splitlines():
        if not line.startswith("{"):
            text.append(line + "\n")  # build errors are printed outside the JSON
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            text.append(line + "\n")
            continue
        seen = True
        if ev.get("Output"):
            text.append(ev["Output"])
        action, test = ev.get("Action"), ev.get("Test")
        if action in ("pass", "fail", "skip"):
            status = _GO_STATUS[action]
            if test:
                tests[f"{ev.get('Package', '')}/{test}"] = status
            elif action == "fail":
                package_failed = True
    if not seen:
        return None
    parsed = _count(Parsed("go-json", tests, text="".join(text)))
    if package_failed and parsed.failed == 0:
        parsed.failed = 1  # a package that fails to build fails without a test
        parsed.no_tests = False
    return parsed


_PYTEST_SUMMARY = re.compile(
    r"^(?:=+ )?(?:\w+: )?((?:\d+ (?:passed|failed|skipped|errors?|xfailed|xpassed|deselected|warnings?)"
    r"(?:, )?)+)(?: in [\d.]+s.*)?(?: =+)?$",
    re.M,
)
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in", re.M)
_UNITTEST_FAILED = re.compile(r"^FAILED \(([^)]*)\)", re.M)
_UNITTEST_SKIPPED = re.compile(r"skipped=(\d+)")


def parse_summary(output: str) -> Parsed | None:
    """Counts from the last summary line a known runner printed."""
    matches = _PYTEST_SUMMARY.findall(output)
    if matches:
        counts: dict[str, int] = {}
        for n, word in re.findall(r"(\d+) (\w+)", matches[-1]):
            counts[word] = int(n)
        return Parsed(
            "summary",
            passed=counts.get("passed", 0),
            failed=counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
            skipped=counts.get("skipped", 0),
        )
    ran = _UNITTEST_RAN.findall(output)
    if ran:
        total = int(ran[-1])
        failed = skipped = 0
        fm = _UNITTEST_FAILED.findall(output)
        if fm:
            failed = sum(int(n) for n in re.findall(r"(?:failures|errors)=(\d+)", fm[-1]))
        sm = _UNITTEST_SKIPPED.findall(output)
        if sm:
            skipped = int(sm[-1])
        return Parsed(
            "summary",
            passed=total - failed - skipped,
            failed=failed,
            skipped=skipped,
            no_tests=total == 0,
        )
    go = re.findall(r"^(ok|FAIL|---\s+FAIL)\s", output, re.M)
    if go:
        failed = sum(1 for g in go if g != "ok")
        return Parsed("summary", passed=go.count("ok"), failed=failed)
    return None
