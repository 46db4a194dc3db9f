"""``python -m prtrace.qa.images build [--all|NAME...]`` and ``python -m prtrace.qa.images list``.

Builds the standard test images offline (see :mod:`prtrace.qa.images`). Needs root for
debootstrap, a reachable Debian mirror the first time (or a warm cache), and a
Docker engine at ``DOCKER_HOST``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from prtrace.qa.images import (
    DEFAULT_CACHE_DIR,
    DEFAULT_MIRROR,
    IMAGES,
    ImageBuildError,
    build_image,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prtrace.qa.images", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build standard test images (skipped when present)")
    b.add_argument("names", nargs="*", help="image names (default: all)")
    b.add_argument("--all", action="store_true", help="build every standard image")
    b.add_argument("--force", action="store_true", help="rebuild even when present")
    b.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    b.add_argument("--mirror", default=DEFAULT_MIRROR)
    sub.add_parser("list", help="list the standard images")
    args = parser.parse_args(argv)

    if args.cmd == "list":
        for spec in IMAGES.values():
            print(f"{spec.name}\t{spec.description}")
        return 0
    names = list(IMAGES) if args.all or not args.names else args.names
    for name in names:
        start = time.monotonic()
        try:
            built = build_image(
                name, cache_dir=args.cache_dir, mirror=args.mirror, force=args.force
            )
        except (ImageBuildError, KeyError) as exc:
            print(f"prtrace.qa.images: {name}: {exc}", file=sys.stderr)
            return 1
        print(f"{built}\tready in {time.monotonic() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
