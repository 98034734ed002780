# A stand-in for debian:bookworm-slim: the debootstrapped base as it is. Made by
# scripts/compose-smoke.sh.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
CMD ["bash"]
