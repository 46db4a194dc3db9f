"""The backend's app in this process: what ``prtrace serve`` runs, without a port or a process.

For API tests where the process adds nothing (no ``kill -9``, no replicas, no
``--processes``, no CLI run against it): :class:`AppServer` builds the Litestar app with
:func:`prtrace.backend.app.create_app` and drives it through litestar's ``TestClient``
(its lifespan — migrations, the API token — runs on entry). Requests go from httpx
straight into the ASGI app, so no socket is opened and the unit tier may use it on
SQLite in a tmp folder; on PostgreSQL it is an integration test.

It looks like :class:`prtrace.demo.server.ServerProcess` where tests use one: ``home``,
``api_token``, ``url``, ``extra_env`` and the log (``log_text()`` instead of the log
file). Differences, on purpose: batches are decoded in this process
(``PRTRACE_INGEST_PROCESSES=0``, no decoder pool) and no embedded QA worker runs
(``PRTRACE_WORKERS=0``; QA on finalize is off as for ``prtrace_server``); ``env`` may
set either back. Litestar's logging set-up is skipped: it is a ``dictConfig`` of the
root logger, right for a server process, but in the test process it would close and
replace pytest's log handlers; the app still logs through ``logging.getLogger``.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.exceptions import LitestarDeprecationWarning
from litestar.logging.config import LoggingConfig
from litestar.testing import TestClient
from litestar.testing.transport import TestClientTransport

from prtrace.backend.app import create_app
from prtrace.config import Settings, load_settings, new_token


class _Records(logging.Handler):
    """Every log record of the process while the app runs, formatted as the server's log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class _Transport(httpx.BaseTransport):
    """litestar's test transport, usable by any ``httpx.Client`` (which enters its transport)."""

    def __init__(self, client: TestClient[Any]) -> None:
        self._inner = TestClientTransport(client=client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)


class AppServer:
    """``create_app`` behind litestar's TestClient, with a private home and API token."""

    url = "http://prtrace.test"

    def __init__(
        self, home: Path, *, api_token: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.home = Path(home)
        self.api_token = api_token or new_token("pta_")
        self.extra_env = dict(env or {})
        self._records = _Records()
        self._client: TestClient[Any] | None = None
        self._http: httpx.Client | None = None

    def settings(self) -> Settings:
        environ = {
            "PRTRACE_HOME": str(self.home),
            "PRTRACE_API_TOKEN": self.api_token,
            "PRTRACE_URL": self.url,
            "PRTRACE_QA_ON_FINALIZE": "false",
            "PRTRACE_WORKERS": "0",
            "PRTRACE_INGEST_PROCESSES": "0",
            **self.extra_env,
        }
        # config.toml is found through XDG_CONFIG_HOME: the home's own, as ServerProcess does.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("XDG_CONFIG_HOME", str(self.home / "config"))
            return load_settings(environ=environ)

    def start(self) -> AppServer:
        """Build the app and run its start-up (migrations, the API token)."""
        assert self._client is None, "already started"
        self.home.mkdir(parents=True, exist_ok=True)
        settings = self.settings()
        with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
            patch.setattr(LoggingConfig, "configure", lambda config: logging.getLogger)
            # The routes' parameter style, once per app built (a server logs it once).
            warnings.simplefilter("ignore", LitestarDeprecationWarning)
            app = create_app(settings)
        logging.getLogger().addHandler(self._records)
        client = TestClient(app, base_url=self.url)
        try:
            client.__enter__()
        except BaseException:
            logging.getLogger().removeHandler(self._records)
            raise
        self._client = client
        self._http = httpx.Client(base_url=self.url, transport=_Transport(client))
        return self

    def stop(self) -> None:
        """Run the app's shutdown (workers stopped, pools closed)."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._client is not None:
            client, self._client = self._client, None
            try:
                client.__exit__(None, None, None)
            finally:
                logging.getLogger().removeHandler(self._records)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def client(self) -> httpx.Client:
        """An ``httpx.Client`` into the app, as plain as ``httpx.get`` (no redirects followed);
        paths or absolute ``url`` addresses."""
        assert self._http is not None, "not started"
        return self._http

    def app_state(self) -> Any:
        """The running app's ``state`` (``services`` and the rest), for tests that reach in."""
        assert self._client is not None, "not started"
        return self._client.app.state

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport into the app, e.g. for ``prtrace.client.Client(transport=…)``."""
        assert self._client is not None, "not started"
        return _Transport(self._client)

    def http(self, **options: Any) -> httpx.Client:
        """A plain httpx client whose requests go into the app (``base_url`` is ``url``)."""
        return httpx.Client(base_url=self.url, transport=self.transport(), **options)

    def log_text(self) -> str:
        """What the process logged while the app ran, one record a line (tracebacks included)."""
        return "\n".join(self._records.lines)
