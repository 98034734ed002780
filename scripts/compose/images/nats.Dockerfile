# A stand-in for nats:2.10-alpine: Debian's nats-server (2.9) with wget for the health check and
# the official image's entrypoint rule (arguments starting with "-" are nats-server's). Made by
# scripts/compose-smoke.sh.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nats-server wget \
    && rm -rf /var/lib/apt/lists/*
COPY nats-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY nats-server-wrapper.sh /usr/local/bin/nats-server
EXPOSE 4222 8222 6222
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["nats-server", "-js", "-sd", "/data", "-m", "8222"]
