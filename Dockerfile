# healthmon: the all-in-one binary and the single-role binaries in one small image.
#   docker build -t healthmon:local .
#   docker run --rm -p 8080:8080 -e HEALTHMON_ADMIN_PASSWORD=… healthmon:local
# The default command runs every role on a SQLite file in /var/lib/healthmon; docker-compose.yml
# runs the roles separately over PostgreSQL and NATS JetStream.
#
# Needs BuildKit (the default builder of Docker 23 and newer, and of Compose v2) for its cache
# mounts: the crates and the target directory stay cached between builds, so a rebuild after a
# change compiles only what changed. There is deliberately no `# syntax=` line: the Dockerfile
# frontend built into BuildKit (Docker 20.10 on) is enough, and nothing is pulled for it.
#
# The base images are build arguments, for machines that cannot pull from Docker Hub
# (scripts/compose-smoke.sh builds stand-ins locally):
#   docker build --build-arg RUST_IMAGE=… --build-arg RUNTIME_IMAGE=… -t healthmon:local .
# RUST_IMAGE needs cargo on the PATH with CARGO_HOME=/usr/local/cargo, gcc, make and perl;
# RUNTIME_IMAGE is Debian bookworm (its apt-get installs curl).
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS builder
WORKDIR /src
COPY . .
# ssh2 builds its own OpenSSL (vendored), which needs only perl, make and gcc: all in this image.
# The target directory is a cache mount, so the binaries are copied out in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p healthmon --bins \
    && mkdir -p /out \
    && cp target/release/healthmon target/release/healthmon-api target/release/healthmon-prober \
          target/release/healthmon-projector target/release/healthmon-notifier /out/

FROM ${RUNTIME_IMAGE} AS runtime
# ca-certificates for HTTPS checks; curl for health checks (the image has nothing else to call).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# /keys is owned by the service user so a named volume mounted there starts out writable by it.
RUN groupadd --system --gid 10001 healthmon \
    && useradd --system --uid 10001 --gid healthmon --home-dir /var/lib/healthmon --shell /usr/sbin/nologin healthmon \
    && install -d -o healthmon -g healthmon -m 0750 /var/lib/healthmon \
    && install -d -o healthmon -g healthmon -m 0700 /keys
COPY --from=builder /out/healthmon /out/healthmon-api /out/healthmon-prober /out/healthmon-projector \
     /out/healthmon-notifier /usr/local/bin/
USER 10001:10001
WORKDIR /var/lib/healthmon
ENV HEALTHMON_LISTEN=0.0.0.0:8080
EXPOSE 8080
# Every process, whatever its roles, answers /livez on HEALTHMON_LISTEN.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${HEALTHMON_LISTEN##*:}/livez" || exit 1
ENTRYPOINT ["healthmon"]
