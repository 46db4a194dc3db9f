#!/usr/bin/env bash
# Provision a Docker engine and the standard QA test images, idempotently.
#
# What CI and `./dev` do on a Debian machine without a running engine (no
# systemd, no image registry): install docker.io + debootstrap if missing,
# start dockerd in the background when the socket does not answer, wait until
# `docker info` works, then build the test images offline (python -m prtrace.qa.images,
# cached in $PRTRACE_IMAGE_CACHE, default /var/cache/prtrace-images).
#
# Environment:
#   DOCKER_HOST           an engine to use instead (then nothing is started)
#   PRTRACE_DOCKERD_LOG   dockerd's log (default /var/log/prtrace/dockerd.log)
#   PRTRACE_SKIP_IMAGES=1 only start the engine
#   PYTHON                the interpreter with the docker SDK (default .venv/bin/python)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log="${PRTRACE_DOCKERD_LOG:-/var/log/prtrace/dockerd.log}"
py="${PYTHON:-$here/.venv/bin/python}"
[ -x "$py" ] || py="$(command -v python3)"

say() { echo "docker-up: $*" >&2; }

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

need_pkgs=()
command -v docker >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
if [ "${#need_pkgs[@]}" -gt 0 ] && ! { [ -n "${DOCKER_HOST:-}" ] && engine_answers; }; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "missing: ${need_pkgs[*]}; install them (Debian: apt-get install -y docker.io debootstrap) or set DOCKER_HOST"
        exit 1
    fi
    say "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io debootstrap >/dev/null
fi

if engine_answers; then
    say "engine already answers"
elif [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]; then
    say "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local engine for it"
    exit 1
else
    if [ "$(id -u)" != 0 ]; then
        say "no engine answers and starting dockerd needs root"
        exit 1
    fi
    mkdir -p "$(dirname "$log")"
    # A stale pid file from a killed dockerd stops the next one from starting.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    say "starting dockerd (log: $log)"
    # No container networking is needed: QA containers run with network_mode=none.
    nohup setsid dockerd --bridge=none --iptables=false --ip6tables=false \
        >>"$log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        engine_answers && break
        sleep 1
    done
    if ! engine_answers; then
        say "dockerd did not come up within 60s; last lines of $log:"
        tail -n 20 "$log" >&2 || true
        exit 1
    fi
    say "engine up"
fi

if [ "${PRTRACE_SKIP_IMAGES:-0}" != 1 ]; then
    cd "$here"
    "$py" -m prtrace.qa.images build --all
fi
