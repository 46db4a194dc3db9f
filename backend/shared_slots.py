"""Slots of shared memory between the server and one decoder process.

A part of a batch sent to a decoder process through its socket crosses the kernel
twice (the events in, their ``COPY`` rows back), and on ingest those copies cost the
server ~2 µs of CPU per event and the decoder about as much: as much as its
Aho-Corasick passes. Instead the server writes a part's events into a slot of a
block both processes map, the decoder reads them there and writes the rows back
into the same slot, and only offsets and lengths go through the socket.

A slot is held twice: by the decoder until its answer arrives (or it dies) and by
the server until the rows are written to the database (or the batch goes another
way). It is lent again only when both have let go, so neither ever sees the other's
bytes change under it. A part that does not fit a slot, or finds none free, goes
through the socket as before: slots are a speed-up, never a limit.

The block is unlinked as soon as its decoder has mapped it, so nothing is left in
``/dev/shm`` however the server ends (and, until then, the resource tracker of
:mod:`multiprocessing` removes it).
"""

from __future__ import annotations

import contextlib
import logging
import os
from multiprocessing import shared_memory

log = logging.getLogger(__name__)

SLOT_SIZE = 1 << 20
"""Bytes per slot: a part's events (at most half of it) and their rows after them."""
SLOTS = 24
"""Slots per decoder process: parts in flight at once (four uploaders with a
1000-event batch each hold 16)."""


class _Block(shared_memory.SharedMemory):
    """A shared-memory block whose mapping a view still alive at exit may keep open."""

    def __del__(self) -> None:
        with contextlib.suppress(BufferError):
            super().__del__()


def _reserve(block: shared_memory.SharedMemory, size: int) -> None:
    """Take the block's pages from ``/dev/shm`` now: a full one (Docker gives 64 MB)
    then fails here, and parts go by socket, instead of the server dying of SIGBUS at
    the first write past its end."""
    fd = getattr(block, "_fd", -1)
    if fd >= 0 and hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)


class Slot:
    """One slot lent out: ``view`` is its bytes; :meth:`release` once per holder."""

    def __init__(self, arena: SlotArena, index: int) -> None:
        self.arena = arena
        self.index = index
        self.start = index * arena.slot_size
        self.view = arena.views[index]
        self._holders = 2

    def release(self) -> None:
        """One holder (the decoder, or the server) is done with the slot."""
        self._holders -= 1
        if self._holders == 0:
            self.arena.give_back(self.index)

    def abandon(self) -> None:
        """Give back a slot taken but never sent."""
        self._holders = 1
        self.release()


class SlotArena:
    """``slots`` slots of ``slot_size`` bytes in one shared-memory block (the server's side)."""

    def __init__(self, slots: int = SLOTS, slot_size: int = SLOT_SIZE) -> None:
        self.slot_size = slot_size
        self._memory = _Block(create=True, size=slots * slot_size)
        self.name = self._memory.name
        self.size = slots * slot_size
        try:
            _reserve(self._memory, self.size)
        except OSError:
            self._memory.close()
            self._memory.unlink()
            raise
        buf = self._memory.buf
        assert buf is not None
        self.views = [buf[i * slot_size : (i + 1) * slot_size] for i in range(slots)]
        self._free = list(range(slots))
        self._linked = True
        self._retired = False

    @classmethod
    def create(cls) -> SlotArena | None:
        """An arena, or None where shared memory cannot be had (parts then go by socket)."""
        try:
            return cls()
        except OSError as exc:
            log.warning("no shared memory for the decoder (%s): parts go by socket", exc)
            return None

    def take(self) -> Slot | None:
        if self._retired or not self._free:
            return None
        return Slot(self, self._free.pop())

    def give_back(self, index: int) -> None:
        self._free.append(index)
        if self._retired and len(self._free) == len(self.views):
            self._close()

    def unlink(self) -> None:
        """Remove the block's name (both sides keep their mapping)."""
        if self._linked:
            self._linked = False
            self._memory.unlink()

    def retire(self) -> None:
        """No more slots lent; the mapping goes once every slot lent is back."""
        self.unlink()
        self._retired = True
        if len(self._free) == len(self.views):
            self._close()

    def _close(self) -> None:
        for view in self.views:
            view.release()
        self.views = []
        try:
            self._memory.close()
        except BufferError:  # a view of a slot still alive somewhere: the GC closes it
            log.debug("shared slots closed later: a view is still alive")


# --- in the decoder process ---------------------------------------------------------

_attached: list[_Block] = []


def attach(name: str) -> None:
    """Map the server's block in this decoder process (its first call)."""
    _attached.append(_Block(name=name))


def slot_view(start: int, size: int) -> memoryview:
    """The slot at ``start`` of this process's block."""
    buf = _attached[-1].buf
    assert buf is not None
    return buf[start : start + size]
