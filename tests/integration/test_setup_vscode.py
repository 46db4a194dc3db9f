"""``prtrace setup vscode`` with no Node and no vsce: the extension packed by prtrace
itself (``pack_vsix``) is the package vsce makes, and a real VS Code (code-server's
command line, standing in for ``code``) installs it, twice, and uninstalls it."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from prtrace.recorder.setup.vscode import extension_source, pack_vsix
from tests.support.lsp_support import prtrace_cmd
from tests.support.services import service_required
from tests.support.vscode import CODE_SERVER, EXTENSION, NODE_BIN, build_vsix, missing_tools

VSX = "{http://schemas.microsoft.com/developer/vsx-schema/2011}"
EXTENSION_ID = "prtrace.prtrace-recorder"


@pytest.fixture
def tools() -> None:
    problem = missing_tools()
    if problem:
        service_required(problem)


def _identity(archive: zipfile.ZipFile) -> tuple[dict[str, str], dict[str, str]]:
    root = ElementTree.fromstring(archive.read("extension.vsixmanifest"))
    identity = root.find(f"{VSX}Metadata/{VSX}Identity")
    assert identity is not None
    props = {p.get("Id"): p.get("Value") for p in root.iter(f"{VSX}Property")}
    return dict(identity.attrib), props


def test_packed_vsix_is_the_package_vsce_makes(tools: None, tmp_path: Path) -> None:
    ours = zipfile.ZipFile(pack_vsix(EXTENSION, tmp_path / "ours.vsix"))
    theirs = zipfile.ZipFile(build_vsix(tmp_path / "vsce.vsix"))
    assert sorted(ours.namelist()) == sorted(theirs.namelist())
    assert ours.read("extension/extension.js") == theirs.read("extension/extension.js")
    assert json.loads(ours.read("extension/package.json")) == json.loads(
        theirs.read("extension/package.json")
    )
    our_identity, our_props = _identity(ours)
    their_identity, their_props = _identity(theirs)
    assert our_identity == their_identity
    for key in ("Microsoft.VisualStudio.Code.Engine", "Microsoft.VisualStudio.Code.ExecutesCode"):
        assert our_props[key] == their_props[key], key


def _code_wrapper(tmp_path: Path) -> Path:
    """A ``code`` on PATH: code-server's CLI on a private extensions folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "code"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'PATH="{NODE_BIN}:$PATH" exec "{CODE_SERVER}" '
        f'--extensions-dir "{tmp_path / "exts"}" --user-data-dir "{tmp_path / "ud"}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return bin_dir


def _setup(env: dict[str, str], home: Path, *args: str) -> list[dict]:
    done = subprocess.run(
        [*prtrace_cmd(), "setup", "vscode", *args, "--home", str(home), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["actions"]


def test_setup_vscode_packs_installs_twice_and_undoes(tools: None, tmp_path: Path) -> None:
    assert extension_source() is not None
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRTRACE_")}
    env["PATH"] = f"{_code_wrapper(tmp_path)}{os.pathsep}{env['PATH']}"
    list_cmd = [str(tmp_path / "bin" / "code"), "--list-extensions"]

    first = _setup(env, home)
    assert [a["kind"] for a in first] == ["created"], first
    packed = Path(first[0]["path"])
    assert packed == home / ".cache" / "prtrace" / "prtrace-recorder.vsix"
    listed = subprocess.run(list_cmd, capture_output=True, text=True, check=True, timeout=120)
    assert EXTENSION_ID in listed.stdout.lower().split()

    assert [a["kind"] for a in _setup(env, home)] == ["unchanged"]

    assert [a["kind"] for a in _setup(env, home, "--undo")] == ["removed"]
    listed = subprocess.run(list_cmd, capture_output=True, text=True, check=True, timeout=120)
    assert EXTENSION_ID not in listed.stdout.lower().split()
