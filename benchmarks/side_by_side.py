"""Ingest side by side with jianyq/pr-telemetry (issue 15): the harness behind the tables
of docs/benchmarks.md, section "Side by side with jianyq/pr-telemetry".

Run it with a prtrace venv's interpreter (it needs asyncpg and httpx), as root or as a
user who can run PostgreSQL (root: initdb and postgres run as the OS user ``bench``,
made if missing):

    # once: the peer's source at 55ee13bc and its venv (the git dir from a fetch of
    # github:jianyq/pr-telemetry; none of its code is in this repository)
    .venv/bin/python benchmarks/side_by_side.py --peer-setup \\
        --peer-git /path/to/pr-telemetry.git --peer-dir /var/tmp/sbs/peer
    # once: PostgreSQL cluster, the harness's own venv (moto, the load generator's
    # client libraries); checks the prtrace checkout and the peer
    .venv/bin/python benchmarks/side_by_side.py --setup-only --peer-dir /var/tmp/sbs/peer
    # the measurement (three rounds of every line by default)
    .venv/bin/python benchmarks/side_by_side.py --peer-dir /var/tmp/sbs/peer \\
        [--prtrace-root /var/tmp/bench-src] [--rounds 3] [--lines pg1,peer1,raw]

Benchmark a checkout that does not change under you: ``git worktree add --detach
/var/tmp/bench-src HEAD`` and build its ``.venv`` as ``./dev`` does (``uv sync --locked
--extra backend`` with ``UV_PROJECT_ENVIRONMENT=/var/tmp/bench-src/.venv``), then pass
``--prtrace-root /var/tmp/bench-src``.

The lines (``--lines``, default all, in this order within a round):

* ``peer1``/``peer4``: pr-telemetry, ``uvicorn api.main:app --workers 1``, 1 and 4 clients.
* ``pg1``/``pg4``: ``PRTRACE_WORKERS=0 prtrace serve`` on PostgreSQL + S3, 1 and 4 clients;
  ``pg1np0``: the same with ``PRTRACE_INGEST_PROCESSES=0``, 1 client.
* ``sqlite1``/``sqlite4``: prtrace on its default SQLite (and its default blob folder).
* ``raw``: asyncpg ``copy_records_to_table`` of the same rows (the load generator's mix
  through prtrace's ``decode_batch``: ``benchmarks/ingest.py``'s ``make_batches``,
  ``_rows`` and ``raw_copy_rate``, imported from the checkout under test) into a copy of
  the events table (same primary key and unique constraint, no ``(trace_id, type)``
  index), 1000-row transactions. The report says whether prtrace's events table (as its
  migrations made it, read from its database after the first PostgreSQL run) still has
  the raw table's indexes, i.e. whether the line is still like for like.

Why each step:

* **One private PostgreSQL 15 cluster** (initdb defaults, but UTF-8 with the C locale so
  a root shell's POSIX locale cannot give SQL_ASCII) on ``--pg-port``, a database per
  server: both systems write to the same server, configured the same way.
* **``moto_server -H 127.0.0.1 -p 9000``** as S3 for both (port 9000 because the load
  generator reads the peer's chunks back from there); its state is reset before every
  server start so a round's objects do not pile up in its memory.
* **Each server restarted on a freshly made database for every run** (``DROP DATABASE …
  WITH (FORCE)`` + ``CREATE``; the peer then gets ``alembic upgrade head``, prtrace
  migrates itself on start; SQLite: a fresh ``PRTRACE_HOME``): no run inherits another's
  tables, bloat or caches.
* **A 5,000-event warm-up per server start**, then **``CHECKPOINT``**: the first requests
  (imports, connection pools, the decoder process) and the dirty pages they leave are
  not in the timed run.
* **Rounds, every line once in turn**: the host drifts by more than the differences
  measured, so lines are compared within a round; the ratios are given per round.
* **The load generator** (``../shared/bench/ingest_loadgen.py``, 100,000 events in
  1000-event batches, bodies built before the timed loop) runs under the harness's own
  venv for both systems: it needs httpx, psycopg2 (database checks) and boto3 (the
  peer's S3 check), which neither the peer's venv (no boto3) nor prtrace's (no psycopg2)
  has, and one client library for both keeps the client's cost the same.
* **Every run verified**: what the load generator reads back (through the API, from the
  database and, for the peer, from S3) must match what it sent; a run that fails is
  reported as failed and not counted.

Every run is a row of ``--out`` (TSV: round, line, events_per_s, p50_ms, p99_ms, ok); the
load generator's output and the servers' logs are kept under ``<work>/runs`` and
``<work>/logs``. At the end: a markdown table (median and min–max of events/s, median
p50/p99 per line) and the ratios per round (pg1/peer1, pg4/peer4, pg1/raw).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, ClassVar, NoReturn

ROOT = Path(__file__).resolve().parents[1]

PEER_COMMIT = "55ee13bc"
PG_VERSION = "15"
PG_BIN = Path(f"/usr/lib/postgresql/{PG_VERSION}/bin")
# The load generator reads the peer's chunks back from S3 at this address (hard-coded).
S3_HOST, S3_PORT = "127.0.0.1", 9000
S3_KEY = S3_SECRET = "minioadmin"
PRTRACE_BUCKET = "prtrace-bench"
# Any ``pta_`` token works: the server registers PRTRACE_API_TOKEN, the load generator sends it.
PRTRACE_TOKEN = "pta_bench_side_by_side_0123456789abcdef"
# The harness venv: the load generator's imports (httpx, psycopg2, boto3 via moto) and
# moto_server. Pinned (httpx and moto as in uv.lock) so reruns use the same client.
HARNESS_REQUIREMENTS = ["moto[server]==5.2.5", "httpx==0.28.1", "psycopg2-binary==2.9.10"]


@dataclass(frozen=True)
class Line:
    name: str
    system: str  # "peer", "prtrace" or "raw"
    clients: int
    database: str  # "pg" or "sqlite"
    label: str
    env: dict[str, str] = field(default_factory=dict)


LINES: dict[str, Line] = {
    line.name: line
    for line in [
        Line("peer1", "peer", 1, "pg", "pr-telemetry, PostgreSQL + S3"),
        Line("pg1", "prtrace", 1, "pg", "prtrace (default), PostgreSQL + S3"),
        Line(
            "pg1np0",
            "prtrace",
            1,
            "pg",
            "prtrace, PRTRACE_INGEST_PROCESSES=0, PostgreSQL + S3",
            {"PRTRACE_INGEST_PROCESSES": "0"},
        ),
        Line("sqlite1", "prtrace", 1, "sqlite", "prtrace, SQLite"),
        Line("peer4", "peer", 4, "pg", "pr-telemetry, PostgreSQL + S3"),
        Line("pg4", "prtrace", 4, "pg", "prtrace (default), PostgreSQL + S3"),
        Line("sqlite4", "prtrace", 4, "sqlite", "prtrace, SQLite"),
        Line("raw", "raw", 1, "pg", "raw asyncpg copy_records_to_table, same rows"),
    ]
}


@dataclass
class Result:
    round: int
    line: str
    events_per_s: float | None
    p50_ms: float | None
    p99_ms: float | None
    ok: bool
    reason: str = ""


class HarnessError(Exception):
    """Something the harness needs is missing or broke; the message says what and how."""


def die(message: str) -> NoReturn:
    raise HarnessError(message)


def say(message: str) -> None:
    print(f"side_by_side: {message}", file=sys.stderr, flush=True)


# --- paths and configuration ------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    work: Path
    root: Path
    peer_dir: Path
    loadgen: Path
    pg_port: int
    prtrace_port: int
    peer_port: int
    os_user: str
    events: int
    batch: int
    warmup: int

    @property
    def pg_dir(self) -> Path:
        return self.work / "pg"

    @property
    def pg_data(self) -> Path:
        return self.pg_dir / "data"

    @property
    def venv(self) -> Path:
        return self.work / "venv"

    @property
    def harness_python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def prtrace_python(self) -> Path:
        return self.root / ".venv" / "bin" / "python"

    @property
    def peer_python(self) -> Path:
        return self.peer_dir / "venv" / "bin" / "python"

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    @property
    def runs(self) -> Path:
        return self.work / "runs"

    @property
    def pg_user(self) -> str:
        # initdb's superuser is the OS user that runs it.
        return self.os_user if os.geteuid() == 0 else _current_user()

    def dsn(self, database: str) -> str:
        return f"postgresql://{self.pg_user}@127.0.0.1:{self.pg_port}/{database}"


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def default_loadgen() -> Path:
    # Where benchmarks/ingest.py looks for it: shared/ beside the repository.
    for candidate in (ROOT.parent / "shared", ROOT.parents[1] / "shared", Path("/work/shared")):
        path = candidate / "bench" / "ingest_loadgen.py"
        if path.exists():
            return path
    return ROOT.parent / "shared" / "bench" / "ingest_loadgen.py"


# --- small process helpers --------------------------------------------------------------


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run(
    cmd: list[str],
    *,
    log: Path,
    what: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 1800,
) -> None:
    """Run a setup command to completion, its output in ``log``; die with the log's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        try:
            done = subprocess.run(
                cmd,
                cwd=cwd,
                env=env,
                input=stdin,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            die(f"{what}: {cmd[0]} not found")
        except subprocess.TimeoutExpired:
            die(f"{what}: {cmd[0]} took more than {timeout:.0f}s (log: {log})")
    if done.returncode != 0:
        die(f"{what} failed (exit {done.returncode}); log {log}:\n{tail(log)}")


def as_owner(cfg: Config, cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the cluster's OS user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", cfg.os_user, "--", *cmd]
    return cmd


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def require_port_free(port: int, what: str, option: str | None) -> None:
    if port_in_use(port):
        how = f"stop it or pass {option}" if option else "stop it (the port is fixed)"
        die(f"port {port} (for {what}) is already in use by another process: {how}")


class Service:
    """A child process in a session of its own (so Ctrl-C reaches only the harness,
    which then stops it), stopped with its whole process group."""

    live: ClassVar[list[Service]] = []
    """Started and not stopped yet: main() stops them whatever happened."""

    def __init__(
        self, name: str, cmd: list[str], *, log: Path, cwd: Path, env: dict[str, str]
    ) -> None:
        self.name, self.cmd, self.log, self.cwd, self.env = name, cmd, log, cwd, env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            try:
                self.process = subprocess.Popen(
                    self.cmd,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except FileNotFoundError:
                die(f"{self.name}: {self.cmd[0]} not found")
        Service.live.append(self)

    def start_and_wait(self, url: str, timeout: float = 60.0) -> None:
        """Start, then wait until ``url`` answers 2xx (any answer if it ends in ``/*``);
        stopped again if it does not (or we are interrupted meanwhile)."""
        self.start()
        try:
            self.wait_http(url, timeout)
        except BaseException:
            self.stop()
            raise

    def wait_http(self, url: str, timeout: float) -> None:
        import httpx

        any_status = url.endswith("/*")
        url = url.removesuffix("*")
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    die(
                        f"{self.name} exited with {self.process.returncode} on start; "
                        f"log {self.log}:\n{tail(self.log)}"
                    )
                try:
                    status = client.get(url).status_code
                    if any_status or 200 <= status < 300:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    die(
                        f"{self.name} not ready after {timeout:.0f}s; log {self.log}:\n{tail(self.log)}"
                    )
                time.sleep(0.1)

    def stop(self, timeout: float = 20.0) -> None:
        with contextlib.suppress(ValueError):
            Service.live.remove(self)
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # The leader only, as `kill PID` would: a signal to the whole group (what Ctrl-C
        # in a terminal sends) reaches prtrace's decoder processes before the server
        # has begun to shut down, and its pool starts new ones in their place.
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # Anything the server left behind in its group (decoder processes).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


# --- setup ------------------------------------------------------------------------------


def ensure_postgres(cfg: Config) -> None:
    if (PG_BIN / "initdb").exists() and (PG_BIN / "postgres").exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        die(
            f"PostgreSQL {PG_VERSION} not found under {PG_BIN}: install it "
            f"(Debian: apt-get install -y postgresql-{PG_VERSION})"
        )
    say(f"installing PostgreSQL {PG_VERSION} with apt-get")
    log = cfg.work / "setup.log"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update"], log=log, what="apt-get update", env=env)
    run(
        ["apt-get", "install", "-y", "--no-install-recommends", f"postgresql-{PG_VERSION}"],
        log=log,
        what=f"apt-get install postgresql-{PG_VERSION}",
        env=env,
    )
    if not (PG_BIN / "initdb").exists():
        die(f"postgresql-{PG_VERSION} installed but {PG_BIN / 'initdb'} is missing")


def ensure_os_user(cfg: Config) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    try:
        pwd.getpwnam(cfg.os_user)
        return
    except KeyError:
        pass
    say(f"creating the OS user {cfg.os_user!r} (initdb and postgres refuse to run as root)")
    run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            cfg.os_user,
        ],
        log=cfg.work / "setup.log",
        what=f"useradd {cfg.os_user}",
    )


def ensure_cluster(cfg: Config) -> None:
    if (cfg.pg_data / "PG_VERSION").exists():
        version = (cfg.pg_data / "PG_VERSION").read_text().strip()
        if version != PG_VERSION:
            die(
                f"{cfg.pg_data} holds a PostgreSQL {version} cluster; remove it to make a {PG_VERSION} one"
            )
        return
    say(f"initdb {cfg.pg_data}")
    cfg.pg_dir.mkdir(parents=True, exist_ok=True)
    (cfg.pg_dir / "run").mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(cfg.pg_dir, cfg.os_user, cfg.os_user)
        shutil.chown(cfg.pg_dir / "run", cfg.os_user, cfg.os_user)
    run(
        as_owner(
            cfg,
            [str(PG_BIN / "initdb"), "-D", str(cfg.pg_data), "--encoding=UTF8", "--no-locale"],
        ),
        log=cfg.pg_dir / "initdb.log",
        what="initdb",
        cwd=Path("/"),
    )


def ensure_harness_venv(cfg: Config) -> None:
    stamp = cfg.venv / ".side-by-side-requirements"
    want = "\n".join(HARNESS_REQUIREMENTS)
    if stamp.exists() and stamp.read_text() == want and (cfg.venv / "bin" / "moto_server").exists():
        return
    say(f"making the harness venv {cfg.venv} ({', '.join(HARNESS_REQUIREMENTS)})")
    log = cfg.work / "setup.log"
    make_venv(cfg.venv, log)
    run(
        [str(cfg.harness_python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        + HARNESS_REQUIREMENTS,
        log=log,
        what="pip install into the harness venv (needs PyPI)",
    )
    stamp.write_text(want)


def make_venv(path: Path, log: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    base = getattr(sys, "_base_executable", sys.executable)
    run(
        [base, "-m", "venv", str(path)],
        log=log,
        what=f"{base} -m venv {path} (Debian: apt-get install python3-venv)",
    )


def check_prtrace_root(cfg: Config) -> None:
    if not (cfg.root / "backend" / "ingest.py").exists():
        die(f"{cfg.root} is not a prtrace checkout (no backend/ingest.py): pass --prtrace-root")
    if not (cfg.root / "benchmarks" / "ingest.py").exists():
        die(f"{cfg.root}/benchmarks/ingest.py is missing (the raw line imports it)")
    prtrace = cfg.root / ".venv" / "bin" / "prtrace"
    if not prtrace.exists():
        die(
            f"{prtrace} is missing: build the checkout's venv with the backend extra, e.g. "
            f"cd {cfg.root} && UV_PROJECT_ENVIRONMENT={cfg.root}/.venv uv sync --locked "
            "--extra backend (uv as ./dev installs it: .venv-uv/bin/uv)"
        )
    probe = "import prtrace.backend.app, asyncpg, uvicorn, litestar, minio, httptools, uvloop"
    done = subprocess.run(
        [str(cfg.prtrace_python), "-c", probe], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        die(
            f"{cfg.prtrace_python} lacks the backend extra ({last}): "
            f"cd {cfg.root} && uv sync --locked --extra backend"
        )


def check_peer(cfg: Config) -> None:
    how = (
        "run this script with --peer-setup --peer-git GITDIR --peer-dir "
        f"{cfg.peer_dir} (GITDIR: a clone or snapshot of github:jianyq/pr-telemetry)"
    )
    if not (cfg.peer_dir / "api" / "main.py").exists():
        die(f"the peer's source is not in {cfg.peer_dir} (no api/main.py): {how}")
    for tool in ("uvicorn", "alembic"):
        if not (cfg.peer_dir / "venv" / "bin" / tool).exists():
            die(f"the peer's venv has no {tool} ({cfg.peer_dir}/venv/bin/{tool}): {how}")


def peer_setup(cfg: Config, git_dir: Path | None) -> None:
    """``git archive 55ee13bc | tar -x`` into --peer-dir, then its venv from requirements.txt."""
    if git_dir is None:
        die("--peer-setup needs --peer-git: a git dir of github:jianyq/pr-telemetry")
    if not shutil.which("git") or not shutil.which("tar"):
        die("--peer-setup needs git and tar (Debian: apt-get install -y git tar)")
    found = subprocess.run(
        ["git", "--git-dir", str(git_dir), "rev-parse", "--verify", f"{PEER_COMMIT}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        die(f"{git_dir} has no commit {PEER_COMMIT} (fetch github:jianyq/pr-telemetry again)")
    commit = found.stdout.strip()
    marker = cfg.peer_dir / ".side-by-side-commit"
    log = cfg.work / "peer-setup.log"
    if marker.exists() and marker.read_text().strip() == commit:
        say(f"{cfg.peer_dir} already holds {commit[:8]}")
    else:
        if cfg.peer_dir.exists() and any(cfg.peer_dir.iterdir()):
            die(
                f"{cfg.peer_dir} exists and is not an extraction of {PEER_COMMIT}: remove it or pick another --peer-dir"
            )
        cfg.peer_dir.mkdir(parents=True, exist_ok=True)
        say(f"git archive {commit[:8]} | tar -x -C {cfg.peer_dir}")
        archive = subprocess.run(
            ["git", "--git-dir", str(git_dir), "archive", "--format=tar", commit],
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            die(f"git archive failed: {archive.stderr.decode(errors='replace').strip()}")
        run(["tar", "-x", "-C", str(cfg.peer_dir)], log=log, what="tar -x", stdin=archive.stdout)
        marker.write_text(commit + "\n")
    requirements = cfg.peer_dir / "requirements.txt"
    stamp = cfg.peer_dir / "venv" / ".side-by-side-requirements"
    if stamp.exists() and stamp.read_text() == requirements.read_text():
        say(f"the peer's venv {cfg.peer_dir / 'venv'} is up to date")
        return
    say(f"making the peer's venv from {requirements} (PyPI)")
    make_venv(cfg.peer_dir / "venv", log)
    run(
        [str(cfg.peer_python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        + ["-r", str(requirements)],
        log=log,
        what="pip install -r requirements.txt into the peer's venv",
    )
    stamp.write_text(requirements.read_text())
    say("peer ready")


def setup(cfg: Config, lines: list[Line]) -> None:
    cfg.work.mkdir(parents=True, exist_ok=True)
    if not cfg.loadgen.exists():
        die(f"the load generator {cfg.loadgen} is missing (pass --loadgen)")
    ensure_postgres(cfg)
    ensure_os_user(cfg)
    ensure_cluster(cfg)
    ensure_harness_venv(cfg)
    if any(line.system in ("prtrace", "raw") for line in lines):
        check_prtrace_root(cfg)
    if any(line.system == "peer" for line in lines):
        check_peer(cfg)


# --- the cluster and S3 -----------------------------------------------------------------


@contextlib.contextmanager
def cluster(cfg: Config) -> Iterator[None]:
    """The private cluster, started unless it already runs (then left running)."""
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(cfg.pg_data)]
    status = subprocess.run(
        as_owner(cfg, [*pg_ctl, "status"]), capture_output=True, cwd="/", check=False
    )
    if status.returncode == 0:
        lines = (cfg.pg_data / "postmaster.pid").read_text().splitlines()
        if len(lines) < 4 or lines[3].strip() != str(cfg.pg_port):
            die(f"the cluster {cfg.pg_data} already runs on another port: stop it first")
        say(f"PostgreSQL already running on {cfg.pg_port}; left running at the end")
        yield
        return
    require_port_free(cfg.pg_port, "PostgreSQL", "--pg-port")
    options = (
        f"-c port={cfg.pg_port} -c listen_addresses=127.0.0.1 "
        f"-c unix_socket_directories={cfg.pg_dir / 'run'}"
    )
    # In the try: an interrupt during pg_ctl start may leave the server up.
    try:
        run(
            as_owner(
                cfg,
                [
                    *pg_ctl,
                    "-l",
                    str(cfg.pg_dir / "postgres.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                ],
            ),
            log=cfg.pg_dir / "pg_ctl.log",
            what=f"pg_ctl start (server log: {cfg.pg_dir / 'postgres.log'})",
            cwd=Path("/"),
        )
        yield
    finally:
        say("stopping PostgreSQL")
        subprocess.run(
            as_owner(cfg, [*pg_ctl, "-m", "fast", "-w", "stop"]),
            capture_output=True,
            cwd="/",
            check=False,
        )


class Moto:
    """``moto_server`` as S3 for both systems."""

    url = f"http://{S3_HOST}:{S3_PORT}"

    def __init__(self, cfg: Config) -> None:
        self.service = Service(
            "moto_server",
            [str(cfg.venv / "bin" / "moto_server"), "-H", S3_HOST, "-p", str(S3_PORT)],
            log=cfg.work / "moto.log",
            cwd=cfg.work,
            env=dict(os.environ),
        )

    def start(self) -> None:
        require_port_free(S3_PORT, "moto_server (S3)", None)
        self.service.start_and_wait(self.url + "/moto-api/*")

    def stop(self) -> None:
        self.service.stop()

    def reset(self) -> None:
        """Empty it: every bucket and object of the earlier runs."""
        import httpx

        httpx.post(self.url + "/moto-api/reset", timeout=30).raise_for_status()

    def make_bucket(self, name: str) -> None:
        import httpx

        response = httpx.put(f"{self.url}/{name}", timeout=30)
        if response.status_code not in (200, 409):
            die(
                f"could not make bucket {name} on moto: {response.status_code} {response.text[:200]}"
            )


async def _admin(cfg: Config, database: str, statements: tuple[str, ...]) -> list[Any]:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(cfg.dsn(database))
    try:
        return [await conn.fetchval(sql) for sql in statements]
    finally:
        await conn.close()


def admin(cfg: Config, *statements: str, database: str = "postgres") -> list[Any]:
    """Each statement's first value, on one connection to ``database``."""
    return asyncio.run(_admin(cfg, database, statements))


# What benchmarks/ingest.py's raw_copy_rate makes its table with: the raw line is like
# for like only while prtrace's events table has exactly these indexes.
RAW_TABLE_INDEXES = ["UNIQUE (trace_id, event_id)", "UNIQUE (trace_id, seq, idx)"]


def events_indexes(cfg: Config) -> list[str]:
    """The indexes of the events table prtrace made (its migrations) in its database."""
    query = (
        "SELECT array_agg(indexdef) FROM pg_indexes"
        " WHERE schemaname = 'public' AND tablename = 'events'"
    )
    found = admin(cfg, query, database="sbs_prtrace")[0] or []
    shapes = []
    for definition in found:  # CREATE [UNIQUE] INDEX name ON public.events USING btree (a, b)
        unique = "UNIQUE " if definition.startswith("CREATE UNIQUE") else ""
        shapes.append(unique + definition[definition.rindex(" (") + 1 :])
    return sorted(shapes)


def fresh_database(cfg: Config, name: str) -> str:
    admin(cfg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return cfg.dsn(name)


def checkpoint(cfg: Config) -> None:
    admin(cfg, "CHECKPOINT")


# --- the servers ------------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    """This shell's environment without prtrace's or the peer's settings."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("PRTRACE_", "MINIO_")) or name in ("DATABASE_URL",):
            del env[name]
    return env


def start_prtrace(cfg: Config, line: Line, moto: Moto, tag: str) -> tuple[Service, dict[str, str]]:
    """``PRTRACE_WORKERS=0 prtrace serve`` on a fresh home (and fresh database)."""
    home = cfg.work / "prtrace-home"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    env = _clean_env()
    env.update(
        PRTRACE_HOME=str(home),
        PRTRACE_API_TOKEN=PRTRACE_TOKEN,
        PRTRACE_WORKERS="0",
        XDG_CONFIG_HOME=str(home / "config"),  # no user config.toml
    )
    verify: dict[str, str] = {}
    if line.database == "pg":
        dsn = fresh_database(cfg, "sbs_prtrace")
        moto.reset()
        moto.make_bucket(PRTRACE_BUCKET)
        env.update(
            PRTRACE_DATABASE_URL=dsn,
            PRTRACE_BLOB_URL=f"s3://{PRTRACE_BUCKET}",
            PRTRACE_S3_ENDPOINT=moto.url,
            PRTRACE_S3_ACCESS_KEY=S3_KEY,
            PRTRACE_S3_SECRET_KEY=S3_SECRET,
            PRTRACE_S3_REGION="us-east-1",
        )
        verify["--dsn"] = dsn
    else:
        verify["--sqlite"] = str(home / "prtrace.db")  # the default database_url
    env.update(line.env)
    server = Service(
        "prtrace serve",
        [
            str(cfg.root / ".venv" / "bin" / "prtrace"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(cfg.prtrace_port),
        ],
        log=cfg.logs / f"{tag}-server.log",
        cwd=home,
        env=env,
    )
    require_port_free(cfg.prtrace_port, "prtrace serve", "--prtrace-port")
    server.start_and_wait(f"http://127.0.0.1:{cfg.prtrace_port}/healthz")
    return server, verify


def start_peer(cfg: Config, moto: Moto, tag: str) -> tuple[Service, dict[str, str]]:
    """pr-telemetry: fresh database, ``alembic upgrade head``, ``uvicorn api.main:app``."""
    dsn = fresh_database(cfg, "sbs_peer")
    moto.reset()  # the peer makes its buckets on start
    env = _clean_env()
    env.update(
        DATABASE_URL=dsn,  # api/db/session.py and alembic/env.py (psycopg2: postgresql://)
        MINIO_ENDPOINT=f"{S3_HOST}:{S3_PORT}",
        MINIO_ACCESS_KEY=S3_KEY,
        MINIO_SECRET_KEY=S3_SECRET,
        MINIO_SECURE="false",
        OPENAI_API_KEY="mock",  # its judge's offline mode; nothing here calls it
    )
    log = cfg.logs / f"{tag}-server.log"
    run(
        [str(cfg.peer_dir / "venv" / "bin" / "alembic"), "upgrade", "head"],
        log=log,
        what="the peer's alembic upgrade head",
        cwd=cfg.peer_dir,
        env=env,
        timeout=120,
    )
    server = Service(
        "pr-telemetry (uvicorn)",
        [
            str(cfg.peer_dir / "venv" / "bin" / "uvicorn"),
            "api.main:app",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(cfg.peer_port),
        ],
        log=log,
        cwd=cfg.peer_dir,
        env=env,
    )
    require_port_free(cfg.peer_port, "the peer", "--peer-port")
    server.start_and_wait(f"http://127.0.0.1:{cfg.peer_port}/healthz")
    return server, {"--dsn": dsn}


# --- the load generator and its verdict -------------------------------------------------


def loadgen(
    cfg: Config,
    mode: str,
    port: int,
    clients: int,
    events: int,
    extra: dict[str, str],
    out: Path,
) -> dict[str, Any]:
    """One load generator run; its JSON result (the last line it prints)."""
    cmd = [
        str(cfg.harness_python),
        str(cfg.loadgen),
        mode,
        "--base",
        f"http://127.0.0.1:{port}",
        "--batch",
        str(cfg.batch),
        "--clients",
        str(clients),
        "--max-events",
        str(events),
        # Its default stops after 25 s: every run must send all its events.
        "--seconds",
        "100000",
    ]
    if mode == "prtrace":
        cmd += ["--token", PRTRACE_TOKEN]
    for option, value in extra.items():
        cmd += [option, value]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        try:
            done = subprocess.run(
                cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=1800, check=False
            )
        except subprocess.TimeoutExpired:
            return {"_failed": f"the load generator took more than 1800 s (output: {out})"}
    text = out.read_text(errors="replace")
    result: dict[str, Any] | None = None
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                result = json.loads(line)
                break
    if done.returncode != 0 or result is None:
        last = " | ".join(text.strip().splitlines()[-3:])
        return {"_failed": f"the load generator exited {done.returncode}: {last} (output: {out})"}
    return result


def expected_split(events: int, clients: int, batch: int) -> list[tuple[int, int]]:
    """(events, batches) per client, as the load generator splits them."""
    per = [events // clients + (1 if c < events % clients else 0) for c in range(clients)]
    return [(n, (n + batch - 1) // batch) for n in per]


def verdict(result: dict[str, Any], system: str, events: int, clients: int, batch: int) -> str:
    """Why the run does not count ('' when every check passed)."""
    if "_failed" in result:
        return str(result["_failed"])
    problems = []
    if result.get("errors") != 0:
        problems.append(f"{result.get('errors')} failed requests {result.get('http_statuses')}")
    if result.get("events_acked") != events:
        problems.append(f"events_acked {result.get('events_acked')} != {events}")
    checks = result.get("verify")
    if checks is None:
        return "; ".join(problems + ["no verification in the output"])
    per_client = checks if isinstance(checks, list) else [checks]
    split = expected_split(events, clients, batch)
    if len(per_client) != len(split):
        problems.append(f"{len(per_client)} verifications for {len(split)} clients")
    for c, (check, (n, nb)) in enumerate(zip(per_client, split, strict=False)):
        if system == "prtrace":
            want: dict[str, object] = {
                "api_get_status": 200,
                "api_events": n,
                "api_ids_in_order": True,
                "api_events_equal_to_sent": n,
                "db_event_rows": n,
                "db_trace_event_count": n,
                "db_batch_rows": nb,
                "db_distinct_batch_seq": nb,
                "db_sum_batch_count": n,
            }
        else:
            want = {
                "db_chunk_rows": nb,
                "db_sum_chunk_events": n,
                "db_trace_num_events": n,
                "s3_chunk_objects": nb,
                "s3_events": n,
            }
            if "s3_error" in check:
                problems.append(f"client {c}: S3 check failed: {check['s3_error']}")
        for key, value in want.items():
            if check.get(key) != value:
                problems.append(f"client {c}: {key} {check.get(key)!r} != {value!r}")
    return "; ".join(problems)


# --- one run ----------------------------------------------------------------------------


def run_server_line(cfg: Config, line: Line, moto: Moto, round_no: int) -> Result:
    tag = f"r{round_no}-{line.name}"
    if line.system == "peer":
        server, verify = start_peer(cfg, moto, tag)
        mode, port = "prtelemetry", cfg.peer_port
    else:
        server, verify = start_prtrace(cfg, line, moto, tag)
        mode, port = "prtrace", cfg.prtrace_port
    try:
        warm = loadgen(
            cfg, mode, port, line.clients, cfg.warmup, {}, cfg.runs / f"{tag}-warmup.out"
        )
        if warm.get("events_acked") != cfg.warmup or warm.get("errors") != 0:
            reason = (
                warm.get("_failed")
                or f"warm-up: {warm.get('events_acked')} acked, {warm.get('errors')} errors"
            )
            return Result(round_no, line.name, None, None, None, False, f"warm-up failed: {reason}")
        checkpoint(cfg)
        result = loadgen(cfg, mode, port, line.clients, cfg.events, verify, cfg.runs / f"{tag}.out")
    finally:
        server.stop()
    reason = verdict(result, line.system, cfg.events, line.clients, cfg.batch)
    return Result(
        round_no,
        line.name,
        result.get("events_per_s"),
        result.get("p50_ms"),
        result.get("p99_ms"),
        not reason,
        reason,
    )


def run_raw_line(cfg: Config, round_no: int) -> Result:
    dsn = fresh_database(cfg, "sbs_raw")
    checkpoint(cfg)
    out = cfg.runs / f"r{round_no}-raw.out"
    cmd = [
        str(cfg.prtrace_python),
        str(Path(__file__).resolve()),
        "--raw-child",
        dsn,
        "--prtrace-root",
        str(cfg.root),
        "--loadgen",
        str(cfg.loadgen),
        "--events",
        str(cfg.events),
        "--batch",
        str(cfg.batch),
    ]
    with out.open("wb") as fh:
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=1800, check=False)
    text = out.read_text(errors="replace").strip().splitlines()
    try:
        report = json.loads(text[-1]) if done.returncode == 0 and text else None
    except ValueError:
        report = None
    if not report or report.get("rows") != cfg.events:
        reason = f"raw COPY exited {done.returncode}: {' | '.join(text[-3:])} (output: {out})"
        return Result(round_no, "raw", None, None, None, False, reason)
    return Result(round_no, "raw", float(report["events_per_s"]), None, None, True)


def raw_child(args: argparse.Namespace) -> int:
    """In the checkout's interpreter: the load generator's mix through ``decode_batch``,
    then ``raw_copy_rate`` of those rows (benchmarks/ingest.py of --prtrace-root)."""
    here = str(Path(__file__).resolve().parent)
    # This folder's benchmarks (qa.py, load.py, ...) must not shadow real modules.
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(here)]
    ingest: Any = _import_file(
        "prtrace_benchmarks_ingest", Path(args.prtrace_root) / "benchmarks" / "ingest.py"
    )
    generator = _import_file("ingest_loadgen", Path(args.loadgen))
    ingest._loadgen_module = lambda: generator  # the same file the servers are loaded with
    bodies = ingest.make_batches("loadgen", args.events // args.batch, args.batch)
    decoded = [ingest.decode_batch(body) for body in bodies]
    rows = sum(map(len, ingest._rows(decoded, "tr_raw")))
    rate = asyncio.run(ingest.raw_copy_rate(args.raw_child, decoded))
    print(json.dumps({"events_per_s": round(rate, 1), "rows": rows}), flush=True)
    return 0


def _import_file(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        die(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --- the report -------------------------------------------------------------------------


def _fmt(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def machine(cfg: Config) -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )


def git_describe(path: Path) -> str:
    def git(*a: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(path), *a], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "?"
    return head + (
        "+uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    )


def report(results: list[Result], lines: list[Line], rounds: int) -> str:
    out = [
        "| line | system, database | clients | runs ok | events/s, median (min–max) | p50 / p99 ms, median |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for line in lines:
        runs = [r for r in results if r.line == line.name]
        good = [r for r in runs if r.ok and r.events_per_s is not None]
        rates = [r.events_per_s for r in good if r.events_per_s is not None]
        if rates:
            spread = f"{statistics.median(rates):,.0f} ({min(rates):,.0f}–{max(rates):,.0f})"
        else:
            spread = "—"
        p50 = [r.p50_ms for r in good if r.p50_ms is not None]
        p99 = [r.p99_ms for r in good if r.p99_ms is not None]
        lat = f"{statistics.median(p50):.0f} / {statistics.median(p99):.0f}" if p50 and p99 else "—"
        out.append(
            f"| {line.name} | {line.label} | {line.clients} | {len(good)} of {len(runs)} | {spread} | {lat} |"
        )

    def rate(round_no: int, name: str) -> float | None:
        for r in results:
            if r.round == round_no and r.line == name and r.ok:
                return r.events_per_s
        return None

    names = {line.name for line in lines}
    ratios: list[tuple[str, str, str, Callable[[float], str]]] = [
        ("pg1 / peer1", "pg1", "peer1", lambda x: f"{x:.2f}"),
        ("pg4 / peer4", "pg4", "peer4", lambda x: f"{x:.2f}"),
        ("pg1 / raw", "pg1", "raw", lambda x: f"{x:.0%}"),
    ]
    header = " | ".join(f"round {r}" for r in range(1, rounds + 1))
    table = [f"| per round | {header} | median |", "| --- |" + " --- |" * (rounds + 1)]
    for label, top, bottom, show in ratios:
        if top not in names or bottom not in names:
            continue
        values: list[float | None] = []
        for r in range(1, rounds + 1):
            a, b = rate(r, top), rate(r, bottom)
            values.append(a / b if a and b else None)
        known = [v for v in values if v is not None]
        cells = " | ".join("—" if v is None else show(v) for v in values)
        table.append(f"| {label} | {cells} | {show(statistics.median(known)) if known else '—'} |")
    for name in ("sqlite1", "sqlite4"):
        if name in names:
            values = [rate(r, name) for r in range(1, rounds + 1)]
            known = [v for v in values if v is not None]
            cells = " | ".join(_fmt(v) for v in values)
            med = _fmt(statistics.median(known)) if known else "—"
            table.append(f"| {name}, events/s | {cells} | {med} |")
    if len(table) > 2:
        out += ["", *table]
    failed = [r for r in results if not r.ok]
    if failed:
        out += ["", "Failed runs (not counted):"]
        out += [f"* round {r.round} {r.line}: {r.reason}" for r in failed]
    return "\n".join(out)


# --- main -------------------------------------------------------------------------------


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds the finally blocks that stop the servers


def measure(cfg: Config, lines: list[Line], rounds: int, out_path: Path) -> int:
    for folder in (cfg.logs, cfg.runs):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    at_start = machine(cfg)
    indexes: list[str] | None = None  # of prtrace's events table, after its first PG run
    with out_path.open("w") as tsv, cluster(cfg):
        tsv.write("round\tline\tevents_per_s\tp50_ms\tp99_ms\tok\n")
        tsv.flush()
        postgres = admin(cfg, "SHOW server_version")[0]
        moto = Moto(cfg)
        moto.start()
        try:
            for round_no in range(1, rounds + 1):
                for line in lines:
                    say(f"round {round_no}/{rounds}: {line.name} (load {os.getloadavg()[0]:.1f})")
                    if line.system == "raw":
                        result = run_raw_line(cfg, round_no)
                    else:
                        result = run_server_line(cfg, line, moto, round_no)
                        if indexes is None and line.system == "prtrace" and line.database == "pg":
                            indexes = events_indexes(cfg)
                    results.append(result)
                    lat = f"p50 {_fmt(result.p50_ms, 1)} p99 {_fmt(result.p99_ms, 1)} ms"
                    state = "ok" if result.ok else f"FAILED: {result.reason}"
                    say(f"  {line.name}: {_fmt(result.events_per_s)} events/s, {lat}, {state}")
                    cells = [
                        str(round_no),
                        line.name,
                        "" if result.events_per_s is None else f"{result.events_per_s:.1f}",
                        "" if result.p50_ms is None else f"{result.p50_ms:.1f}",
                        "" if result.p99_ms is None else f"{result.p99_ms:.1f}",
                        "true" if result.ok else "false",
                    ]
                    tsv.write("\t".join(cells) + "\n")
                    tsv.flush()
        finally:
            moto.stop()
    finished = time.strftime("%H:%M:%S UTC", time.gmtime())
    print(
        f"{started}–{finished}; {at_start} at the start, {os.getloadavg()[0]:.1f} at the end; "
        f"PostgreSQL {postgres}; prtrace {git_describe(cfg.root)} ({cfg.root}); "
        f"peer {PEER_COMMIT} ({cfg.peer_dir}); {cfg.events:,} events per run in batches of "
        f"{cfg.batch}, {cfg.warmup:,}-event warm-up per server start; results: {out_path}\n"
    )
    if indexes is not None and any(line.system == "raw" for line in lines):
        same = indexes == RAW_TABLE_INDEXES
        print(
            f"prtrace's events table: {', '.join(indexes) or 'no index'}; the raw table: "
            f"{', '.join(RAW_TABLE_INDEXES)}"
            + ("" if same else " -- NOT THE SAME: the raw line is not like for like")
            + "\n"
        )
    print(report(results, lines, rounds))
    return 0 if all(r.ok for r in results) else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/sbs"), help="harness folder")
    parser.add_argument(
        "--prtrace-root", type=Path, default=ROOT, help="prtrace checkout with .venv"
    )
    parser.add_argument(
        "--peer-dir", type=Path, help="the peer's source + venv/ (default WORK/peer)"
    )
    parser.add_argument("--peer-git", type=Path, help="--peer-setup: git dir of pr-telemetry")
    parser.add_argument(
        "--peer-setup", action="store_true", help="extract the peer and make its venv"
    )
    parser.add_argument("--setup-only", action="store_true", help="prepare everything and exit")
    parser.add_argument("--loadgen", type=Path, default=default_loadgen())
    parser.add_argument("--pg-port", type=int, default=55432)
    parser.add_argument("--prtrace-port", type=int, default=8103)
    parser.add_argument("--peer-port", type=int, default=8102)
    parser.add_argument("--os-user", default="bench", help="runs PostgreSQL when we are root")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", default=",".join(LINES), help="comma-separated, in order")
    parser.add_argument("--events", type=int, default=100_000, help="per run")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=5000, help="events per server start")
    parser.add_argument("--out", type=Path, help="TSV of every run (default WORK/RESULTS.tsv)")
    parser.add_argument("--raw-child", metavar="DSN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_child:
        return raw_child(args)

    work = args.work.resolve()
    cfg = Config(
        work=work,
        root=args.prtrace_root.resolve(),
        peer_dir=(args.peer_dir or work / "peer").resolve(),
        loadgen=args.loadgen.resolve(),
        pg_port=args.pg_port,
        prtrace_port=args.prtrace_port,
        peer_port=args.peer_port,
        os_user=args.os_user,
        events=args.events,
        batch=args.batch,
        warmup=args.warmup,
    )
    names = [n.strip() for n in args.lines.split(",") if n.strip()]
    unknown = [n for n in names if n not in LINES]
    if unknown or not names:
        parser.error(f"unknown line(s) {', '.join(unknown) or '(none)'}; known: {', '.join(LINES)}")
    lines = [LINES[n] for n in names]
    signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C raises KeyboardInterrupt even if we were started with SIGINT ignored (``&``).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        missing = [m for m in ("asyncpg", "httpx") if importlib.util.find_spec(m) is None]
        if missing:
            die(
                f"{sys.executable} lacks {', '.join(missing)}: run this script with a prtrace "
                "venv's python (e.g. .venv/bin/python benchmarks/side_by_side.py)"
            )
        if args.peer_setup:
            cfg.work.mkdir(parents=True, exist_ok=True)
            peer_setup(cfg, args.peer_git)
            if not args.setup_only:
                return 0
        setup(cfg, lines if not args.setup_only else list(LINES.values()))
        if args.setup_only:
            with cluster(cfg):
                say(f"PostgreSQL {admin(cfg, 'SHOW server_version')[0]} answers on {cfg.pg_port}")
                moto = Moto(cfg)
                moto.start()
                moto.stop()
                say(f"moto_server answers on {S3_PORT}")
            say(f"ready: {cfg.work}")
            return 0
        return measure(cfg, lines, args.rounds, (args.out or cfg.work / "RESULTS.tsv").resolve())
    except HarnessError as exc:
        print(f"side_by_side: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("side_by_side: interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        for service in list(Service.live):  # whatever a failure left running
            service.stop()


if __name__ == "__main__":
    sys.exit(main())
