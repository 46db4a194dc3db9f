#!/usr/bin/env bash
# Build the prtrace image (api and worker) without reaching an image registry.
#
#   scripts/build-image.sh [TAG]        (default prtrace:latest)
#
# 1. Wheels of prtrace[backend,qa] and every dependency, at the versions and
#    hashes of uv.lock (exported by uv, which ./dev installs into .venv-uv/), are
#    built on the host into build/wheelhouse/ (pip; PyPI or pip's cache),
#    prtrace's own wheel apart so that the dependency layer of the image stays
#    cached.
# 2. `docker build` FROM a locally built base image ($PRTRACE_BASE_IMAGE,
#    default prtrace-test/python:bookworm, made by `python -m prtrace.qa.images build`
#    when missing). The base's Python must be the host's minor version (the
#    wheels are for it): both are 3.11 on Debian bookworm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="${1:-prtrace:latest}"
base="${PRTRACE_BASE_IMAGE:-prtrace-test/python:bookworm}"
py="${PYTHON:-$here/.venv/bin/python}"
uv="${UV:-$here/.venv-uv/bin/uv}"
# pip builds the wheels: the virtualenv that holds uv has it (uv's .venv has none).
pip_py="${PIP_PYTHON:-$here/.venv-uv/bin/python}"
[ -x "$py" ] || py="$(command -v python3)"
wheels="$here/build/wheelhouse"

say() { echo "build-image: $*" >&2; }
cd "$here"
[ -x "$uv" ] || { say "no uv at $uv: run ./dev test --fast once (it installs uv), or set UV"; exit 1; }

if ! docker image inspect "$base" >/dev/null 2>&1; then
    say "base image $base missing: building it (debootstrap, about a minute)"
    "$py" -m prtrace.qa.images build "$base"
fi
host_py="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
base_py="$(docker run --rm --network none --entrypoint python3 "$base" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
[ "$host_py" = "$base_py" ] || { say "host Python $host_py but $base has $base_py: wheels would not fit"; exit 1; }

say "wheels into $wheels"
# Afresh each time (pip's cache makes that quick): wheels of an older version left
# beside a newer one would be installed together and clash.
rm -rf "$wheels"
mkdir -p "$wheels/deps" "$wheels/prtrace"
# The dependencies exactly as locked (pip checks every hash), pip itself at the
# host venv's version, and prtrace's own wheel.
"$uv" export --frozen --quiet --format requirements-txt --extra backend --extra qa \
    --no-emit-project --output-file "$wheels/requirements.txt" >&2
"$pip_py" -m pip wheel --disable-pip-version-check -qq --wheel-dir "$wheels/deps" \
    --require-hashes -r "$wheels/requirements.txt" >&2
"$pip_py" -m pip wheel --disable-pip-version-check -qq --wheel-dir "$wheels/deps" --no-deps \
    "pip==$("$pip_py" -m pip --version | cut -d' ' -f2)" >&2
"$pip_py" -m pip wheel --disable-pip-version-check -qq --wheel-dir "$wheels/prtrace" --no-deps . >&2

say "docker build -t $tag (FROM $base)"
docker build -q --build-arg BASE="$base" -t "$tag" "$here" >&2
say "built $tag"
