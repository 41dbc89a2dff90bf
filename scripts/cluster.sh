#!/usr/bin/env bash
# A throwaway PostgreSQL cluster in $TMP (see lib.sh: outside the clone, keyed
# by its path): its own data directory, socket directory and free port, run as
# a non-root user.
#   scripts/cluster.sh start   initdb if needed, start if not running
#   scripts/cluster.sh stop    stop it (no error if it is not running)
#   scripts/cluster.sh env     print the connection settings as shell exports
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BINDIR=$("$PG_CONFIG" --bindir)
DATA=$TMP/pgdata
SOCK=$TMP/sock
LOG=$TMP/postgres.log
# bump when the configuration written below changes, so that running
# clusters restart with it
CONF_VERSION=5
# O2O_PRELOAD=0: start without the library preloaded (each backend keeps its
# own caches), as make test does for one step
preload=o2o_route
[ "${O2O_PRELOAD:-1}" = 0 ] && preload=

start() {
	mkdir -p "$TMP" "$SOCK"
	chmod 0755 "$TMP"
	# the server user owns the data and socket directories and its log
	if [ "$(id -u)" = 0 ]; then
		chown "$PGOS_USER" "$SOCK"
	fi
	as_pg test -w "$SOCK" || die "user $PGOS_USER cannot write to $SOCK"
	if [ ! -f "$DATA/PG_VERSION" ]; then
		rm -rf "$DATA"
		mkdir -m 0700 "$DATA"
		[ "$(id -u)" = 0 ] && chown "$PGOS_USER" "$DATA"
		as_pg "$BINDIR/initdb" -D "$DATA" -U "$PGOS_USER" -A trust -E UTF8 --locale=C.UTF-8 >"$TMP/initdb.log" 2>&1 \
			|| { cat "$TMP/initdb.log"; die "initdb failed"; }
	fi
	# the server preloads the library (shared caches): a running server that
	# preloaded another build of it, or another configuration, is restarted
	lib=$(md5sum "$("$PG_CONFIG" --pkglibdir)/o2o_route.so" 2>/dev/null | cut -c1-32 || true)
	if as_pg "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
		if [ "$(cat "$TMP/started.lib" 2>/dev/null)" = "$lib:$CONF_VERSION:$preload" ]; then
			echo "cluster already running ($(grep -o 'PGPORT=[0-9]*' "$TMP/cluster.env" 2>/dev/null))"
			return 0
		fi
		echo "restarting the cluster: the installed library or the configuration changed"
		as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
	fi
	port=$(free_port 54329 "$SOCK")
	cat >"$TMP/postgresql.auto.conf.tmp" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$SOCK'
max_connections = 100
shared_buffers = '512MB'
work_mem = '32MB'
maintenance_work_mem = '512MB'
max_wal_size = '4GB'
fsync = off
full_page_writes = off
synchronous_commit = off
max_locks_per_transaction = 256
shared_preload_libraries = '$preload'
lc_messages = 'C'
jit = off
CONF
	as_pg cp "$TMP/postgresql.auto.conf.tmp" "$DATA/o2o_cluster.conf"
	rm -f "$TMP/postgresql.auto.conf.tmp"
	grep -q "include_if_exists = 'o2o_cluster.conf'" "$DATA/postgresql.conf" \
		|| echo "include_if_exists = 'o2o_cluster.conf'" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
	touch "$LOG"
	[ "$(id -u)" = 0 ] && chown "$PGOS_USER" "$LOG"
	as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null \
		|| { tail -20 "$LOG"; die "the cluster did not start"; }
	echo "$lib:$CONF_VERSION:$preload" >"$TMP/started.lib"
	cat >"$TMP/cluster.env" <<ENV
PGHOST='$SOCK'
PGPORT=$port
PGUSER='$PGOS_USER'
PGBIN='$BINDIR'
ENV
	echo "cluster started: socket $SOCK, port $port, user $PGOS_USER, data $DATA"
}

stop() {
	if [ -f "$DATA/PG_VERSION" ] && as_pg "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
		as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
		echo "cluster stopped"
	fi
}

case "${1:-}" in
	start) start ;;
	stop) stop ;;
	env)
		[ -f "$TMP/cluster.env" ] || die "no cluster: run 'make start'"
		sed 's/^/export /' "$TMP/cluster.env"
		;;
	*) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
