"""Everything a server or worker process holds: settings, database, blobs, stores.

:meth:`Services.open` is the start-up sequence shared by ``prtrace serve``
and ``prtrace worker``: connect, migrate, check the blob store, register the
API token, load job handler modules.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from prtrace.backend.auth import ApiTokens, ensure_api_token
from prtrace.backend.ingest import BatchDecoder
from prtrace.backend.jobs.queue import JobQueue
from prtrace.backend.storage.blobs import BlobStore, open_blob_store
from prtrace.backend.storage.db import Database
from prtrace.backend.storage.migrate import upgrade
from prtrace.backend.storage.traces import TraceStore
from prtrace.config import Settings
from prtrace.errors import ConfigError

BUILTIN_JOB_MODULES = ("prtrace.backend.jobs.qa_job", "prtrace.backend.jobs.judging")


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    traces: TraceStore
    tokens: ApiTokens
    queue: JobQueue
    decoder: BatchDecoder = field(default_factory=lambda: BatchDecoder(0))
    """Validates uploaded batches; the API server gives it processes of its own."""

    @classmethod
    async def open(cls, settings: Settings, *, register_token: bool = True) -> Services:
        db = Database(settings.database_url)
        await upgrade(db)
        blobs = open_blob_store(settings)
        await blobs.check()
        tokens = ApiTokens(db)
        if register_token:
            await ensure_api_token(settings, tokens)
        else:
            await tokens.load()
        load_job_modules(settings)
        return cls(
            settings=settings,
            db=db,
            blobs=blobs,
            traces=TraceStore(db, blobs, settings),
            tokens=tokens,
            queue=JobQueue(db),
        )

    async def close(self) -> None:
        await self.decoder.close()
        await self.db.dispose()


def load_job_modules(settings: Settings) -> None:
    """Import the modules that register job handlers (built-in and configured)."""
    names = list(BUILTIN_JOB_MODULES)
    names += [n.strip() for n in settings.job_modules.split(",") if n.strip()]
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            if name not in BUILTIN_JOB_MODULES:
                raise ConfigError(f"job module {name!r} not found (PRTRACE_JOB_MODULES)") from None
