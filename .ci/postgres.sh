#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks, from Debian's server binaries: initdb
# and pg_ctl on a free 127.0.0.1 port under a temporary folder. Never touches a system cluster.
#
#   .ci/postgres.sh start DIR   # prints an Npgsql connection string on stdout
#   .ci/postgres.sh stop DIR
#
# Installs the `postgresql` package when the binaries are missing (the packaged cluster it may
# create is left alone and not started by us). As root the cluster runs as the `postgres` user:
# initdb refuses to run as root.
set -euo pipefail
action=${1:?start|stop}
dir=${2:?folder}

bindir() {
  for v in 17 16 15; do
    [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ] && { echo "/usr/lib/postgresql/$v/bin"; return; }
  done
}
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

bin=$(bindir || true)
case "$action" in
  start)
    if [ -z "$bin" ]; then
      apt-get update -qq >&2
      # policy-rc.d keeps the package's own cluster from being started.
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      rm -f /usr/sbin/policy-rc.d
      bin=$(bindir)
    fi
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
      "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
    echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Pooling=false"
    ;;
  stop)
    [ -n "$bin" ] && [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
    rm -rf "$dir"
    ;;
esac
