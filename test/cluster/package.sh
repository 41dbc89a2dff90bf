#!/usr/bin/env bash
# The Debian package (make deb), installed into a clean directory and used.
# Builds it (scripts/deb.sh: tracked files only, lintian), checks its name,
# control fields and file list; copies the PostgreSQL tree PG_CONFIG belongs to
# (PostGIS included) WITHOUT any o2o_route file, starts a server from the copy
# and sees no o2o_route there; unpacks the package over the copy (dpkg-deb -x),
# restarts the server preloading the library, and checks that the server maps
# the package's o2o_route.so, that CREATE EXTENSION o2o_route CASCADE gives the
# control file's version, that the library answers (a grid, an order routed),
# and that 0.1.0 updates to the default version.  Nothing is installed on the
# system; the server and the directory are removed at the end.
# A debian/changelog of another version than the control file is refused.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

WORK=$TMP/package
PKGROOT=$WORK/root
DATA=$WORK/data
SOCK=$WORK/sock
LOG=$WORK/postgres.log
MAJOR=15
version=$(control_version)

fail=0

bin() { echo "$PKGROOT/usr/lib/postgresql/$MAJOR/bin/$1"; }
stop_server() {
	if [ -f "$DATA/postmaster.pid" ]; then
		as_pg "$(bin pg_ctl)" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
cleanup
mkdir -p "$WORK"

# -- a changelog of another upstream version is refused, by make deb too
mkdir -p "$WORK/mismatch/debian"
cp o2o_route.control "$WORK/mismatch/"
sed "1s/([^)]*)/(9.9.9-1)/" debian/changelog >"$WORK/mismatch/debian/changelog"
if out=$(bash scripts/deb.sh --check-version "$WORK/mismatch" 2>&1); then
	check "a debian/changelog of 9.9.9 is refused" refused "accepted: $out"
else
	check "a debian/changelog of 9.9.9 is refused, saying why" 1 \
		"$(echo "$out" | grep -c "upstream 9.9.9) but o2o_route.control's default_version is $version")"
fi
bash scripts/deb.sh --check-version >/dev/null || { echo "FAILED: debian/changelog is not of $version"; exit 1; }

# -- build
if ! bash scripts/deb.sh >"$WORK/deb.log" 2>&1; then
	cat "$WORK/deb.log"
	echo "FAILED: make deb"
	exit 1
fi
grep '^[EWIP]: ' "$WORK/deb.log" | sed 's/^/lintian: /' || true
deb=$(tail -1 "$WORK/deb.log")
arch=$(dpkg --print-architecture)
check "the package's file name" "postgresql-$MAJOR-o2o-route_$version-1_$arch.deb" "$(basename "$deb")"
[ -f "$deb" ] || { echo "FAILED: no $deb"; exit 1; }

# -- control fields
field() { dpkg-deb -f "$deb" "$1"; }
check "Package" "postgresql-$MAJOR-o2o-route" "$(field Package)"
check "Version: the control file's default_version, Debian revision 1" "$version-1" "$(field Version)"
check "Architecture" "$arch" "$(field Architecture)"
depends=",$(field Depends | tr -d ' '),"
for dep in "postgresql-$MAJOR" "postgresql-$MAJOR-postgis-3" libc6; do
	case "$depends" in
		*",$dep,"* | *",$dep("*) check "Depends names $dep" yes yes ;;
		*) check "Depends names $dep" yes "no: $(field Depends)" ;;
	esac
done

