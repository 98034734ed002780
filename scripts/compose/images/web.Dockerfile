# A stand-in for busybox: Debian's busybox (its httpd serves the smoke test's targets). Made by
# scripts/compose-smoke.sh.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox \
    && rm -rf /var/lib/apt/lists/* \
    && busybox httpd --help >/dev/null 2>&1 || busybox --list | grep -qx httpd
CMD ["sh"]
