# syntax=docker/dockerfile:1
# healthmon: the all-in-one binary and the single-role binaries in one small image.
#   docker build -t healthmon:local .
#   docker run --rm -p 8080:8080 -e HEALTHMON_ADMIN_PASSWORD=… healthmon:local
# The default command runs every role on a SQLite file in /var/lib/healthmon; docker-compose.yml
# runs the roles separately over PostgreSQL and NATS JetStream.

FROM rust:1-bookworm AS builder
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

FROM debian:bookworm-slim AS runtime
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
