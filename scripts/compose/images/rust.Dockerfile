# A stand-in for rust:1-bookworm, for machines that cannot pull it: Debian bookworm with what the
# healthmon build needs (gcc, make and perl for the vendored OpenSSL, pkg-config) and a copy of the
# host's Rust toolchain (in the build context as toolchain/) and
# its CA bundle. Made by scripts/compose-smoke.sh.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       ca-certificates gcc libc6-dev make perl pkg-config git \
    && rm -rf /var/lib/apt/lists/*
COPY toolchain /usr/local/rust
# The host's CA bundle (in the context as ca-certificates.crt): where TLS to crates.io passes
# through a proxy with its own CA, the host trusts it and so must the build.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# As in the official image: cargo's home (registry, git checkouts) in /usr/local/cargo.
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin && rustc --version && cargo --version
