"""Shared-memory slots between the server and a decoder process (backend/shared_slots.py;
here, not in the unit tier: the block registers with multiprocessing's resource tracker, a
process): a slot is lent again only when both holders have let go, and a batch decoded
through slots is what it is through the socket."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from prtrace.backend import shared_slots
from prtrace.backend.ingest import (
    PART_SIZE,
    BatchDecoder,
    BatchParts,
    DecodedBatch,
    TakeWholePath,
    batch_hash,
    decode_batch,
)
from prtrace.backend.shared_slots import SLOTS, SlotArena
from prtrace.backend.storage.copy_binary import copy_rows
from tests.support.bad_input import thought


def test_a_slot_is_lent_again_only_when_both_holders_let_go() -> None:
    arena = SlotArena(slots=2, slot_size=4096)
    try:
        first, second = arena.take(), arena.take()
        assert first is not None and second is not None
        assert arena.take() is None, "two slots, both lent"
        assert {first.start, second.start} == {0, 4096}
        first.release()  # the decoder answered; the server still reads the rows
        assert arena.take() is None
        first.release()
        again = arena.take()
        assert again is not None and again.start == first.start
        second.abandon()  # taken, never sent
        assert arena.take() is not None
    finally:
        arena.retire()


def test_writes_through_a_slot_land_in_the_block() -> None:
    arena = SlotArena(slots=2, slot_size=4096)
    try:
        slot = arena.take()
        assert slot is not None
        slot.view[:5] = b"hello"
        assert bytes(arena.views[slot.index][:5]) == b"hello"
    finally:
        slot.abandon()
        arena.retire()


def test_retiring_removes_the_name_and_closes_once_every_slot_is_back() -> None:
    arena = SlotArena(slots=2, slot_size=4096)
    path = Path("/dev/shm") / arena.name.lstrip("/")
    assert path.exists()
    lent = arena.take()
    assert lent is not None
    arena.retire()
    assert not path.exists(), "the name goes at once"
    assert arena.take() is None, "a retired arena lends nothing"
    assert arena.views, "still mapped: a slot is out"
    lent.release()
    lent.release()
    assert arena.views == [], "closed when the last slot came back"


def _body(seq: int, count: int = 1000) -> bytes:
    events = [thought(f"e{seq}-{i}", f"note {i} " + "x" * (i % 300)) for i in range(count)]
    events[123]["raw"] = "token ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"  # redacted
    return json.dumps({"seq": seq, "events": events}).encode()


async def _never(batch: DecodedBatch) -> bytes:
    raise AssertionError("every part's rows were made by the decoder")


async def _decoded(parts: BatchParts | None) -> tuple[list[bytes], list[str], str]:
    """Each part's rows (copied: a slot's are valid until the next is asked for), the
    batch's event types and its hash."""
    assert parts is not None
    try:
        rows = [bytes(piece) async for piece in parts.rows(_never)]
        return rows, parts.types(), parts.batch_hash()
    finally:
        parts.close()


def test_parts_through_slots_are_what_they_are_through_the_socket() -> None:
    async def main() -> None:
        decoder = BatchDecoder(1)
        await decoder.start()
        try:
            assert decoder._pool is not None
            arena = decoder._pool._workers[0].arena
            assert arena is not None
            path = Path("/dev/shm") / arena.name.lstrip("/")
            assert not path.exists(), "unlinked once the decoder mapped it"
            body = _body(0)
            by_slot = await _decoded(decoder.parts(body, "trc_x", 65536))
            assert len(arena._free) == SLOTS, "every slot back"
            taken = [arena.take() for _ in range(SLOTS)]  # none free: the socket it is
            by_socket = await _decoded(decoder.parts(body, "trc_x", 65536))
            for slot in taken:
                assert slot is not None
                slot.abandon()
            assert by_slot == by_socket
            rows, types, digest = by_slot
            assert len(rows) == 4 and types == ["thought"]
            whole = decode_batch(body)
            assert digest == batch_hash(whole.raw), "the whole path's hash, part by part"
            assert rows == [
                copy_rows(
                    "trc_x",
                    0,
                    offset,
                    whole.ids[offset : offset + PART_SIZE],
                    whole.types[offset : offset + PART_SIZE],
                    whole.times[offset : offset + PART_SIZE],
                    whole.raw[offset : offset + PART_SIZE],
                )
                for offset in range(0, len(whole.raw), PART_SIZE)
            ], "the rows of the whole batch's events, part by part"
            assert b"ghp_" not in rows[0] and b"<redacted:" in rows[0]
        finally:
            await decoder.close()

    asyncio.run(main())


def test_slots_come_back_when_a_batch_goes_another_way_or_the_decoder_dies() -> None:
    async def main() -> None:
        decoder = BatchDecoder(1)
        await decoder.start()
        try:
            assert decoder._pool is not None
            worker = decoder._pool._workers[0]
            arena = worker.arena
            assert arena is not None
            parts = decoder.parts(_body(1), "trc_x", 65536)
            assert parts is not None
            async for _ in parts.rows(_never):
                break  # the store gave up after one part (a reused id, say)
            parts.close()
            for _ in range(100):  # the decoder keeps the others' until it answers
                if len(arena._free) == SLOTS:
                    break
                await asyncio.sleep(0.05)
            assert len(arena._free) == SLOTS

            parts = decoder.parts(_body(2), "trc_x", 65536)
            os.kill(worker.process.pid, signal.SIGKILL)
            assert parts is not None
            try:
                async for _ in parts.rows(_never):
                    pass
            except TakeWholePath:  # unless it finished every part first
                pass
            finally:
                parts.close()
            for _ in range(300):
                if len(arena._free) == SLOTS and decoder._pool._workers:
                    break
                await asyncio.sleep(0.1)
            assert arena.views == [], "the dead decoder's block closed, all slots back"
            replacement = decoder._pool._workers[0]
            assert replacement.arena is not None and replacement.arena is not arena
            assert len((await _decoded(decoder.parts(_body(3), "trc_x", 65536)))[0]) == 4
        finally:
            await decoder.close()

    asyncio.run(main())


def test_a_full_dev_shm_means_no_slots_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Docker's /dev/shm is 64 MB: a block that does not fit fails when made (its pages
    are reserved up front), leaves no name behind, and parts go by socket."""
    made: list[str] = []
    real = shared_slots._Block.__init__

    def remember(self: Any, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        made.append(self.name)

    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shared_slots._Block, "__init__", remember)
    monkeypatch.setattr(os, "posix_fallocate", full)
    assert SlotArena.create() is None
    assert made and not (Path("/dev/shm") / made[0].lstrip("/")).exists()
