#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 server for the store tests and prints its URL.
#
# Usage:
#   export PORTCULLIS_TEST_POSTGRES_URL="$(crates/store-sql/scripts/start-postgres.sh)"
#   cargo test -p portcullis-store-sql
#
# The server listens on a Unix socket only (no TCP port), trusts every local
# connection and runs with fsync off, so it is for tests, never for real data.
# Running the script again reuses the cluster and the running server.
# PostgreSQL refuses to run as root, so when run as root the script creates the
# system user PORTCULLIS_PG_OS_USER (default pgtest) and runs PostgreSQL as that
# user. Run as any other user, it runs PostgreSQL as the caller. Nothing is
# downloaded: the postgresql-15 binaries must be installed (Debian package
# postgresql-15). Progress goes to standard error and only the URL to standard
# output.
#
# Settings (environment variables, with defaults):
#   PORTCULLIS_PG_BIN      /usr/lib/postgresql/15/bin   PostgreSQL binaries
#   PORTCULLIS_PG_DATA     /tmp/portcullis-pgdata       cluster directory
#   PORTCULLIS_PG_SOCKET   /tmp/portcullis-pgsocket     socket directory
#   PORTCULLIS_PG_PORT     55432                        port in the socket file name
#   PORTCULLIS_PG_OS_USER  pgtest                       system user when run as root
#
# Stop the server with (leave out `runuser -u pgtest --` when not root):
#   runuser -u pgtest -- /usr/lib/postgresql/15/bin/pg_ctl stop -D /tmp/portcullis-pgdata

set -euo pipefail

bin_dir="${PORTCULLIS_PG_BIN:-/usr/lib/postgresql/15/bin}"
data_dir="${PORTCULLIS_PG_DATA:-/tmp/portcullis-pgdata}"
socket_dir="${PORTCULLIS_PG_SOCKET:-/tmp/portcullis-pgsocket}"
port="${PORTCULLIS_PG_PORT:-55432}"
database="portcullis"
role="pgtest"

# The server user may not be allowed into the caller's working directory.
cd /

log() {
    echo "start-postgres: $*" >&2
}

for program in initdb pg_ctl createdb psql; do
    if [ ! -x "$bin_dir/$program" ]; then
        log "missing $bin_dir/$program: install the postgresql-15 package or set PORTCULLIS_PG_BIN"
        exit 1
    fi
done

if [ "$(id -u)" -eq 0 ]; then
    os_user="${PORTCULLIS_PG_OS_USER:-pgtest}"
    if ! id -u "$os_user" >/dev/null 2>&1; then
        log "creating system user $os_user"
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$os_user"
    fi
    as_server_user() { runuser -u "$os_user" -- "$@"; }
else
    os_user="$(id -un)"
    as_server_user() { "$@"; }
fi

mkdir -p "$data_dir" "$socket_dir"
if [ "$(id -u)" -eq 0 ]; then
    chown "$os_user" "$data_dir" "$socket_dir"
fi
chmod 0700 "$data_dir"
# Other local users (and root) must reach the socket.
chmod 0755 "$socket_dir"

if [ ! -f "$data_dir/PG_VERSION" ]; then
    log "initialising a cluster in $data_dir"
    as_server_user "$bin_dir/initdb" --pgdata="$data_dir" --username="$role" \
        --auth=trust --encoding=UTF8 --locale=C --no-instructions >&2
fi

if as_server_user "$bin_dir/pg_ctl" status --pgdata="$data_dir" >/dev/null 2>&1; then
    log "server already running"
else
    log "starting the server on socket $socket_dir/.s.PGSQL.$port"
    # fsync off: a crash may lose this test data, which is never kept.
    as_server_user "$bin_dir/pg_ctl" start --pgdata="$data_dir" --wait --timeout=60 \
        --log="$data_dir/server.log" \
        -o "-c listen_addresses='' -k $socket_dir -p $port -c fsync=off -c max_connections=300" >&2
fi

exists="$(as_server_user "$bin_dir/psql" --host="$socket_dir" --port="$port" --username="$role" \
    --dbname=postgres --no-psqlrc --tuples-only --no-align \
    --command="SELECT 1 FROM pg_database WHERE datname = '$database'")"
if [ "$exists" != "1" ]; then
    log "creating database $database"
    as_server_user "$bin_dir/createdb" --host="$socket_dir" --port="$port" --username="$role" "$database"
fi

pid="$(head -n 1 "$data_dir/postmaster.pid")"
log "PostgreSQL is running as process $pid (data $data_dir, log $data_dir/server.log)"
echo "postgres://$role@localhost:$port/$database?host=$socket_dir"
