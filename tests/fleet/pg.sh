# pg.sh - a throwaway PostgreSQL 15 cluster for the fleet tests (sourced).
#
#   pg_start DIR     initdb as the postgres user in DIR/pg, a free port on
#                    127.0.0.1 and the UNIX socket in DIR/pg/sock; database
#                    "authgate" owned by role authgate_owner; login roles
#                    admin (authgate_admin), node (authgate_node), pnode
#                    (authgate_policy_node).  Sets PGPORT_T, PGSOCK_T and
#                    the URIs PG_OWNER, PG_ADMIN, PG_NODE, PG_PNODE, PG_SUPER.
#   pg_stop DIR / pg_restart DIR / pg_sql SQL (as the superuser)
# Local (socket) connections use trust, TCP ones scram-sha-256: a test that
# needs a password file connects over TCP.  Needs root (to become postgres);
# callers exit 77 without it.
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

pg_free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        if ! ss -ltnH "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

pg_ctl_as() {
    runuser -u postgres -- "$PGBIN/pg_ctl" "$@"
}

pg_start() {
    local dir=$1 tries
    mkdir -p "$dir/pg/sock"
    chown -R postgres: "$dir/pg"
    chmod 0700 "$dir/pg"
    runuser -u postgres -- "$PGBIN/initdb" -D "$dir/pg/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --no-locale >"$dir/pg/initdb.log" 2>&1 || {
        cat "$dir/pg/initdb.log" >&2
        return 1
    }
    for tries in 1 2 3 4 5; do
        PGPORT_T=$(pg_free_port) || return 1
        cat >>"$dir/pg/data/postgresql.conf" <<CONF
port = $PGPORT_T
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/pg/sock'
fsync = on
max_connections = 60
shared_buffers = 64MB
CONF
        if pg_ctl_as -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 start >/dev/null 2>&1; then
            break
        fi
        PGPORT_T=
    done
    [ -n "$PGPORT_T" ] || { cat "$dir/pg/server.log" >&2; return 1; }
    PGSOCK_T=$dir/pg/sock
    PG_DIR_T=$dir
    local q="host=$PGSOCK_T&port=$PGPORT_T"
    PG_SUPER="postgresql:///postgres?$q&user=postgres"
    PG_OWNER="postgresql:///authgate?$q&user=authgate_owner"
    PG_ADMIN="postgresql:///authgate?$q&user=admin"
    PG_NODE="postgresql:///authgate?$q&user=node"
    PG_PNODE="postgresql:///authgate?$q&user=pnode"
    pg_sql "CREATE ROLE authgate_owner LOGIN;
            CREATE ROLE authgate_admin NOLOGIN;
            CREATE ROLE authgate_node NOLOGIN;
            CREATE ROLE authgate_policy_node NOLOGIN;
            CREATE ROLE admin LOGIN IN ROLE authgate_admin;
            CREATE ROLE node LOGIN IN ROLE authgate_node PASSWORD 'node-pw-T3st';
            CREATE ROLE pnode LOGIN IN ROLE authgate_policy_node;" >/dev/null || return 1
    pg_sql "CREATE DATABASE authgate OWNER authgate_owner" >/dev/null || return 1
    pg_sql "REVOKE ALL ON DATABASE authgate FROM PUBLIC;
            GRANT CONNECT ON DATABASE authgate TO authgate_owner, authgate_admin, authgate_node,
                authgate_policy_node;" >/dev/null
}

pg_sql() {
    psql -X -q -v ON_ERROR_STOP=1 -At "${PG_SQL_URI:-$PG_SUPER}" -c "$1"
}

pg_stop() {
    pg_ctl_as -D "$1/pg/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

pg_restart_only() {
    pg_ctl_as -D "$1/pg/data" -l "$1/pg/server.log" -w -t 60 start >/dev/null
}
