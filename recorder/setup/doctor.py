"""``prtrace doctor``: is every piece that records this workspace in place?

Each finding is a :class:`~prtrace.recorder.setup.base.Check` that says what it
saw and, when something is missing, the command that fixes it. The pieces:
each ``prtrace setup`` target's own check (editor configs, the VS Code
extension, shell hooks; none is required, since a developer uses one editor),
then what recording needs: the workspace opted in, a token and a backend that
answers and accepts it, and, while a session is open, its daemon. The server's
pieces (Docker, the QA images) are checked by the CLI, which may import QA.
"""

from __future__ import annotations

from pathlib import Path

from prtrace.config import Settings
from prtrace.errors import APIError, PrtraceError
from prtrace.recorder.setup import TARGETS, load
from prtrace.recorder.setup.base import Check, SetupContext


def target_checks(ctx: SetupContext, names: list[str] | None = None) -> list[Check]:
    checks: list[Check] = []
    for name in names or list(TARGETS):
        try:
            checks += load(name).check(ctx)
        except (PrtraceError, OSError) as exc:  # a broken config is a finding, not a crash
            checks.append(Check(f"{name} config", False, str(exc), f"prtrace setup {name}"))
    return checks


def opt_in_check(root: Path) -> Check:
    from prtrace.recorder.pipeline.privacy import opt_in_reason
    from prtrace.redaction import MARKER_FILE, load_privacy_config

    try:
        reason = opt_in_reason(root, load_privacy_config(root))
    except PrtraceError as exc:
        return Check("opt-in", False, str(exc), f"fix {root / MARKER_FILE}", required=True)
    if reason:
        return Check("opt-in", True, f"{root} records ({reason})", required=True)
    return Check(
        "opt-in",
        False,
        f"{root} has not opted in: nothing is recorded there",
        f"touch {root / MARKER_FILE} (or run prtrace record start there)",
        required=True,
    )


def daemon_check(root: Path) -> Check:
    from prtrace.recorder.session import daemon
    from prtrace.recorder.session.state import load_session

    session = load_session(root)
    pid = daemon.alive(root)
    if session is None:
        detail = "no session open; prtrace record start starts one and its daemon"
        return Check("daemon", pid is not None, detail, "" if pid else "prtrace record start")
    if pid is None:
        return Check(
            "daemon",
            False,
            f"session {session.trace_id} is open but its daemon is not running",
            "prtrace record start (resumes the session and its daemon)",
            required=True,
        )
    return Check("daemon", True, f"pid {pid} records session {session.trace_id}", required=True)


def backend_checks(settings: Settings, root: Path) -> list[Check]:
    """The token, whether the backend answers, and whether it takes the token."""
    from prtrace.client import Client
    from prtrace.recorder.session.state import load_session

    session = load_session(root)
    url = session.url if session else settings.url
    token = settings.client_token()
    checks = [
        Check(
            "token",
            bool(token),
            "an API token is configured" if token else "no API token (PRTRACE_API_TOKEN)",
            ""
            if token
            else "export PRTRACE_API_TOKEN=… (from the server's admin) "
            "or set api_token in ~/.config/prtrace/config.toml",
            required=True,
        )
    ]
    try:
        with Client(url, token or "", timeout=3.0) as api:
            version = api.health().version
            checks.append(
                Check("backend", True, f"{url} answers (prtrace {version})", required=True)
            )
            if token:
                try:
                    api.list_traces(limit=1)
                    checks.append(
                        Check("token accepted", True, f"{url} accepts the token", required=True)
                    )
                except APIError as exc:
                    checks.append(
                        Check(
                            "token accepted",
                            False,
                            f"{url} refuses the token ({exc})",
                            "ask the server's admin for a valid PRTRACE_API_TOKEN",
                            required=True,
                        )
                    )
    except APIError as exc:
        checks.append(
            Check(
                "backend",
                False,
                f"{url} does not answer ({exc})",
                "set PRTRACE_URL to your prtrace server (or start one: prtrace serve)",
                required=True,
            )
        )
    return checks


def recorder_checks(ctx: SetupContext, settings: Settings) -> list[Check]:
    return [
        *target_checks(ctx),
        opt_in_check(ctx.repo),
        daemon_check(ctx.repo),
        *backend_checks(settings, ctx.repo),
    ]