# -- file list: the library, its bitcode, the control file, the install
# script of the default version, the frozen 0.1.0 script, every upgrade
# script, the docs; nothing else
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./||' | sort >"$WORK/files.deb"
{
	echo "usr/lib/postgresql/$MAJOR/lib/o2o_route.so"
	echo "usr/lib/postgresql/$MAJOR/lib/bitcode/o2o_route.index.bc"
	for c in src/*.c; do echo "usr/lib/postgresql/$MAJOR/lib/bitcode/o2o_route/${c%.c}.bc"; done
	echo "usr/share/postgresql/$MAJOR/extension/o2o_route.control"
	echo "usr/share/postgresql/$MAJOR/extension/o2o_route--$version.sql"
	echo "usr/share/postgresql/$MAJOR/extension/o2o_route--0.1.0.sql"
	for s in sql/o2o_route--*--*.sql; do echo "usr/share/postgresql/$MAJOR/extension/${s#sql/}"; done
	for d in README.md.gz changelog.gz changelog.Debian.gz copyright; do
		echo "usr/share/doc/postgresql-$MAJOR-o2o-route/$d"
	done
	echo "usr/share/lintian/overrides/postgresql-$MAJOR-o2o-route"
} | sort >"$WORK/files.expected"
if diff "$WORK/files.expected" "$WORK/files.deb" >"$WORK/files.diff"; then
	check "the package holds exactly the expected $(wc -l <"$WORK/files.deb") files" same same
else
	check "the package's file list (< expected, > in the package)" same "$(cat "$WORK/files.diff")"
fi
check "debian/copyright carries the LICENSE text" "$(sed -n '3,$p' LICENSE | sed 's/^$/./; s/^/ /')" \
	"$(awk 'text; /^License: PostgreSQL$/ && ++n == 2 {text = 1}' debian/copyright)"

# -- a clean PostgreSQL tree: a copy of the one PG_CONFIG belongs to, with
# every o2o_route file left out
pkglibdir=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)
prefix=${pkglibdir%/usr/lib/postgresql/$MAJOR/lib}
[ "$prefix/usr/lib/postgresql/$MAJOR/lib" = "$pkglibdir" ] && [ "$prefix/usr/share/postgresql/$MAJOR" = "$sharedir" ] \
	|| { echo "FAILED: $PG_CONFIG is not of a Debian layout (lib $pkglibdir, share $sharedir)"; exit 1; }
mkdir -p "$PKGROOT/usr/lib/postgresql" "$PKGROOT/usr/share/postgresql"
cp -a "$prefix/usr/lib/postgresql/$MAJOR" "$PKGROOT/usr/lib/postgresql/"
cp -a "$sharedir" "$PKGROOT/usr/share/postgresql/"
find "$PKGROOT" -name 'o2o_route*' -prune -exec rm -rf {} +
check "no o2o_route file in the copy of $prefix/usr/{lib,share}/postgresql/$MAJOR" "" \
	"$(find "$PKGROOT" -name 'o2o_route*')"

# -- a server from the copy
mkdir -p -m 0700 "$DATA"
mkdir -p "$SOCK"
touch "$LOG"
[ "$(id -u)" = 0 ] && chown "$PGOS_USER" "$DATA" "$SOCK" "$LOG"
as_pg "$(bin initdb)" -D "$DATA" -U "$PGOS_USER" -A trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
	|| { cat "$WORK/initdb.log"; echo "FAILED: initdb"; exit 1; }
port=$(free_port 55432 "$SOCK")
start_server() {	# start_server SHARED_PRELOAD_LIBRARIES
	as_pg "$(bin pg_ctl)" -D "$DATA" -l "$LOG" -w -t 60 -o "-p $port -c listen_addresses='' \
		-c unix_socket_directories='$SOCK' -c shared_preload_libraries='$1' -c fsync=off" start >/dev/null \
		|| { tail -20 "$LOG"; echo "FAILED: the server did not start"; exit 1; }
}
sql() { "$(bin psql)" -X -q -At -v ON_ERROR_STOP=1 -h "$SOCK" -p "$port" -U "$PGOS_USER" "$@"; }
start_server ''
check "the server's library directory is the copy's" "$PKGROOT/usr/lib/postgresql/$MAJOR/lib" \
	"$(sql -d postgres -c "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")"
check "the server's share directory is the copy's" "$PKGROOT/usr/share/postgresql/$MAJOR" \
	"$(sql -d postgres -c "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")"
check "before the package: no o2o_route available, postgis is" "0 1" \
	"$(sql -d postgres -c "SELECT count(*) FILTER (WHERE name = 'o2o_route') || ' ' || count(*) FILTER (WHERE name = 'postgis')
		FROM pg_available_extensions")"

# -- the package, unpacked over the copy; the server restarted with the library preloaded
dpkg-deb -x "$deb" "$PKGROOT"
as_pg "$(bin pg_ctl)" -D "$DATA" -m fast -w stop >/dev/null
start_server o2o_route
check "the server maps the package's o2o_route.so" "$PKGROOT/usr/lib/postgresql/$MAJOR/lib/o2o_route.so" \
	"$(awk '/o2o_route\.so$/ {print $6; exit}' "/proc/$(head -1 "$DATA/postmaster.pid")/maps")"

sql -d postgres -c "CREATE DATABASE o2o_pkg" -c "CREATE DATABASE o2o_pkg_upgrade"
check "CREATE EXTENSION o2o_route CASCADE: the control file's version" "$version|$version" \
	"$(sql -d o2o_pkg -c "SET client_min_messages = warning" -c "CREATE EXTENSION o2o_route CASCADE" \
		-c "SELECT o2o_route_version() || '|' || extversion FROM pg_extension WHERE extname = 'o2o_route'")"
check "the library answers: a grid, an order routed to its dealer" "1||1|assigned" "$(sql -d o2o_pkg <<'SQL' | paste -sd'|'
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom)
VALUES (1, 'G0001', 'Xinhe 1', 'Anhe Province', 'Jinlin City', 'Xinhe County', 1, 'south',
        'SRID=4326;MULTIPOLYGON(((113 22,114 22,114 23,113 23,113 22)))');
INSERT INTO o2o.product VALUES ('AC-001', 'Air conditioner A107', 'ac', true, NULL);
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES ('AC-001', 3999, '2026-01-01');
INSERT INTO o2o.dealer (dealer_id, name, kind, location)
VALUES (1, 'Xinhe Appliances', 'retailer', 'SRID=4326;POINT(113.4 22.5)');
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (1, 'AC-001', 5);
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity)
VALUES (1, 1, 'Wang', '{ac,water_heater}', 4);
INSERT INTO o2o.orders (sku, qty, location, address)
VALUES ('AC-001', 1, 'SRID=4326;POINT(113.5 22.6)', 'No. 8, Jiang Road');
SELECT o2o_grid_of(113.5, 22.6) || '|' || coalesce(o2o_grid_of(112.99, 22.6)::text, '') || '|'
	|| o2o_assign(1);
SELECT status FROM o2o.orders WHERE order_id = 1;
SQL
)"
check "0.1.0 from the package updates to $version" "0.1.0|$version" \
	"$(sql -d o2o_pkg_upgrade -c "SET client_min_messages = warning" \
		-c "CREATE EXTENSION o2o_route VERSION '0.1.0' CASCADE" \
		-c "SELECT extversion FROM pg_extension WHERE extname = 'o2o_route'" \
		-c "ALTER EXTENSION o2o_route UPDATE" \
		-c "SELECT extversion FROM pg_extension WHERE extname = 'o2o_route'" | paste -sd'|')"

[ $fail = 0 ] && echo "the package: all checks passed"
exit $fail
