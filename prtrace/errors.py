"""Every error prtrace raises on purpose, in one tree, each with its exit code.

``exit_code`` is what the ``prtrace`` command exits with when the error reaches
it: the CLI maps errors to a message and an exit code in one place
(:func:`prtrace.cli.common.run_handler`) by reading this attribute, so a
subcommand raises and never catches. Anything that is not a
:class:`PrtraceError` is a bug and keeps its traceback.

The tree (exit code in brackets)::

    PrtraceError [1]                 the base: prtrace could not do what was asked
    ├── UsageError [2]               the user asked for something invalid (flags, input)
    │   ├── FormatError [2]          a document or body not in the trace format (codec)
    │   └── ConfigError [2]          config.toml, a PRTRACE_* variable or [privacy] is invalid
    ├── APIError [1]                 the backend answered with an error, or not at all (client)
    │   ├── BackendUnreachable [1]   no answer: refused, timed out, connection dropped
    │   ├── InvalidRequest [1]       400, 413, 422: the request itself is wrong (``field``)
    │   ├── AuthError [1]            401, 403: no token, a wrong one, or one for another trace
    │   ├── NotFoundError [1]        404: no such trace, job or route
    │   ├── ConflictError [1]        409: sealed already, the same batch seq with another body
    │   └── ServerError [1]          5xx (and answers that are not the API's)
    ├── JobTimeout [1]               a job did not finish in time (also a TimeoutError)
    ├── GitError [1]                 git ran and failed: ``command``, ``returncode``, ``stderr``
    ├── CheckoutError [1]            the task's repository or commit cannot be checked out
    ├── PatchError [1]               a patch does not parse or apply (also a ValueError)
    ├── PathRefused [1]              a path leaves the workspace or touches .git (ValueError)
    ├── ReplayError [1]              an event did not replay: ``index``, ``event_id``, ``path``
    └── DockerError [1]              the Docker engine is missing, unreachable or failed

The packages hang their own errors under these: the recorder's
``SessionError`` (no session, already recording; its ``DaemonError`` when the
background recorder does not start) under :class:`PrtraceError`, QA's
``RunnerError`` and ``ImageMissing`` under :class:`DockerError`, QA's
``PatchFailed`` under :class:`PatchError`, and so on.

Exit codes: 0 success, 1 the command could not do its job, 2 invalid usage or
input (argparse uses 2 too), 130 interrupted. Only usage differs from 1 by
design: scripts and the test-suite rely on a refused, missing or unreachable
backend exiting 1, so the finer classes are for ``except`` clauses and
messages, and a class may get its own code later without touching any caller.

This module imports only the standard library, so that ``prtrace --help``
stays fast and every package (the shared core, recorder, backend, qa) can use
it.
"""

from __future__ import annotations

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "APIError",
    "AuthError",
    "BackendUnreachable",
    "CheckoutError",
    "ConfigError",
    "ConflictError",
    "DockerError",
    "FormatError",
    "GitError",
    "InvalidRequest",
    "JobTimeout",
    "NotFoundError",
    "PatchError",
    "PathRefused",
    "PrtraceError",
    "ReplayError",
    "ServerError",
    "UsageError",
    "api_error_class",
]

EXIT_OK = 0
EXIT_FAILURE = 1
"""The command could not do its job (backend error or unreachable, git failed, ...)."""
EXIT_USAGE = 2
"""The user asked for something invalid (bad option, bad input file, bad config)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), as shells report it."""


class PrtraceError(Exception):
    """The base of every error prtrace raises on purpose; ``str(exc)`` is the message.

    The CLI prints ``prtrace: <message>`` and exits with :attr:`exit_code`.
    """

    exit_code: int = EXIT_FAILURE


# --- the user's input ---------------------------------------------------------------


class UsageError(PrtraceError):
    """Invalid input from the user: a flag, an argument, an input file."""

    exit_code = EXIT_USAGE


class FormatError(UsageError, ValueError):
    """Input that does not match the trace format or an API body.

    ``field`` is the JSON path of the offending value (``events[3].range``);
    ``syntax`` is True when the input is not JSON at all (HTTP 400 rather than 422).
    """

    def __init__(self, message: str, field: str | None = None, *, syntax: bool = False) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field
        self.syntax = syntax


