"""``prtrace serve``: the API and embedded workers under uvicorn.

With ``processes`` > 1, uvicorn runs that many server processes on one
listening socket (the kernel spreads connections over them), so decoding,
validating and redacting batches uses every core. The parent migrates the
database and registers the API token first, so the children never race on
either; the children read their settings from the environment the parent
sets, flags included.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from prtrace.backend import logs
from prtrace.config import Settings, env_name, load_settings


def serve(
    settings: Settings, host: str = "127.0.0.1", port: int = 8000, processes: int = 1
) -> None:
    import uvicorn

    logs.configure(settings.log_level)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 10,
    }
    if processes <= 1:
        from prtrace.backend.app import create_app

        uvicorn.run(create_app(settings), **options)
        return
    asyncio.run(_prepare(settings))
    os.environ.update(settings_environment(settings))
    uvicorn.run(
        "prtrace.backend.server:app_from_environment", factory=True, workers=processes, **options
    )


async def _prepare(settings: Settings) -> None:
    """Migrations and the API token, once, before the processes start."""
    from prtrace.backend.services import Services

    services = await Services.open(settings)
    await services.close()


def settings_environment(settings: Settings) -> dict[str, str]:
    """Every scalar setting as the environment variable that sets it (flags included).

    Tables (such as ``privacy``) come only from the config file, which the
    children read themselves.
    """
    env = {}
    for field in Settings.__struct_fields__:
        value = getattr(settings, field)
        if not isinstance(value, (str, int, float, bool)):
            continue
        env[env_name(field)] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def app_from_environment():  # -> Litestar
    """The app of one server process (uvicorn's factory in multi-process mode)."""
    from prtrace.backend.app import create_app

    return create_app(load_settings())
