#!/usr/bin/env bash
# Makes the stand-in base images scripts/compose-smoke.sh uses where Docker Hub cannot be reached,
# from Debian's packages only: a debootstrapped bookworm, imported, and on it a Rust builder (with a
# copy of the host's toolchain), a runtime base, NATS, PostgreSQL and a busybox web server. Each is
# made once: an image `docker image inspect` finds is kept. Sourced by compose-smoke.sh, which
# provides log, note, docker_build and the variables below.
#
#   SMOKE_CACHE     where the debootstrapped root and the toolchain copy are kept
#   LOCAL_PREFIX    the images' repository prefix (healthmon-smoke/…)

IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/images"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

make_bookworm_base() {
  local image=$LOCAL_PREFIX/bookworm:base root=$SMOKE_CACHE/rootfs-bookworm
  if have_image "$image"; then note "$image: cached"; return 0; fi
  if [ ! -e "$root/.complete" ]; then
    log "debootstrap bookworm (minbase) into $root"
    rm -rf "$root"
    debootstrap --variant=minbase bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
      > "$SMOKE_CACHE/debootstrap.log" 2>&1 || { tail -20 "$SMOKE_CACHE/debootstrap.log" >&2; return 1; }
    # As Debian's official images: the security and updates suites too, no apt caches kept.
    cat > "$root/etc/apt/sources.list" <<SOURCES
deb ${DEBIAN_MIRROR:-http://deb.debian.org/debian} bookworm main
deb ${DEBIAN_MIRROR:-http://deb.debian.org/debian} bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    touch "$root/.complete"
  fi
  log "importing $root as $image"
  tar --numeric-owner --exclude=./.complete -C "$root" -c . \
    | docker import --change 'CMD ["bash"]' - "$image" >/dev/null
}

# make_image NAME DOCKERFILE CONTEXT: $LOCAL_PREFIX/NAME from scripts/compose/images/DOCKERFILE.
make_image() {
  local image=$LOCAL_PREFIX/$1 dockerfile=$IMAGES_DIR/$2 context=$3
  if have_image "$image"; then note "$image: cached"; return 0; fi
  local build_log=$SMOKE_CACHE/build-${1%%:*}.log
  log "building $image"
  docker_build --network host --build-arg "BASE_IMAGE=$LOCAL_PREFIX/bookworm:base" \
    -f "$dockerfile" -t "$image" "$context" >"$build_log" 2>&1 || { tail -30 "$build_log"; return 1; }
}

make_rust_image() {
  local image=$LOCAL_PREFIX/rust:bookworm context=$SMOKE_CACHE/rust-context
  if have_image "$image"; then note "$image: cached"; return 0; fi
  local toolchain
  toolchain=$(rustc --print sysroot 2>/dev/null) || { log "no host Rust toolchain (rustc --print sysroot)"; return 1; }
  log "copying the host toolchain ($(rustc --version)) from $toolchain"
  rm -rf "$context" && mkdir -p "$context/toolchain"
  # Without its documentation (800 MB nobody reads in a build).
  tar -C "$toolchain" --exclude=./share/doc -c . | tar -C "$context/toolchain" -x
  cp "$IMAGES_DIR/rust.Dockerfile" "$context/Dockerfile"
  cp "${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$context/ca-certificates.crt"
  make_image rust:bookworm rust.Dockerfile "$context"
  rm -rf "$context"
}

make_base_images() {
  mkdir -p "$SMOKE_CACHE"
  make_bookworm_base
  make_rust_image
  make_image debian:bookworm-slim runtime.Dockerfile "$IMAGES_DIR"
  make_image nats:2.9-bookworm nats.Dockerfile "$IMAGES_DIR"
  make_image postgres:15-bookworm postgres.Dockerfile "$IMAGES_DIR"
  make_image busybox:bookworm web.Dockerfile "$IMAGES_DIR"
}