class ConfigError(UsageError, ValueError):
    """A configuration file, environment variable or ``[privacy]`` table is invalid."""


# --- the backend (prtrace.client) -----------------------------------------------------

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


class APIError(PrtraceError):
    """Any failure talking to the backend: an error answer or no answer at all.

    ``status_code`` is the HTTP status (``None`` when the server could not be
    reached or did not answer), ``detail`` the server's message and ``field``
    the JSON path of the offending value when the server named one.
    :func:`api_error_class` picks the subclass for a status.
    """

    def __init__(
        self,
        detail: str,
        *,
        status_code: int | None = None,
        field: str | None = None,
        url: str | None = None,
        transport: bool = False,
    ) -> None:
        self.detail = detail
        self.status_code = status_code
        self.field = field
        self.url = url
        self.transport = transport
        super().__init__(self._message())

    def _message(self) -> str:
        if self.transport:
            return self.detail
        text = f"{self.field}: {self.detail}" if self.field else self.detail
        return f"{text} (HTTP {self.status_code})" if self.status_code else text

    @property
    def retryable(self) -> bool:
        """True when sending the same request again later may succeed.

        Connection failures, timeouts, 429 and the gateway errors are
        transient; a 4xx is the client's mistake and will fail again.
        """
        return self.transport or self.status_code in RETRYABLE_STATUS


class BackendUnreachable(APIError):
    """The backend could not be reached, or did not answer in time."""

    def __init__(self, detail: str, *, url: str | None = None) -> None:
        super().__init__(detail, url=url, transport=True)


class InvalidRequest(APIError):
    """The server refused the request as invalid (400, 413, 422); ``field`` names what."""


class AuthError(APIError):
    """No token, a wrong token, or a token that does not open this resource (401, 403)."""


class NotFoundError(APIError):
    """No such trace, job or route (404)."""


class ConflictError(APIError):
    """The request conflicts with the resource's state (409): the trace is sealed, a
    batch ``seq`` was sent before with another body."""


class ServerError(APIError):
    """The server failed (5xx), or sent something that is not the API's answer."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequest,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidRequest,
    422: InvalidRequest,
}


def api_error_class(status_code: int | None) -> type[APIError]:
    """The :class:`APIError` subclass for an HTTP status (:class:`APIError` for others)."""
    if status_code is None:
        return APIError
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    return ServerError if status_code >= 500 else APIError


class JobTimeout(PrtraceError, TimeoutError):
    """A queued job (QA, judge) did not finish within the time the caller gave."""


# --- the local machine ------------------------------------------------------------------


class GitError(PrtraceError):
    """git ran and failed (or could not run): the command, its exit status and stderr.

    ``returncode`` is git's own exit status (``None`` when git could not be
    started or timed out); :attr:`exit_code` is prtrace's, as for every error.
    """

    def __init__(
        self, command: list[str], returncode: int | None, stderr: str, *, cwd: str | None = None
    ) -> None:
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        self.cwd = cwd
        shown = " ".join(self.command[:4]) + (" …" if len(self.command) > 4 else "")
        status = "could not run" if returncode is None else f"failed ({returncode})"
        tail = stderr.strip()[-2000:]
        super().__init__(f"{shown} {status}" + (f": {tail}" if tail else ""))


class CheckoutError(PrtraceError):
    """The task's repository or commit could not be checked out."""


class PatchError(PrtraceError, ValueError):
    """A patch that cannot be parsed, or does not apply to the given text."""


class PathRefused(PrtraceError, ValueError):
    """The path reaches outside the workspace (or into ``.git``); nothing is written."""


class ReplayError(PrtraceError):
    """An event did not replay: the message names the event (index and id)."""

    def __init__(
        self,
        message: str,
        *,
        index: int | None = None,
        event_id: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.index = index
        self.event_id = event_id
        self.path = path


class DockerError(PrtraceError):
    """The Docker engine is missing, unreachable, or failed to run a container."""
