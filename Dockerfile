# syntax=docker/dockerfile:1
#
# The idc-server image: the gRPC service on port 50051, Prometheus metrics on
# port 9464, running as an unprivileged user.
#
#   docker build -t idc-server:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9464:9464 idc-server:0.1.0
#
# Flags go after the image name (`docker run ... idc-server:0.1.0 --workers 2`);
# every flag is also an IDC_* variable (`-e IDC_LOG_LEVEL=DEBUG`).
# deploy/README.md covers TLS, tokens, scaling and what has been tested.
#
# The base image is pinned by tag, so a rebuild gets Python 3.11 security
# fixes. For production, pin it by digest for byte-for-byte rebuilds, e.g.
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim-trixie@sha256:<digest> .
ARG PYTHON_IMAGE=python:3.11-slim-trixie

# ---------------------------------------------------------------------------
# Build stage: wheels for the two distributions and every dependency, at the
# versions pinned in constraints.txt. Nothing from this stage but /wheels is
# used later.
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src
# Only what the build needs (.dockerignore keeps everything else, tests and
# build leftovers included, out of the context). The generated gRPC code is
# committed in python-proto, so no proto compiler runs here. The Python
# client (clients/python) is not part of the image.
COPY constraints.txt ./
COPY python-proto ./python-proto
COPY python-server ./python-server

# idc-server depends on idc-proto==0.1.0; naming both paths makes pip use
# the local one rather than look for it on an index.
RUN pip wheel -c constraints.txt --wheel-dir /wheels ./python-proto ./python-server

# ---------------------------------------------------------------------------
# Runtime stage: the same slim base, the wheels installed from a bind mount
# (so they never become a layer of this image), no compilers, no sources.
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="idc-server" \
      org.opencontainers.image.description="gRPC service for pandas/NumPy indicators and matplotlib charts" \
      org.opencontainers.image.source="https://github.com/idcrpc/idc" \
      org.opencontainers.image.licenses="MIT"

# A fixed, unprivileged UID/GID, so that Kubernetes can check runAsNonRoot and
# runAsUser (deploy/kubernetes/idc.yaml uses the same 10001) and so that files
# mounted into the container can be given to it.
RUN groupadd --system --gid 10001 idc \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/idc --create-home \
            --shell /usr/sbin/nologin idc

# --no-index: only the wheels built above, never a registry, so the image
# holds exactly the pinned versions. pip compiles the .pyc files here, so a
# read-only root filesystem costs nothing at start-up. (hadolint's DL3013
# wants a version here; the wheel directory holds exactly one of each.)
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    pip install --no-cache-dir --no-index --find-links=/wheels idc-server \
 && pip check

# MPLCONFIGDIR: matplotlib keeps its font cache there, and it must be
# writable by the user the server runs as (the cache is built below).
# IDC_HOST and IDC_PORT are the server's defaults, stated so that
# `docker inspect` shows them; [::] listens on IPv6 and IPv4 (gRPC falls back
# to 0.0.0.0 where the container has no IPv6), so it is kept, not 0.0.0.0.
# Metrics are off by default in idc-server; the image turns them on.
ENV HOME=/home/idc \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/home/idc/.cache/matplotlib \
    MPLBACKEND=Agg \
    IDC_HOST="[::]" \
    IDC_PORT=50051 \
    IDC_METRICS_PORT=9464

USER 10001:10001
WORKDIR /home/idc

# Build matplotlib's font cache now, as the user the server runs as, so the
# first chart does not pay for it. (With a read-only root filesystem,
# MPLCONFIGDIR must point at a writable volume and the cache is rebuilt there
# once per start: see deploy/README.md.)
RUN python -c "import matplotlib.font_manager"

EXPOSE 50051 9464

# The server drains on SIGTERM: health turns NOT_SERVING, in-flight calls get
# IDC_GRACE_SECONDS (default 5) to finish. `docker stop` waits 10 s before
# SIGKILL; raise it with `docker stop -t` if you raise the grace period.
STOPSIGNAL SIGTERM

# grpc.health.v1 Check on the server's own port, without a token (the health
# service is exempt from auth). Exit 0 only for SERVING. This speaks
# plaintext: with --tls-cert set, override it (`docker run --health-cmd ...`)
# or turn it off (`--no-healthcheck`); see deploy/README.md.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, sys, grpc; from grpc_health.v1 import health_pb2 as h, health_pb2_grpc as g; ch = grpc.insecure_channel('localhost:' + os.environ.get('IDC_PORT', '50051')); sys.exit(g.HealthStub(ch).Check(h.HealthCheckRequest(service=''), timeout=4).status != h.HealthCheckResponse.SERVING)"]

ENTRYPOINT ["idc-server"]
