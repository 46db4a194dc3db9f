"""``prtrace setup vscode|cursor|vscodium``: install prtrace's VS Code extension.

The extension (editor-configs/vscode/, built as a ``.vsix``) records from the
editor's own API. Setup installs it with the editor's command line
(``code --install-extension FILE``) when both are found: the package from
``$PRTRACE_VSIX`` or one shipped beside the editor configs. When either is
missing it changes nothing and says what to do.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from prtrace.recorder.setup import configs
from prtrace.recorder.setup.base import Action, Check, SetupContext

CLIS = {"vscode": "code", "cursor": "cursor", "vscodium": "codium"}
BUILD_HINT = (
    "build it with `npx @vscode/vsce package` in editor-configs/vscode/ and set PRTRACE_VSIX "
    "to the .vsix file"
)


def extension_id(vsix: Path) -> str | None:
    """``publisher.name`` from the package's manifest, or None if it is not a readable vsix."""
    try:
        with zipfile.ZipFile(vsix) as archive:
            manifest = json.loads(archive.read("extension/package.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    publisher, name = manifest.get("publisher"), manifest.get("name")
    return f"{publisher}.{name}".lower() if publisher and name else None


@dataclass
class VSCodeTarget:
    name: str

    @property
    def cli_name(self) -> str:
        return CLIS[self.name]

    def _cli(self) -> str | None:
        return shutil.which(self.cli_name)

    def _run(self, cli: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cli, *args], capture_output=True, text=True, timeout=300, check=False
        )

    def _installed(self, cli: str) -> set[str]:
        done = self._run(cli, "--list-extensions")
        return {line.strip().lower() for line in done.stdout.splitlines() if line.strip()}

    def _missing(self) -> tuple[str | None, Path | None, str]:
        cli, vsix = self._cli(), configs.vsix()
        if cli is None:
            return (
                None,
                vsix,
                (
                    f"`{self.cli_name}` is not on PATH: open {self.name}'s command "
                    "palette, run 'Shell Command: Install command in PATH', then run this again"
                ),
            )
        if vsix is None or not vsix.is_file():
            where = f"{vsix} does not exist" if vsix else "no prtrace .vsix was found"
            return cli, None, f"{where}: {BUILD_HINT}"
        return cli, vsix, ""

    def install(self, ctx: SetupContext) -> list[Action]:
        cli, vsix, problem = self._missing()
        if problem or cli is None or vsix is None:
            return [Action("note", vsix, problem)]
        ext = extension_id(vsix)
        if ext and ext in self._installed(cli):
            return [Action("unchanged", vsix, f"{ext} is installed in {self.name}")]
        if ctx.print_only:
            return [Action("would-write", vsix, f"{cli} --install-extension {vsix}")]
        done = self._run(cli, "--install-extension", str(vsix), "--force")
        if done.returncode != 0:
            return [
                Action("note", vsix, f"{cli} --install-extension failed: {done.stderr.strip()}")
            ]
        return [Action("created", vsix, f"installed {ext or vsix.name} in {self.name}")]

    def undo(self, ctx: SetupContext) -> list[Action]:
        cli, vsix, problem = self._missing()
        ext = extension_id(vsix) if vsix else None
        if cli is None or ext is None:
            return [Action("note", vsix, problem or "cannot tell the extension's id")]
        if ext not in self._installed(cli):
            return [Action("unchanged", vsix, f"{ext} is not installed")]
        if ctx.print_only:
            return [Action("would-write", vsix, f"{cli} --uninstall-extension {ext}")]
        self._run(cli, "--uninstall-extension", ext)
        return [Action("removed", vsix, f"uninstalled {ext} from {self.name}")]

    def check(self, ctx: SetupContext) -> list[Check]:
        cli, vsix, problem = self._missing()
        label = f"{self.name} extension"
        if problem or cli is None or vsix is None:
            return [Check(label, False, problem, f"prtrace setup {self.name}")]
        ext = extension_id(vsix)
        ok = bool(ext) and ext in self._installed(cli)
        return [
            Check(
                label,
                ok,
                f"{ext} is installed" if ok else f"{ext or vsix.name} is not installed",
                "" if ok else f"prtrace setup {self.name}",
            )
        ]


def target(name: str) -> VSCodeTarget:
    return VSCodeTarget(name)
