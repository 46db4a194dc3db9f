# One image for the API (`prtrace serve`) and the QA workers (`prtrace worker`).
#
# Built FROM a base image made locally without any registry (debootstrap +
# `docker import`, see qa/images): by default the Python test image that
# `./dev test` already builds, which has python3, git and an unprivileged user
# (uid 1000). The project and its dependencies come as wheels built on the
# host into build/wheelhouse/ (scripts/build-image.sh does both steps), so the
# build itself needs no network: `docker build` works on an engine without a
# bridge network and on offline machines.
#
#   scripts/build-image.sh                 # wheels + docker build -t prtrace:latest
#   docker build --build-arg BASE=my/python:3.11 -t prtrace .   # another base
ARG BASE=prtrace-test/python:bookworm
FROM ${BASE}

USER root
# Dependencies first, in their own layer: it stays cached while only prtrace changes.
COPY build/wheelhouse/deps /tmp/wheelhouse
RUN python3 -m venv --without-pip /opt/prtrace \
    && pip_wheel="$(ls /tmp/wheelhouse/pip-*.whl)" \
    && /opt/prtrace/bin/python "$pip_wheel/pip" install --no-index --no-cache-dir \
        --disable-pip-version-check --find-links /tmp/wheelhouse /tmp/wheelhouse/*.whl \
    && rm -rf /tmp/wheelhouse
COPY build/wheelhouse/prtrace /tmp/prtrace
RUN /opt/prtrace/bin/python -m pip install --no-index --no-cache-dir --no-deps \
        --disable-pip-version-check /tmp/prtrace/prtrace-*.whl \
    && rm -rf /tmp/prtrace \
    && mkdir -p /var/lib/prtrace \
    && chown 1000:1000 /var/lib/prtrace

# PRTRACE_HOME holds only caches (QA checkouts) and, without PRTRACE_API_TOKEN,
# a generated token: set the token, the database and the blob store from the
# environment (see .env.example and docs/operations.md).
ENV PATH=/opt/prtrace/bin:/usr/local/bin:/usr/bin:/bin \
    PRTRACE_HOME=/var/lib/prtrace \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/prtrace
USER 1000:1000
WORKDIR /var/lib/prtrace
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["prtrace"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
