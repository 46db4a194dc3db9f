"""The Litestar application: routes, errors, OpenAPI, and the process lifespan.

Start-up opens the :class:`~prtrace.backend.services.Services` (migrations included)
and starts the embedded workers; shutdown stops them and closes the pools.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from prtrace import __version__
from prtrace.api_types import MAX_BODY_BYTES
from prtrace.backend import openapi
from prtrace.backend.errors import EXCEPTION_HANDLERS, refuse_nul
from prtrace.backend.ingest import BatchDecoder
from prtrace.backend.jobs.worker import Worker
from prtrace.backend.routes import judge, misc, traces, ui
from prtrace.backend.services import Services
from prtrace.config import Settings

log = logging.getLogger("prtrace.backend")


def create_app(settings: Settings) -> Litestar:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await Services.open(settings)
        services.decoder = BatchDecoder(settings.ingest_processes)
        await services.decoder.start()
        app.state.services = services
        worker = None
        if settings.workers > 0:
            worker = Worker(
                services, concurrency=settings.workers, lease_seconds=settings.job_lease_seconds
            )
        task = asyncio.create_task(worker.run()) if worker else None
        try:
            yield
        finally:
            if worker and task:
                worker.stop()
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(task, 10)
            await services.close()

    app = Litestar(
        route_handlers=[*traces.ROUTES, *judge.ROUTES, *misc.ROUTES, *ui.ROUTES],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_request=refuse_nul,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="prtrace",
            version=__version__,
            description="Record, verify and judge how developers fix bugs. See docs/api.md.",
        ),
        debug=False,
    )
    openapi.install(app)  # bodies, responses and errors the raw-body routes cannot declare
    return app
