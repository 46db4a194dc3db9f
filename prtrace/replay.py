"""Replaying a trace: rebuild the developer's workspace event by event.

A trace records every change to a file with the hash of the text before and
after it (:mod:`prtrace.hashing`) and the change itself as a unified diff
(:mod:`prtrace.patches`, applied strictly). Replaying applies the changes in
order to a checkout of the task's commit and checks both hashes at every step,
so a replayed workspace is byte for byte what the developer had, and the first
event where recording and replay disagree is named rather than papered over.

Two users share this module:

* QA (``qa/replay.py``) rebuilds a final patch from the edits with
  :func:`replay_events` when a trace has none;
* harnesses and ``prtrace replay`` use :func:`replay`: check out, replay up to
  an event or a time (``until``/``at``), get the timeline, the disagreement if
  any, and the workspace's diff (:meth:`ReplayResult.diff`).

This module uses git (through :mod:`prtrace.git`) and the standard library only
(``prtrace`` must not import ``qa`` or ``backend``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from prtrace.errors import (
    CheckoutError,
    FormatError,
    GitError,
    PatchError,
    PathRefused,
    ReplayError,
)
from prtrace.events import (
    Edit,
    Event,
    FileChanged,
    FileCreated,
    FileDeleted,
    FileMoved,
    FileOpened,
    FileSaved,
)
from prtrace.git import run as git
from prtrace.git import working_tree_patch
from prtrace.hashing import is_text_hash, text_hash
from prtrace.patches import apply_patch
from prtrace.paths import resolve_inside
from prtrace.trace import Trace

__all__ = [
    "Disagreement",
    "PathRefused",
    "ReplayError",
    "ReplayResult",
    "Step",
    "apply_event",
    "checkout",
    "events_until",
    "load_trace",
    "replay",
    "replay_events",
    "reupload",
    "unverifiable_edits",
    "verifiable",
]

# --- one event --------------------------------------------------------------------


def _read(path: Path) -> str | None:
    if not path.is_file():
        return None
    with open(path, encoding="utf-8", errors="surrogatepass", newline="") as f:
        return f.read()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", errors="surrogatepass", newline="") as f:
        f.write(text)


def _patched(where: str, before: str, patch: str) -> str:
    try:
        return apply_patch(before, patch)
    except PatchError as exc:
        raise ReplayError(f"{where}: {exc}") from exc


def apply_event(root: Path, event: Any, where: str, *, observe: bool = False) -> bool:
    """Apply one event to the workspace at ``root``; True if it changed a file.

    Changes (``edit``, ``file_created``, ``file_changed``, ``file_deleted``,
    ``file_moved``) are applied and their hashes checked. With ``observe``,
    what the editor saw is checked too: the text at ``file_opened`` and
    ``file_saved`` must have the recorded hash. Raises :class:`ReplayError`
    (``where`` names the event) or :class:`PathRefused`.
    """
    if isinstance(event, Edit):
        target = resolve_inside(root, event.path)
        before = _read(target) or ""
        checked = verifiable(event)  # another client's hashes: applied, not checked
        if checked and text_hash(before) != event.before_hash:
            raise ReplayError(f"{where}: {event.path} does not match before_hash")
        after = _patched(where, before, event.patch_unified)
        if checked and text_hash(after) != event.after_hash:
            raise ReplayError(f"{where}: {event.path} does not match after_hash after the edit")
        _write(target, after)
        return True
    if isinstance(event, FileCreated):
        if event.binary or event.patch_unified is None:
            return False
        target = resolve_inside(root, event.path)
        after = _patched(where, "", event.patch_unified)
        if event.hash and text_hash(after) != event.hash:
            raise ReplayError(f"{where}: {event.path} does not match its hash")
        _write(target, after)
        return True
    if isinstance(event, FileChanged):
        return _file_changed(root, event, where)
    if isinstance(event, FileDeleted):
        target = resolve_inside(root, event.path)
        if not target.is_file():
            return False
        if event.before_hash and text_hash(_read(target) or "") != event.before_hash:
            raise ReplayError(f"{where}: {event.path} does not match before_hash")
        target.unlink()
        return True
    if isinstance(event, FileMoved):
        source = resolve_inside(root, event.from_path)
        target = resolve_inside(root, event.path)
        if not source.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        return True
    if observe and isinstance(event, (FileOpened, FileSaved)) and event.hash:
        text = _read(resolve_inside(root, event.path))
        if text is not None and text_hash(text) != event.hash:
            what = "opened" if isinstance(event, FileOpened) else "saved"
            raise ReplayError(f"{where}: {event.path} as {what} does not match its hash")
    return False


def verifiable(event: Any) -> bool:
    """Can replay check this change's hashes? Not when they are another client's kind
    (the seed's ``abc123``): the change is then applied but unverifiable."""
    if isinstance(event, Edit):
        return is_text_hash(event.before_hash) and is_text_hash(event.after_hash)
    return True


def unverifiable_edits(events: Iterable[Any]) -> list[str]:
    """The ids of the edits whose hashes replay cannot check (see :func:`verifiable`)."""
    return [e.id for e in events if not verifiable(e)]


def _file_changed(root: Path, event: FileChanged, where: str) -> bool:
    """A change seen on disk. The editor's own edits usually got there first
    (the watcher sees the save), so a file already at ``after_hash`` is fine."""
    if event.binary:
        return False
    target = resolve_inside(root, event.path)
    current = _read(target)
    if current is not None and event.after_hash and text_hash(current) == event.after_hash:
        return False
    if event.patch_unified is None:
        if event.after_hash:
            raise ReplayError(f"{where}: {event.path} changed on disk with no patch to replay")
        return False
    before = current or ""
    if event.before_hash and text_hash(before) != event.before_hash:
        raise ReplayError(f"{where}: {event.path} does not match before_hash")
    after = _patched(where, before, event.patch_unified)
    if event.after_hash and text_hash(after) != event.after_hash:
        raise ReplayError(f"{where}: {event.path} does not match after_hash after the change")
    _write(target, after)
    return True


def _where(index: int, event: Any) -> str:
    return f"events[{index}] (id {event.id})"


def replay_events(root: Path, events: Iterable[Event]) -> int:
    """Apply every change in ``events`` to ``root``; how many changed a file.

    Stops at the first event that does not replay (:class:`ReplayError` naming
    it). Paths are refused like a patch's before anything is written.
    """
    changed = 0
    for index, event in enumerate(events):
        changed += apply_event(root, event, _where(index, event))
    return changed


# --- a whole session ----------------------------------------------------------------


@dataclass
class Step:
    """One event of the timeline as replayed."""

    index: int
    event: Any
    changed: bool = False
    error: str | None = None
    verified: bool = True
    """False for a change whose hashes are not sha256: applied, but not checked."""

    @property
    def type(self) -> str:
        return type(self.event).__struct_config__.tag


@dataclass
class Disagreement:
    """The first event where the recording and the replay disagree."""

    index: int
    event_id: str
    type: str
    path: str | None
    message: str


@dataclass
class ReplayResult:
    workspace: Path
    commit: str
    steps: list[Step] = field(default_factory=list)
    stopped_at: str | None = None
    """The id of the last event replayed when ``until``/``at`` stopped early."""
    disagreement: Disagreement | None = None

    @property
    def ok(self) -> bool:
        return self.disagreement is None

    @property
    def changed(self) -> int:
        return sum(step.changed for step in self.steps)

    @property
    def unverifiable(self) -> list[str]:
        """Ids of the replayed changes whose hashes could not be checked."""
        return [step.event.id for step in self.steps if not step.verified]

    def diff(self) -> str:
        """The workspace against the commit: the final patch, as ``record stop`` makes it
        (:func:`prtrace.git.working_tree_patch`)."""
        return working_tree_patch(self.workspace, self.commit)


def repository_source(repository: str) -> str:
    """A URL (or scp-style address) as given; a local path made absolute (QA's mirrors too)."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", repository) or re.match(r"^[\w.-]+@[\w.-]+:", repository):
        return repository
    path = Path(repository).expanduser()
    if not path.exists():
        raise CheckoutError(f"repository {repository!r} is neither a URL nor an existing path")
    return str(path.resolve())


def checkout(repository: str, commit: str, target: Path) -> str:
    """Clone ``repository`` (a path or URL) into ``target`` at ``commit``, detached.

    ``target`` must be absent or empty. Returns the full commit hash.
    """
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise CheckoutError(f"{target} is not empty")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        git("clone", "--quiet", "--no-checkout", repository_source(repository), str(target))
        found = git(
            "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", cwd=target, check=False
        )
        if not found.ok:
            # A commit no branch advertises: ask the server for it by id.
            git("fetch", "--quiet", "origin", commit, cwd=target)
            found = git("rev-parse", "--verify", f"{commit}^{{commit}}", cwd=target)
        full = found.stdout.strip()
        git("checkout", "--quiet", "--detach", full, cwd=target)
    except GitError as exc:
        raise CheckoutError(f"cannot check out {repository} at {commit}: {exc}") from exc
    return full


def replay(
    trace: Trace,
    workspace: Path,
    *,
    repository: str | None = None,
    until: str | None = None,
    at: datetime | None = None,
    observe: bool = True,
    keep_going: bool = False,
) -> ReplayResult:
    """Check out the trace's task into ``workspace`` and replay its events.

    ``repository`` overrides ``trace.task.repository`` (a local mirror, say).
    Stops after the event with id ``until``, or before the first event later
    than ``at``: the workspace is then exactly as the developer had it. The
    first disagreement stops the replay unless ``keep_going`` (later steps then
    run on whatever the workspace holds, and report their own errors).
    """
    if until is not None and until not in {e.id for e in trace.events}:
        raise ValueError(f"no event with id {until!r} in trace {trace.trace_id}")
    commit = checkout(repository or trace.task.repository, trace.task.commit, workspace)
    result = ReplayResult(workspace=Path(workspace), commit=commit)
    chosen = events_until(trace, until, at)
    if len(chosen) < len(trace.events):
        result.stopped_at = chosen[-1].id if chosen else None
    for index, event in enumerate(chosen):
        step = Step(index=index, event=event, verified=verifiable(event))
        result.steps.append(step)
        try:
            step.changed = apply_event(
                result.workspace, event, _where(index, event), observe=observe
            )
        except (ReplayError, PathRefused) as exc:
            step.error = str(exc)
            if result.disagreement is None:
                result.disagreement = Disagreement(
                    index=index,
                    event_id=event.id,
                    type=step.type,
                    path=getattr(event, "path", None),
                    message=str(exc),
                )
            if not keep_going:
                break
    return result


# --- loading -----------------------------------------------------------------------


def load_trace(source: str | Path, client: Any = None) -> Trace:
    """A trace from a file (a trace document, or the first line of a JSONL export)
    or, given a :class:`prtrace.client.Client`, from the server by id.

    A file that is not a trace document is a :class:`~prtrace.errors.FormatError`.
    """
    path = Path(source)
    if path.is_file():
        data = path.read_bytes()
        first = data.lstrip().split(b"\n", 1)[0] if data.lstrip().startswith(b"{") else data
        try:
            try:
                return decode_document(data)
            except msgspec.DecodeError:
                return decode_document(first)
        except (msgspec.MsgspecError, UnicodeDecodeError) as exc:
            raise FormatError(f"{source}: not a trace document: {exc}") from None
        except FormatError as exc:
            raise FormatError(f"{source}: not a trace document: {exc}") from None
    if client is None:
        raise FileNotFoundError(f"{source}: no such file (and no server to ask for a trace id)")
    return client.get_trace(str(source))


def decode_document(data: bytes | str) -> Trace:
    """A trace document, prtrace's (any version) or in the seed's shape (recognised by it)."""
    from prtrace.dialects import seed

    if msgspec.json.decode(data, type=_Version).version == seed.SEED_VERSION:
        obj = msgspec.json.decode(data)  # the seed's version string: old prtrace, or the seed
        if seed.is_seed_document(obj):
            return seed.document_to_native(obj)
    return msgspec.json.decode(data, type=Trace)


class _Version(msgspec.Struct):
    version: str | None = None


def events_until(trace: Trace, until: str | None = None, at: datetime | None = None) -> list[Any]:
    """The trace's events up to and including ``until``, or up to time ``at``."""
    chosen: list[Any] = []
    for event in trace.events:
        if at is not None and event.t > at:
            break
        chosen.append(event)
        if event.id == until:
            break
    return chosen


def reupload(
    trace: Trace,
    client: Any,
    *,
    until: str | None = None,
    at: datetime | None = None,
    batch_size: int | None = None,
) -> str:
    """Send a trace to a (another) backend as a new trace; the new trace's id.

    The events go in batches under the server's limit and the trace is
    finalized: with its artifacts when it is sent whole, without them when
    ``until``/``at`` cut it short (the final patch belongs to the whole session).
    """
    from prtrace.api_types import MAX_BATCH_EVENTS

    events = events_until(trace, until, at)
    size = min(batch_size or MAX_BATCH_EVENTS, MAX_BATCH_EVENTS)
    created = client.create_trace(trace.developer, trace.task, trace.environment)
    for seq, start in enumerate(range(0, len(events), size)):
        client.upload_events(
            created.trace_id, seq, events[start : start + size], token=created.upload_token
        )
    whole = len(events) == len(trace.events)
    has_artifacts = (
        trace.artifacts.final_patch is not None or trace.artifacts.test_results is not None
    )
    client.finalize(
        created.trace_id,
        trace.artifacts if whole and has_artifacts else None,
        token=created.upload_token,
    )
    return created.trace_id
