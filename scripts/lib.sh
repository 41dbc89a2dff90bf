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

# Connection settings of the throwaway cluster (after scripts/cluster.sh start).
cluster_env() {
	[ -f "$TMP/cluster.env" ] || die "no cluster: run 'make start'"
	# shellcheck disable=SC1090
	. "$TMP/cluster.env"
	export PGHOST PGPORT PGUSER PGBIN
	export PATH="$PGBIN:$PATH"
}
