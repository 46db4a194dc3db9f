"""Standard QA test images, built without any image registry.

QA machines of research labs are often offline, and this project's CI reaches
no registry at all, so the images a task's ``test_image`` usually names are
built locally: ``debootstrap --variant=minbase`` a Debian root file system with
the few packages a language needs, add an unprivileged user (uid 1000, the
user QA runs tests as), and ``docker import`` the tree.

Two caches keep reruns fast, both under ``cache_dir`` (default
``/var/cache/prtrace-images``, or ``PRTRACE_IMAGE_CACHE``), which survives
between CI runs on the same machine:

* ``debs/``: debootstrap's package cache, so a rebuild downloads nothing;
* ``<name>-<key>.tar``: the finished root file system, keyed by a hash of the
  image's recipe, so re-importing after ``docker system prune`` takes seconds.

An image that already exists in the engine is not built again unless asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from prtrace.errors import DockerError

DEFAULT_CACHE_DIR = Path(os.environ.get("PRTRACE_IMAGE_CACHE", "/var/cache/prtrace-images"))
DEFAULT_MIRROR = os.environ.get("PRTRACE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
TEST_UID = 1000
TEST_USER = "prtrace"
# Bump when the build steps below change in a way the recipe hash cannot see.
RECIPE_VERSION = "1"


@dataclass(frozen=True)
class ImageSpec:
    """One standard image: a name:tag and the Debian packages it adds to minbase."""

    name: str
    packages: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    description: str = ""
    # Paths removed from the tree to keep the image small (docs, man pages...).
    prune: tuple[str, ...] = field(
        default=(
            "usr/share/doc",
            "usr/share/man",
            "usr/share/info",
            "usr/share/locale",
            "var/cache/apt/archives",
            "var/lib/apt/lists",
        )
    )

    @property
    def repository(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def tag(self) -> str:
        return self.name.split(":", 1)[1] if ":" in self.name else "latest"

    def key(self, mirror: str) -> str:
        """A hash of everything that decides the image's content."""
        recipe = {
            "v": RECIPE_VERSION,
            "suite": SUITE,
            "mirror": mirror,
            "packages": sorted(self.packages),
            "env": list(self.env),
            "prune": list(self.prune),
            "uid": TEST_UID,
        }
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


_BASE_ENV = (
    ("LANG", "C.UTF-8"),
    ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ("HOME", "/tmp"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
)

IMAGES: dict[str, ImageSpec] = {
    spec.name: spec
    for spec in (
        ImageSpec(
            name="prtrace-test/python:bookworm",
            packages=("python3", "python3-pytest", "git", "ca-certificates"),
            env=_BASE_ENV,
            description="Python 3.11 with pytest and git",
        ),
        ImageSpec(
            name="prtrace-test/go:bookworm",
            packages=("golang-go", "git", "ca-certificates"),
            env=_BASE_ENV
            + (
                ("GOCACHE", "/tmp/go-build"),
                ("GOPROXY", "off"),
                ("GOTOOLCHAIN", "local"),
                ("CGO_ENABLED", "0"),
            ),
            description="Go (Debian's golang) with git",
        ),
    )
}

# Names a task's test_image may use for the same images (the seed's style).
ALIASES: dict[str, str] = {
    "prtrace/python:3.11": "prtrace-test/python:bookworm",
    "prtrace-test/python": "prtrace-test/python:bookworm",
    "prtrace-test/go": "prtrace-test/go:bookworm",
}


class ImageBuildError(DockerError):
    """debootstrap or docker import failed; the message carries the tool's output."""


def resolve(name: str) -> str:
    """The standard image a name stands for (or the name itself)."""
    return ALIASES.get(name, name)


def image_exists(client, name: str) -> bool:  # client: docker.DockerClient
    import docker.errors

    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def _run(cmd: list[str], **kw) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise ImageBuildError(f"{' '.join(cmd[:3])}... exited {proc.returncode}:\n{tail}")


def _add_user(root: Path) -> None:
    """Add the unprivileged test user by editing the files: minbase has no useradd."""
    with open(root / "etc/passwd", "a") as f:
        f.write(f"{TEST_USER}:x:{TEST_UID}:{TEST_UID}:prtrace QA:/home/{TEST_USER}:/bin/sh\n")
    with open(root / "etc/group", "a") as f:
        f.write(f"{TEST_USER}:x:{TEST_UID}:\n")
    shadow = root / "etc/shadow"
    if shadow.exists():
        with open(shadow, "a") as f:
            f.write(f"{TEST_USER}:!:19000:0:99999:7:::\n")
    home = root / "home" / TEST_USER
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, TEST_UID, TEST_UID)


def build_rootfs_tarball(spec: ImageSpec, cache_dir: Path, mirror: str = DEFAULT_MIRROR) -> Path:
    """debootstrap the image's tree and tar it into the cache (reused when present)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    slug = spec.name.replace("/", "_").replace(":", "_")
    tarball = cache_dir / f"{slug}-{spec.key(mirror)}.tar"
    if tarball.exists():
        return tarball
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("debootstrap is not installed (apt-get install -y debootstrap)")
    debs = cache_dir / "debs"
    debs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prtrace-rootfs-", dir=cache_dir) as tmp:
        root = Path(tmp) / "root"
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--cache-dir={debs}",
                f"--include={','.join(spec.packages)}",
                SUITE,
                str(root),
                mirror,
            ]
        )
        _add_user(root)
        for rel in spec.prune:
            target = root / rel
            if target.is_dir():
                shutil.rmtree(target)
                target.mkdir(parents=True)
        partial = tarball.with_suffix(".tar.partial")
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."])
        partial.rename(tarball)
    return tarball


def build_image(
    name: str,
    *,
    client=None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    mirror: str = DEFAULT_MIRROR,
    force: bool = False,
) -> str:
    """Make sure the standard image ``name`` exists in the engine; build it if not.

    Returns the image's full name. ``force`` rebuilds the tree and re-imports.
    """
    import docker

    spec = IMAGES.get(resolve(name))
    if spec is None:
        raise KeyError(f"no standard image named {name!r}; known: {', '.join(IMAGES)}")
    client = client or docker.from_env()
    if not force and image_exists(client, spec.name):
        return spec.name
    if force:
        for old in cache_dir.glob(spec.name.replace("/", "_").replace(":", "_") + "-*.tar"):
            old.unlink()
    tarball = build_rootfs_tarball(spec, cache_dir, mirror)
    changes = [f"ENV {k}={v}" for k, v in spec.env] + [
        f"USER {TEST_UID}:{TEST_UID}",
        'CMD ["/bin/sh"]',
        f"LABEL prtrace.image.key={spec.key(mirror)}",
    ]
    client.api.import_image_from_file(
        str(tarball), repository=spec.repository, tag=spec.tag, changes=changes
    )
    if not image_exists(client, spec.name):
        raise ImageBuildError(f"docker import of {tarball} did not produce {spec.name}")
    for alias, target in ALIASES.items():
        if target == spec.name and ":" in alias:
            client.images.get(spec.name).tag(*alias.split(":", 1))
    return spec.name
