#!/usr/bin/env bash
# bench/shared.sh (the second part of make bench): the shared grid index and
# dealer cache on the real-scale world (test/fixtures/realworld.sql), each
# figure measured twice in one run -- the server with o2o_route preloaded
# (shared images) and without (each connection's own copies) -- and against
# PostGIS and the PL/pgSQL baseline.  Prints figures and ratios only; the
# machines are shared and noisy, so nothing here is a pass/fail timing.
#
#   BENCH_WORLD=default   use the default world instead (quicker, smaller)
#   BENCH_SECS            pgbench run length (default 20)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"

[ "${BENCH_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh
cluster_env
trap 'bash "$ROOT/scripts/cluster.sh" start >/dev/null; bash "$ROOT/scripts/cluster.sh" stop >/dev/null' EXIT
export PGOPTIONS='-c client_min_messages=warning -c max_parallel_workers_per_gather=0 -c jit=off'
WORLD=${BENCH_WORLD:-real}
DB=o2o_bench_$WORLD
SECS=${BENCH_SECS:-20}
CLIENTS=32

restart() {	# restart 1|0: with or without o2o_route preloaded (always a fresh server)
	bash scripts/cluster.sh stop >/dev/null
	O2O_PRELOAD=$1 bash scripts/cluster.sh start >/dev/null
	cluster_env
}

# ---- the world, generated unless this database already holds it
restart 1
have=$(psql -X -q -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")
if [ "$have" = 1 ]; then
	have=$(psql -X -q -At -d $DB -c "SELECT 1 WHERE (SELECT extversion FROM pg_extension
		WHERE extname = 'o2o_route') = o2o_route_version() AND NOT EXISTS (SELECT 1 FROM o2o.assignment)
		AND EXISTS (SELECT 1 FROM o2o.orders)" 2>/dev/null || true)
fi
if [ "$have" != 1 ]; then
	say "generating the $WORLD world into $DB"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
	if [ "$WORLD" = real ]; then
		build="\\i test/fixtures/realworld.sql
SELECT o2o_gen.build_real(42);"
	else
		build="SELECT o2o_gen.build(42);"
	fi
	psql -X -q -v ON_ERROR_STOP=1 -d $DB <<SQL
CREATE EXTENSION o2o_route CASCADE;
\\i test/fixtures/worldgen.sql
$build
VACUUM ANALYZE;
\\i bench/baseline_assign.sql
CREATE SEQUENCE bench_order_seq;
-- 200,000 lookup points: the orders' delivery points, repeated
CREATE TABLE bench_points AS
	SELECT location FROM o2o.orders, generate_series(1, greatest(1, 200000 / (SELECT count(*) FROM o2o.orders)::int + 1))
	 LIMIT 200000;
SQL
fi
if [ "$WORLD" = real ]; then
	say "the real-scale world"
	psql -X -q -d $DB -c "SELECT * FROM o2o_gen.real_stats()" -x
fi

# a fresh copy of the world for a run that writes; files copied, then a
# checkpoint, so that the copy's WAL and dirty buffers do not weigh on the run
clone() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS o2o_bench_run" \
		-c "CREATE DATABASE o2o_bench_run TEMPLATE $DB STRATEGY FILE_COPY" -c "CHECKPOINT"
	psql -X -q -d o2o_bench_run -c "SELECT setval('bench_order_seq', 1, false)" >/dev/null
}

SECONDS_Q="CREATE OR REPLACE FUNCTION pg_temp.ms(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp(); BEGIN EXECUTE q; RETURN 1000 * extract(epoch FROM clock_timestamp() - t0); END \$\$;"

# the backends' memory, in kB: their own (the private pages of every mapping
# but shared memory: the main segment, /dev/zero, and the dynamic segments in
# /dev/shm, whose pages count as "private" while one process alone has
# touched them) and PSS (everything, shared pages divided among their users)
backend_mem() {	# backend_mem APPNAME -> "n own_kB pss_kB" summed
	local pids
	pids=$(psql -X -q -At -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'")
	local n=0 priv=0 pss=0
	for pid in $pids; do
		read -r a b < <(awk '
			/^[0-9a-f]+-[0-9a-f]+ / { shm = ($6 ~ /^\/dev\/(shm|zero)/ || $6 ~ /^\/SYSV/ || $6 ~ /^\/memfd/) }
			/^Private_(Clean|Dirty):/ { if (!shm) p += $2 }
			/^Pss:/ { s += $2 }
			END { print p + 0, s + 0 }' "/proc/$pid/smaps")
		n=$((n + 1)); priv=$((priv + a)); pss=$((pss + b))
	done
	echo "$n $priv $pss"
}

: >"$TMP/bench_shared.txt"
for mode in shared own; do
	[ $mode = shared ] && restart 1 || restart 0
	say "server restarted, caches $mode"
	# the server's first build (shared: published for everyone; own: this connection's)
	first=$(psql -X -q -At -d $DB -c "$SECONDS_Q" -c "SELECT pg_temp.ms('SELECT o2o_grid_of(0, 0)')")
	echo "first lookup after the restart: $first ms"
	# cold start: the first lookup of new connections (median of 5)
	for i in 1 2 3 4 5; do
		psql -X -q -At -d $DB -c "$SECONDS_Q" -c "SELECT pg_temp.ms('SELECT o2o_grid_of(0, 0)')"
	done | sort -n | sed -n 3p >"$TMP/cold.txt"
	cold=$(cat "$TMP/cold.txt")
	# 200,000 lookups on a new connection (its first lookups), then again (warm,
	# the best of three);
	# the connection has read the points and loaded PostGIS first, which is
	# not the cache's cost
	read -r n newconn warm < <(psql -X -q -At -F ' ' -d $DB -c "$SECONDS_Q" \
		-c '\o /dev/null' -c "SELECT count(ST_X(location)) FROM bench_points" -c '\o' -c "SELECT (SELECT count(*) FROM bench_points),
		pg_temp.ms('SELECT count(o2o_grid_of(location)) FROM bench_points'),
		least(pg_temp.ms('SELECT count(o2o_grid_of(location)) FROM bench_points'),
			  pg_temp.ms('SELECT count(o2o_grid_of(location)) FROM bench_points'),
			  pg_temp.ms('SELECT count(o2o_grid_of(location)) FROM bench_points'))")
	echo "$mode cold_ms $cold" >>"$TMP/bench_shared.txt"
	echo "$mode first_ms $first" >>"$TMP/bench_shared.txt"
	echo "$mode newconn_rate $(awk -v n=$n -v t=$newconn 'BEGIN {print n / t * 1000}')" >>"$TMP/bench_shared.txt"
	echo "$mode warm_rate $(awk -v n=$n -v t=$warm 'BEGIN {print n / t * 1000}')" >>"$TMP/bench_shared.txt"

	# memory: 32 connections that have each called o2o_assign and looked up
	# 1,000 points (what placing and routing orders does), against 4 idle ones
	clone
	for i in $(seq 1 $CLIENTS); do
		[ "$i" -le 4 ] && { PGAPPNAME=o2o_idle psql -X -q -d o2o_bench_run -c "SELECT pg_sleep(20)" >/dev/null 2>&1 & }
		# a connection that read geometries (PostGIS loaded) but no o2o_route cache
		[ "$i" -le 4 ] && { PGAPPNAME=o2o_geom psql -X -q -d o2o_bench_run \
			-c "SELECT count(ST_AsText(location)) FROM (SELECT location FROM bench_points LIMIT 1000) p" \
			-c "SELECT pg_sleep(20)" >/dev/null 2>&1 & }
		PGAPPNAME=o2o_busy psql -X -q -d o2o_bench_run -c "SELECT o2o_assign($i)" \
			-c "SELECT count(o2o_grid_of(location)) FROM (SELECT location FROM bench_points LIMIT 1000) p" \
			-c "SELECT pg_sleep(20)" >/dev/null 2>&1 &
	done
	sleep 12
	read -r ni privi pssi < <(backend_mem o2o_idle)
	read -r nb privb pssb < <(backend_mem o2o_busy)
	read -r ng privg pssg < <(backend_mem o2o_geom)
	wait
	echo "$mode mem $ni $privi $pssi $nb $privb $pssb $ng $privg" >>"$TMP/bench_shared.txt"
	echo "memory: $nb busy backends private $((privb / 1024)) MB, PSS $((pssb / 1024)) MB; $ni idle: private $((privi / 1024)) MB"

	# ramp-up: 32 clients of o2o_assign right after a restart, tps per second;
	# one request has been served first (shared: the images are built once;
	# own: that one backend's copies only)
	clone
	[ $mode = shared ] && restart 1 || restart 0
	psql -X -q -d o2o_bench_run -c "SELECT o2o_grid_of(0, 0)" -c "SELECT count(*) FROM o2o_candidates(1)" >/dev/null
	echo "SELECT o2o_assign(nextval('bench_order_seq'));" >"$TMP/bench_ramp.pgbench"
	(cd "$TMP" && PGOPTIONS="$PGOPTIONS -c synchronous_commit=off" "$PGBIN/pgbench" -n -c $CLIENTS -j 8 -T "$SECS" -P 1 \
		-f "$TMP/bench_ramp.pgbench" o2o_bench_run >"$TMP/pgbench_ramp_$mode.out" 2>&1) || true
	sed -n 's/^progress: \([0-9.]*\) s, \([0-9.]*\) tps.*/\1 \2/p' "$TMP/pgbench_ramp_$mode.out" \
		| awk -v m=$mode -v secs="$SECS" '$1 <= 5 { f += $2; nf++ } $1 > secs / 2 { s += $2; ns++ }
			END { printf "%s ramp %.1f %.1f\n", m, nf ? f / nf : 0, ns ? s / ns : 0 }' >>"$TMP/bench_shared.txt"
	tail -1 "$TMP/bench_shared.txt"

	# o2o_assign against the PL/pgSQL + PostGIS baseline, 4 clients, warm
	for who in o2o baseline; do
		clone
		if [ $who = o2o ]; then f="SELECT o2o_assign(nextval('bench_order_seq'));"; else f="SELECT baseline.assign(nextval('bench_order_seq'));"; fi
		echo "$f" >"$TMP/bench_a.pgbench"
		(cd "$TMP" && PGOPTIONS="$PGOPTIONS -c synchronous_commit=off" "$PGBIN/pgbench" -n -c 4 -j 4 -T "$SECS" \
			-f "$TMP/bench_a.pgbench" o2o_bench_run >"$TMP/pgbench_a.out" 2>&1) || true
		echo "$mode assign4_$who $(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$TMP/pgbench_a.out")" >>"$TMP/bench_shared.txt"
		tail -1 "$TMP/bench_shared.txt"
	done
	psql -X -q -d $DB -At -c '\o /dev/null' -c "SELECT o2o_grid_of(0, 0)" -c '\o' -c "SELECT replace(cache, ' ', '_'), mode, bytes, builds, round(last_build_ms::numeric, 1) FROM o2o_cache_status()" \
		| sed "s/^/$mode status /" >>"$TMP/bench_shared.txt"
done
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS o2o_bench_run"

# PostGIS per point on a sample of the same points (it is slow on real borders)
restart 1
read -r pn pms < <(psql -X -q -At -F ' ' -d $DB -c "$SECONDS_Q" -c "SELECT 20000, pg_temp.ms(
	'SELECT count(g.grid_id) FROM (SELECT location FROM bench_points LIMIT 20000) o LEFT JOIN LATERAL
	  (SELECT grid_id FROM o2o.grid g WHERE ST_Contains(g.geom, o.location) ORDER BY grid_id LIMIT 1) g ON true')")
echo "postgis rate $(awk -v n=$pn -v t=$pms 'BEGIN {print n / t * 1000}')" >>"$TMP/bench_shared.txt"

echo
awk '
	$2 == "cold_ms" { cold[$1] = $3 }
	$2 == "first_ms" { first[$1] = $3 }
	$2 == "newconn_rate" { nc[$1] = $3 }
	$2 == "warm_rate" { warm[$1] = $3 }
	$1 == "postgis" { pg = $3 }
	$2 == "mem" { ni[$1] = $3; privi[$1] = $4; nb[$1] = $6; privb[$1] = $7; pssb[$1] = $8; ng[$1] = $9; privg[$1] = $10 }
	$2 == "ramp" { ramp1[$1] = $3; ramp2[$1] = $4 }
	$2 == "assign4_o2o" { a[$1] = $3 }
	$2 == "assign4_baseline" { b[$1] = $3 }
	$2 == "status" { split($3, f, "|"); if (f[1] == "grid_index") { gbytes[$1] = f[3]; gms[$1] = f[5] } }
	END {
		printf "%-58s %12s %12s\n", "", "shared", "own copies"
		printf "%-58s %12.1f %12.1f\n", "grid index build, ms (the first lookup after a restart)", first["shared"], first["own"]
		printf "%-58s %12.2f %12.2f  (target <= 5 ms shared)\n", "first o2o_grid_of on a new connection, ms", cold["shared"], cold["own"]
		printf "%-58s %12.0f %12.0f\n", "200,000 lookups on a new connection, points/s", nc["shared"], nc["own"]
		printf "%-58s %12.1fx %11.1fx  (target >= 80x shared)\n", "  / PostGIS per point (GiST + ST_Contains)", nc["shared"] / pg, nc["own"] / pg
		printf "%-58s %12.0f %12.0f\n", "steady-state lookups, points/s", warm["shared"], warm["own"]
		printf "%-58s %12.2fx  (target >= 1x)\n", "  shared / own copies", warm["shared"] / warm["own"]
		printf "%-58s %12.1f %12.1f\n", "memory per backend after o2o_assign + lookups, own MB",
			privb["shared"] / nb["shared"] / 1024, privb["own"] / nb["own"] / 1024
		printf "%-58s %12.1f %12.1f\n", "  the same less an idle backend, MB",
			(privb["shared"] / nb["shared"] - privi["shared"] / ni["shared"]) / 1024,
			(privb["own"] / nb["own"] - privi["own"] / ni["own"]) / 1024
		printf "%-58s %12.1f %12.1f  (target <= 2 MB shared)\n", "  the same less a backend that read geometries, MB",
			(privb["shared"] / nb["shared"] - privg["shared"] / ng["shared"]) / 1024,
			(privb["own"] / nb["own"] - privg["own"] / ng["own"]) / 1024
		printf "%-58s %12.1f %12.1f\n", "  PSS per busy backend, MB", pssb["shared"] / nb["shared"] / 1024, pssb["own"] / nb["own"] / 1024
		printf "%-58s %12.0f %12.0f\n", "32 clients of o2o_assign after a restart: first 5 s, tps", ramp1["shared"], ramp1["own"]
		printf "%-58s %12.0f %12.0f\n", "  steady (second half), tps", ramp2["shared"], ramp2["own"]
		printf "%-58s %11.0f%% %11.0f%%  (target >= 70%% shared)\n", "  first 5 s / steady",
			100 * ramp1["shared"] / ramp2["shared"], 100 * ramp1["own"] / ramp2["own"]
		printf "%-58s %12.0f %12.0f\n", "o2o_assign, 4 clients, tps", a["shared"], a["own"]
		printf "%-58s %12.0f %12.0f\n", "PL/pgSQL + PostGIS baseline, 4 clients, tps", b["shared"], b["own"]
		printf "%-58s %12.1fx %11.1fx  (target >= 3x shared)\n", "  o2o_assign / baseline", a["shared"] / b["shared"], a["own"] / b["own"]
		printf "%-58s %12.1f\n", "grid index image, MB", gbytes["shared"] / 1048576
		printf "%-58s %12.1f\n", "PostGIS per point, points/s", pg
	}' "$TMP/bench_shared.txt"
