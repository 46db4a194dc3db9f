"""Every shipped editor config wraps its servers with ``prtrace lsp --`` and parses."""

from __future__ import annotations

import json
import re
import tomllib

from tests.support.lsp_support import ROOT

CONFIGS = ROOT / "editor-configs"


def test_helix_servers_run_behind_the_proxy() -> None:
    config = tomllib.loads((CONFIGS / "helix" / "languages.toml").read_text())
    servers = config["language-server"]
    assert servers and all(
        s["command"] == "prtrace" and s["args"][:2] == ["lsp", "--"] for s in servers.values()
    )
    used = {name for lang in config["language"] for name in lang["language-servers"]}
    assert used <= set(servers)


def test_vscode_extension_manifest() -> None:
    manifest = json.loads((CONFIGS / "vscode" / "prtrace-lsp" / "package.json").read_text())
    assert manifest["main"] == "./extension.js"
    source = (CONFIGS / "vscode" / "prtrace-lsp" / "extension.js").read_text()
    assert '["lsp", "--", command, ...args]' in source
    assert "exec prtrace lsp -- gopls" in (CONFIGS / "vscode" / "prtrace-gopls").read_text()


def test_native_vscode_extension_manifest_matches_its_code() -> None:
    """Every contributed command is registered, settings read are declared, and the
    packaging tool is pinned exactly, with a lock (the .vsix is built offline)."""
    folder = CONFIGS / "vscode" / "prtrace"
    manifest = json.loads((folder / "package.json").read_text())
    source = (folder / "extension.js").read_text()
    commands = {c["command"] for c in manifest["contributes"]["commands"]}
    registered = set(re.findall(r"registerCommand\('([\w.]+)'", source))
    assert commands == registered, (commands, registered)
    settings = set(manifest["contributes"]["configuration"]["properties"])
    used = {f"prtrace.recorder.{key}" for key in re.findall(r"config\(\)\.get\('(\w+)'", source)}
    assert used == settings
    assert "editor-bridge" in source and "--stdio" in source
    pins = manifest["devDependencies"]
    assert pins and all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in pins.values())
    assert not manifest.get("dependencies")  # nothing at run time but the vscode API
    lock = json.loads((folder / "package-lock.json").read_text())
    assert lock["packages"][""]["devDependencies"] == pins
    for name in ("node24", "code-server"):
        test_tools = ROOT / "tests" / "support" / "node" / name
        wanted = json.loads((test_tools / "package.json").read_text())["dependencies"]
        locked = json.loads((test_tools / "package-lock.json").read_text())["packages"][""]
        assert locked["dependencies"] == wanted and all(
            re.fullmatch(r"\d+\.\d+\.\d+", v) for v in wanted.values()
        )


def test_vim_and_emacs_configs_wrap_the_command() -> None:
    assert (
        "[g:prtrace_command, 'lsp', '--'] + l:cmd" in (CONFIGS / "vim" / "prtrace.vim").read_text()
    )
    assert "'%e lsp -- '" in (CONFIGS / "vim" / "prtrace-ale.vim").read_text()
    for name in ("prtrace-eglot.el", "prtrace-lsp-mode.el"):
        assert '"lsp" "--"' in (CONFIGS / "emacs" / name).read_text()


def test_emacs_lisp_is_balanced() -> None:
    # Emacs loads them for real in tests/e2e/test_lsp_emacs.py; this is the quick check.
    for name in ("prtrace-eglot.el", "prtrace-lsp-mode.el"):
        text = (CONFIGS / "emacs" / name).read_text()
        assert text.count("(") - text.count("\\(") == text.count(")") - text.count("\\)")
