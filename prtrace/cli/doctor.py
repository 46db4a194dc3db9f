"""``prtrace doctor [--json] [--server]``: what records here, and what to do about the rest.

The recorder's pieces are checked in :mod:`prtrace.recorder.setup.doctor`; the
server's (a Docker engine, the QA test images) here, since the recorder must not
import QA. Exit 1 when a required piece is missing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from prtrace.cli import common

if TYPE_CHECKING:
    from prtrace.recorder.setup.base import Check


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check every piece that records (configs, extension, daemon, backend, token, opt-in)",
        description=(
            "Check each piece prtrace needs here and print what to do for each one missing: "
            "the editor configs, VS Code extension and shell hooks prtrace setup installs, "
            "whether this workspace opted in, its daemon, the token and the backend; with "
            "--server, Docker and the QA images. Exits 1 when a required piece is missing."
        ),
    )
    parser.add_argument(
        "--server", action="store_true", help="also check Docker and the QA test images"
    )
    parser.add_argument("--home", metavar="DIR", help="the home folder to check (default: ~)")
    parser.add_argument(
        "--repo", metavar="DIR", help="the workspace to check (default: the one around the cwd)"
    )
    common.add_json_option(parser)
    parser.set_defaults(handler=run)


def server_checks() -> list[Check]:
    from prtrace.recorder.setup.base import Check

    fix_engine = "scripts/docker-up.sh (Debian, as root) installs and starts one"
    try:
        import docker

        from prtrace.qa.images import IMAGES, image_exists
    except ImportError as exc:
        return [
            Check(
                "docker", False, f"QA is not installed ({exc})", "pip install 'prtrace[qa]'", True
            )
        ]
    try:
        client = docker.from_env(timeout=10)
        version = client.version().get("Version", "?")
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine answers"
        return [Check("docker", False, f"no Docker engine answers ({exc})", fix_engine, True)]
    checks = [Check("docker", True, f"Docker {version} answers", required=True)]
    for name in IMAGES:
        found = image_exists(client, name)
        checks.append(
            Check(
                f"image {name}",
                found,
                "built" if found else "missing: QA cannot run tests in it",
                "" if found else f"python -m prtrace.qa.images build {name}",
                required=True,
            )
        )
    return checks


def run(args: argparse.Namespace) -> int:
    from prtrace.config import load_settings
    from prtrace.recorder.session.workspace import find_root
    from prtrace.recorder.setup.base import SetupContext, default_command
    from prtrace.recorder.setup.doctor import recorder_checks

    ctx = SetupContext(
        home=Path(args.home).expanduser() if args.home else Path.home(),
        repo=find_root(args.repo),
        prtrace=default_command(),
    )
    checks = recorder_checks(ctx, load_settings())
    if args.server:
        checks += server_checks()
    missing = [c for c in checks if c.required and not c.ok]
    if args.json:
        common.print_json(
            {
                "ok": not missing,
                "workspace": str(ctx.repo),
                "checks": [
                    {
                        "name": c.name,
                        "ok": c.ok,
                        "required": c.required,
                        "detail": c.detail,
                        "fix": c.fix,
                    }
                    for c in checks
                ],
            }
        )
    else:
        for c in checks:
            mark = "ok  " if c.ok else ("MISS" if c.required else "--  ")
            print(f"{mark} {c.name}: {c.detail}")
            if not c.ok and c.fix:
                print(f"       fix: {c.fix}")
        print(
            f"{len(missing)} required piece(s) missing"
            if missing
            else "everything required is in place"
        )
    return 1 if missing else common.EXIT_OK
