"""``prtrace setup vscode|cursor|vscodium``: install prtrace's VS Code extension.

The extension (editor-configs/vscode/, built as a ``.vsix``) records from the
editor's own API. Setup installs it with the editor's command line
(``code --install-extension FILE``) when it is found: the package from
``$PRTRACE_VSIX``, one shipped beside the editor configs, or else one packed here
from the extension's own files, which the wheel carries (``vscode/prtrace/``:
``package.json`` and ``extension.js``, no dependencies), so an installed prtrace
needs neither Node nor vsce. A ``.vsix`` is a zip; :func:`pack_vsix` writes the
layout ``vsce package`` 4.1.0 does (tests/integration/test_setup_vscode.py compares
the two). When the CLI is missing it changes nothing and says what to do.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from prtrace.errors import ConfigError
from prtrace.recorder.setup import configs
from prtrace.recorder.setup.base import Action, Check, SetupContext

CLIS = {"vscode": "code", "cursor": "cursor", "vscodium": "codium"}
BUILD_HINT = (
    "set PRTRACE_VSIX to a .vsix file, or reinstall prtrace (its wheel carries the "
    "extension's files, which setup packs itself)"
)


EXTENSION_FILES = ("package.json", "extension.js")
"""What the extension is made of (its .vscodeignore drops the rest); the wheel ships these."""
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension=".js" ContentType="application/javascript"/>'
    '<Default Extension=".json" ContentType="application/json"/>'
    '<Default Extension=".vsixmanifest" ContentType="text/xml"/></Types>'
)
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
"""Fixed, so the same sources pack to the same bytes."""


def extension_source() -> Path | None:
    """The extension's files: shipped in the wheel, or the checkout's."""
    try:
        source = configs.config_dir() / "vscode" / "prtrace"
    except ConfigError:  # no configs installed: nothing to pack
        return None
    return source if all((source / name).is_file() for name in EXTENSION_FILES) else None


def vsix_manifest(manifest: dict) -> str:
    """``extension.vsixmanifest`` for a package.json, with the fields vsce writes."""
    attr = {k: quoteattr(str(manifest.get(k, ""))) for k in ("name", "version", "publisher")}
    props = {
        "Microsoft.VisualStudio.Code.Engine": manifest.get("engines", {}).get("vscode", "*"),
        "Microsoft.VisualStudio.Code.ExtensionDependencies": "",
        "Microsoft.VisualStudio.Code.ExtensionPack": "",
        "Microsoft.VisualStudio.Code.ExtensionKind": "workspace",
        "Microsoft.VisualStudio.Code.LocalizedLanguages": "",
        "Microsoft.VisualStudio.Code.EnabledApiProposals": "",
        "Microsoft.VisualStudio.Code.ExecutesCode": "true" if manifest.get("main") else "false",
        "Microsoft.VisualStudio.Services.GitHubFlavoredMarkdown": "true",
        "Microsoft.VisualStudio.Services.Content.Pricing": "Free",
    }
    properties = "".join(
        f"<Property Id={quoteattr(k)} Value={quoteattr(v)} />" for k, v in props.items()
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<PackageManifest Version="2.0.0" '
        'xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011" '
        'xmlns:d="http://schemas.microsoft.com/developer/vsx-schema-design/2011"><Metadata>'
        f'<Identity Language="en-US" Id={attr["name"]} Version={attr["version"]} '
        f"Publisher={attr['publisher']} />"
        f"<DisplayName>{escape(manifest.get('displayName', manifest.get('name', '')))}</DisplayName>"
        '<Description xml:space="preserve">'
        f"{escape(manifest.get('description', ''))}</Description>"
        f"<Categories>{escape(','.join(manifest.get('categories', [])))}</Categories>"
        f"<GalleryFlags>Public</GalleryFlags><Properties>{properties}</Properties></Metadata>"
        '<Installation><InstallationTarget Id="Microsoft.VisualStudio.Code"/></Installation>'
        '<Dependencies/><Assets><Asset Type="Microsoft.VisualStudio.Code.Manifest" '
        'Path="extension/package.json" Addressable="true" /></Assets></PackageManifest>'
    )


def pack_vsix(source: Path, out: Path) -> Path:
    """Pack ``source``'s extension files into ``out``, as ``vsce package`` lays them out."""
    manifest = json.loads((source / "package.json").read_text(encoding="utf-8"))
    entries = [
        ("extension.vsixmanifest", vsix_manifest(manifest).encode()),
        ("[Content_Types].xml", CONTENT_TYPES.encode()),
        *((f"extension/{name}", (source / name).read_bytes()) for name in EXTENSION_FILES),
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    partial.replace(out)
    return out


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

    def _package(self, ctx: SetupContext) -> Path | None:
        """$PRTRACE_VSIX or a shipped .vsix; else one packed from the shipped sources."""
        vsix, source = configs.vsix(), extension_source()
        if vsix is not None or source is None:
            return vsix
        # --print writes nothing into the home folder; the package is needed for its id.
        cache = Path(tempfile.mkdtemp()) if ctx.print_only else ctx.home / ".cache" / "prtrace"
        return pack_vsix(source, cache / "prtrace-recorder.vsix")

    def _missing(self, ctx: SetupContext) -> tuple[str | None, Path | None, str]:
        cli = self._cli()
        vsix = None if cli is None else self._package(ctx)
        if cli is None:
            return (
                None,
                configs.vsix(),
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
        cli, vsix, problem = self._missing(ctx)
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
        cli, vsix, problem = self._missing(ctx)
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
        cli, vsix, problem = self._missing(ctx)
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
