# scripts/lib.sh — shared by the project's scripts: where things are, who runs
# the server, and how to reach it.  Source it; do not run it.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The throwaway cluster and every scratch file live outside the clone, in a
# directory keyed by the clone's path: the server user must reach the data
# and socket directories even when the clone is in a 0700 home such as
# /root, and two clones must not share a cluster.  O2O_TMP overrides it.
TMP=${O2O_TMP:-/var/tmp/o2o_route-$(printf %s "$ROOT" | md5sum | cut -c1-8)}
PG_CONFIG=${PG_CONFIG:-$(ls /usr/lib/postgresql/15/bin/pg_config 2>/dev/null || command -v pg_config || echo pg_config)}
export PG_CONFIG

# PostgreSQL refuses to run as root: as root the cluster runs as "postgres"
# (created by Debian's postgresql-common); otherwise as the calling user.
if [ "$(id -u)" = 0 ]; then
	PGOS_USER=postgres
else
	PGOS_USER=$(id -un)
fi

# (from /: the server user may not be able to enter the clone's directory)
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u "$PGOS_USER" -- "$@")
	else
		"$@"
	fi
}

# as root, or through sudo for the package manager and `make install`
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

say() { printf '\n== %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A test's check: prints "ok: WHAT", or "FAILED: ..." and sets fail=1.
check() {	# check WHAT EXPECTED GOT
	if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAILED: $1: expected [$2], got [$3]"; fail=1; fi
}

# The default_version of o2o_route.control (in DIR, by default this clone).
control_version() {	# control_version [DIR]
	sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "${1:-$ROOT}/o2o_route.control"
}

# The first port from START on that no server listens on, on TCP or with a
# socket in SOCKDIR.
free_port() {	# free_port START SOCKDIR
	local port=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || [ -e "$2/.s.PGSQL.$port" ]; do
		port=$((port + 1))
	done
	echo "$port"
}

# git may refuse a clone owned by another user than the caller (root)
git_trust_root() {
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0="$ROOT"
}

# Connection settings of the throwaway cluster (after scripts/cluster.sh start).
cluster_env() {
	[ -f "$TMP/cluster.env" ] || die "no cluster: run 'make start'"
	# shellcheck disable=SC1090
	. "$TMP/cluster.env"
	export PGHOST PGPORT PGUSER PGBIN
	export PATH="$PGBIN:$PATH"
}

# The md5 of the source of every function of o2o_route in database $1: two
# databases made by the same install script have the same.
ext_fingerprint() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "SELECT md5(string_agg(p.oid::regprocedure::text || ':' || p.prosrc, ','
			ORDER BY p.oid::regprocedure::text))
		FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
		JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'o2o_route'"
}

# make bench's default world (seed 42, 200,000 orders, none assigned) in
# database $1, generated unless it holds it already, made by the install
# script installed now (a world made by another build of the same version is
# made again)
bench_default_world() {
	local db=$1 have want
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS o2o_bench_probe" -c "CREATE DATABASE o2o_bench_probe"
	psql -X -q -d o2o_bench_probe -c "CREATE EXTENSION o2o_route CASCADE"
	want=$(ext_fingerprint o2o_bench_probe)
	psql -X -q -d postgres -c "DROP DATABASE o2o_bench_probe"
	have=$(psql -X -q -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")
	if [ "$have" = 1 ]; then
		have=$(psql -X -q -At -d "$db" -c "SELECT 1 FROM o2o_gen.country WHERE seed = 42
			AND (SELECT count(*) FROM o2o.orders) = 200000 AND (SELECT count(*) FROM o2o.grid) >= 1800
			AND NOT EXISTS (SELECT 1 FROM o2o.assignment)
			AND (SELECT extversion FROM pg_extension WHERE extname = 'o2o_route') = o2o_route_version()" \
			2>/dev/null || true)
		if [ "$have" = 1 ] && [ "$(ext_fingerprint "$db")" != "$want" ]; then
			echo "$db was made by another install script of o2o_route: made again"
			have=
		fi
	fi
	if [ "$have" != 1 ]; then
		say "generating the default world into $db"
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
		psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE EXTENSION o2o_route CASCADE;
\i $ROOT/test/fixtures/worldgen.sql
SELECT o2o_gen.build(42);
VACUUM ANALYZE;
SQL
	fi
}
