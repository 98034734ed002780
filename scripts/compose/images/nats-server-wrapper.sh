#!/bin/sh
# nats-server as the stand-in image runs it: Debian's 2.9 does not know JetStream's sync_interval
# (2.10), so a configuration file given with -c/--config is passed on without that line, and says
# so. Everything else goes to /usr/sbin/nats-server unchanged.
set -e
config=
previous=
for argument in "$@"; do
  case "$previous" in -c|--config) config=$argument ;; esac
  previous=$argument
done
if [ -n "$config" ] && grep -q 'sync_interval' "$config"; then
  filtered=/tmp/nats-server-2.9.conf
  grep -v 'sync_interval' "$config" > "$filtered"
  echo "stand-in nats-server 2.9: sync_interval dropped from $config (needs 2.10)" >&2
  rewritten=
  for argument in "$@"; do
    if [ "$argument" = "$config" ]; then rewritten="$rewritten $filtered"; else rewritten="$rewritten $argument"; fi
  done
  # shellcheck disable=SC2086 # the arguments are the compose file's, without spaces
  set -- $rewritten
fi
exec /usr/sbin/nats-server "$@"
