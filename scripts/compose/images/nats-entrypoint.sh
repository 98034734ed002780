#!/bin/sh
# As the official nats image's entrypoint: a first argument that is a flag means nats-server's.
set -e
if [ "${1#-}" != "$1" ]; then
  set -- nats-server "$@"
fi
exec "$@"
