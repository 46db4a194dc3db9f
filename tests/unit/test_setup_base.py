"""The rules every ``prtrace setup`` target shares: idempotent, user settings kept, undo exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prtrace.errors import ConfigError, UsageError
from prtrace.recorder.setup import TARGETS, load
from prtrace.recorder.setup.base import (
    SetupContext,
    backup_path,
    drop_block,
    has_block,
    merge_json,
    put_block,
)


def test_put_block_appends_then_replaces_in_place() -> None:
    user = "export A=1\n"
    once = put_block(user, "t", "line one")
    assert once.startswith(user) and has_block(once, "t")
    twice = put_block(once, "t", "line two")
    assert "line one" not in twice and "line two" in twice
    assert twice.count(">>> prtrace t >>>") == 1
    assert put_block(twice, "t", "line two") == twice


def test_put_block_on_text_without_final_newline() -> None:
    assert put_block("x=1", "t", "b").startswith("x=1\n# >>> prtrace t >>>\nb\n")


def test_drop_block_removes_only_ours() -> None:
    user_before, user_after = "a\n", "b\n"
    text = put_block(user_before, "t", "ours") + user_after
    assert drop_block(text, "t") == user_before + user_after
    assert drop_block(user_before, "t") == user_before


def test_unclosed_block_is_an_error_not_a_rewrite() -> None:
    with pytest.raises(ConfigError, match="never closed"):
        put_block("# >>> prtrace t >>>\nrest\n", "t", "x")


def test_merge_json_keeps_user_keys_and_backs_up_once(tmp_path: Path) -> None:
    ctx = SetupContext(home=tmp_path, repo=tmp_path)
    path = tmp_path / "settings.json"
    path.write_text('{"user": 1}\n')
    action = merge_json(ctx, path, lambda d: d.setdefault("ours", True))
    assert action.kind == "updated"
    assert json.loads(path.read_text()) == {"user": 1, "ours": True}
    assert json.loads(backup_path(path).read_text()) == {"user": 1}
    again = merge_json(ctx, path, lambda d: d.setdefault("ours", True))
    assert again.kind == "unchanged"


def test_merge_json_refuses_to_overwrite_what_it_cannot_parse(tmp_path: Path) -> None:
    ctx = SetupContext(home=tmp_path, repo=tmp_path)
    path = tmp_path / "settings.json"
    path.write_text("{ // a comment\n")
    with pytest.raises(ConfigError, match="not valid JSON"):
        merge_json(ctx, path, lambda d: d.setdefault("ours", True))
    assert path.read_text() == "{ // a comment\n"


def test_print_only_writes_nothing(tmp_path: Path) -> None:
    ctx = SetupContext(home=tmp_path, repo=tmp_path, print_only=True)
    actions = load("bash").install(ctx)
    assert [a.kind for a in actions] == ["would-write"]
    assert 'eval "$(prtrace hook bash)"' in (actions[0].content or "")
    assert not (tmp_path / ".bashrc").exists()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_setup_is_idempotent_and_undone(tmp_path: Path, shell: str) -> None:
    ctx = SetupContext(home=tmp_path, repo=tmp_path)
    target = load(shell)
    assert not target.check(ctx)[0].ok
    assert [a.kind for a in target.install(ctx)] == ["created"]
    rc = target.install(ctx)[0].path
    assert rc is not None
    rc.write_text("# mine\n" + rc.read_text())
    assert [a.kind for a in target.install(ctx)] == ["unchanged"]
    assert target.check(ctx)[0].ok
    assert [a.kind for a in target.undo(ctx)] == ["removed"]
    assert rc.read_text() == "# mine\n"
    assert not target.check(ctx)[0].ok


def test_unknown_target_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match="known: .*bash"):
        load("notepad")
    assert {"bash", "zsh", "fish"} <= set(TARGETS)
