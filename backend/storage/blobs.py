"""The blob store: large event fields and sealed trace documents.

Two implementations behind one small interface: a local folder (the default,
under ``PRTRACE_HOME``) and S3/MinIO through the ``minio`` client
(``PRTRACE_BLOB_URL=s3://bucket[/prefix]``). Keys are relative POSIX paths.
Content-addressed keys (:func:`content_key`) make retried uploads idempotent:
writing the same bytes twice lands on the same key.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from prtrace.config import Settings
from prtrace.errors import ConfigError


class BlobNotFound(KeyError):
    pass


class BlobStore(Protocol):
    kind: str

    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every blob under ``prefix/`` (a trace's QA logs); returns how many."""

    async def check(self) -> None:
        """Raise if the store cannot be used (called at start and by /healthz)."""


def content_key(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"sha256/{digest[:2]}/{digest}"


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad blob key {key!r}")
    return key


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


class FolderBlobStore:
    """Blobs as files; writes are atomic (temp file, fsync, rename)."""

    kind = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put_sync, key, data)

    def _put_sync(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        # A str path, not pathlib: Path interns every part (sys.intern), so one
        # read per trace (an export) would keep every key in memory for good.
        path = os.path.join(self.root, _check_key(key))
        try:
            return await asyncio.to_thread(_read_bytes, path)
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def delete_prefix(self, prefix: str) -> int:
        folder = self._path(prefix.rstrip("/"))
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        await asyncio.to_thread(shutil.rmtree, folder, True)
        return count

    async def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise ConfigError(f"blob folder {self.root} is not writable")


class S3BlobStore:
    """Blobs in an S3 bucket (MinIO, AWS, or any S3-protocol server)."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str, settings: Settings) -> None:
        from minio import Minio

        endpoint = settings.s3_endpoint or "s3.amazonaws.com"
        parsed = urlparse(endpoint if "://" in endpoint else f"//{endpoint}")
        secure = settings.s3_secure
        if secure is None:
            secure = parsed.scheme != "http"
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = Minio(
            parsed.netloc,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            secure=secure,
        )

    def _name(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(
            self.client.put_object, self.bucket, self._name(key), io.BytesIO(data), len(data)
        )

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._get_sync, key)

    def _get_sync(self, key: str) -> bytes:
        from minio.error import S3Error

        try:
            response = self.client.get_object(self.bucket, self._name(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise BlobNotFound(key) from None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.remove_object, self.bucket, self._name(key))

    async def exists(self, key: str) -> bool:
        try:
            await self.get(key)
        except BlobNotFound:
            return False
        return True

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(self._delete_prefix_sync, prefix)

    def _delete_prefix_sync(self, prefix: str) -> int:
        name = self._name(prefix.rstrip("/")) + "/"
        count = 0
        for obj in self.client.list_objects(self.bucket, prefix=name, recursive=True):
            self.client.remove_object(self.bucket, obj.object_name)
            count += 1
        return count

    async def check(self) -> None:
        found = await asyncio.to_thread(self.client.bucket_exists, self.bucket)
        if not found:
            raise ConfigError(f"S3 bucket {self.bucket!r} does not exist")


def open_blob_store(settings: Settings) -> BlobStore:
    url = settings.blob_url
    if url.startswith("s3://"):
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ConfigError(f"PRTRACE_BLOB_URL {url!r} names no bucket")
        return S3BlobStore(parsed.netloc, parsed.path, settings)
    if url.startswith("file://"):
        url = urlparse(url).path
    return FolderBlobStore(Path(url).expanduser())
