"""Tokens: hashed at rest, compared in constant time.

Two kinds (docs/api.md): API tokens (``pta_``) open everything; an upload
token (``ptu_``) opens appending to and finalizing its own trace. Only the
sha256 of a token is stored. Tokens are 256-bit random, so a plain sha256 is
enough (no password stretching needed), and every comparison goes through
:func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import time
from pathlib import Path

from litestar import Request
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from prtrace.backend.errors import ApiError
from prtrace.backend.storage.db import Database, api_tokens
from prtrace.config import Settings, new_token

API_PREFIX = "pta_"
UPLOAD_PREFIX = "ptu_"
_REFRESH_SECONDS = 5.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)


def bearer_token(request: Request) -> str:
    """The request's bearer token, or 401."""
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(401, "missing Authorization header (want: Bearer <token>)")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "Authorization header must be 'Bearer <token>'")
    return token


class ApiTokens:
    """The set of API token hashes, cached from the database.

    Another replica may register a token; a miss re-reads the table, at most
    every few seconds so that bad tokens cannot hammer the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._hashes: list[str] = []
        self._loaded_at = 0.0

    async def load(self) -> None:
        async with self.db.read() as conn:
            rows = await conn.execute(select(api_tokens.c.token_hash))
            self._hashes = [r[0] for r in rows]
        self._loaded_at = time.monotonic()

    def _check(self, token: str) -> bool:
        digest = token_hash(token)
        found = False
        for stored in self._hashes:
            found |= hmac.compare_digest(digest, stored)
        return found

    async def is_valid(self, token: str) -> bool:
        if self._check(token):
            return True
        if time.monotonic() - self._loaded_at > _REFRESH_SECONDS:
            await self.load()
            return self._check(token)
        return False

    async def register(self, token: str, name: str) -> None:
        """Store the token's hash once, however many replicas start at the same time.

        ``INSERT … ON CONFLICT DO NOTHING`` rather than a look-then-insert: two
        replicas starting together both see no row and one insert would fail
        with a unique violation, killing that replica's start.
        """
        digest = token_hash(token)
        insert = pg_insert if self.db.kind == "postgresql" else sqlite_insert
        async with self.db.write() as conn:
            await conn.execute(
                insert(api_tokens)
                .values(token_hash=digest, name=name, created_at=time.time())
                .on_conflict_do_nothing(index_elements=[api_tokens.c.token_hash])
            )
        await self.load()


def _read_or_create_token_file(path: Path) -> tuple[str, bool]:
    """The server's own API token file (mode 0600); made on first start."""
    try:
        return path.read_text().strip(), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = new_token(API_PREFIX)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token, True


async def ensure_api_token(settings: Settings, tokens: ApiTokens) -> None:
    """Register the configured API token, or make one and print it once."""
    if settings.api_token:
        await tokens.register(settings.api_token, "PRTRACE_API_TOKEN")
        return
    token, created = _read_or_create_token_file(settings.api_token_file)
    await tokens.register(token, "generated")
    if created:
        print(
            f"prtrace: generated an API token (shown once, saved with mode 0600 to "
            f"{settings.api_token_file}):\n  {token}",
            file=sys.stderr,
        )
