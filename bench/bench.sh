#!/usr/bin/env bash
# make bench: measure on the default world (seed 42, 1,800 grids, 200,000
# orders), single process, against the baselines named in the issues; print
# rates and ratios measured in one run.  Machines are shared and noisy: each
# timing is the best of several runs, and only ratios are worth comparing.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"

bash scripts/setup.sh
cluster_env
trap 'bash "$ROOT/scripts/cluster.sh" stop >/dev/null' EXIT
export PGOPTIONS='-c client_min_messages=warning -c max_parallel_workers_per_gather=0 -c jit=off'
DB=o2o_bench

# the default world, generated unless this database already holds it (made
# by the install script installed now)
bench_default_world $DB

say "grid membership: o2o_grid_of vs PostGIS ST_Contains + GiST, 200,000 order points, one process"
# the index build, in a fresh backend each time (best of 5)
for i in 1 2 3 4 5; do
	psql -X -q -At -F ' ' -d $DB -c "SELECT build_ms, index_bytes, vertex_bytes, grids, vertices, cells FROM o2o_grid_index_stats()"
done | sort -n | head -1 >"$TMP/bench_build.txt"
read -r build_ms index_bytes vertex_bytes grids vertices cells <"$TMP/bench_build.txt"

psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d $DB >"$TMP/bench_grid.txt" <<'SQL'
CREATE OR REPLACE FUNCTION pg_temp.seconds(q text, runs int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; best float8 := 'Infinity'; BEGIN
	FOR i IN 1..runs LOOP
		t0 := clock_timestamp();
		EXECUTE q;
		best := least(best, extract(epoch FROM clock_timestamp() - t0));
	END LOOP;
	RETURN best;
END $$;
SELECT count(*) FROM o2o_grid_index_stats();		-- build outside the timing
SELECT 'o2o', (SELECT count(*) FROM o2o.orders),
	   pg_temp.seconds('SELECT count(o2o_grid_of(location)) FROM o2o.orders', 5);
SELECT 'o2o_lonlat', (SELECT count(*) FROM o2o.orders),
	   pg_temp.seconds('SELECT count(o2o_grid_of(ST_X(location), ST_Y(location))) FROM o2o.orders', 3);
-- what a backend developer writes to find one order's grid, run per point:
-- the GiST index on o2o.grid, then ST_Contains on each candidate polygon
SELECT 'postgis_point', (SELECT count(*) FROM o2o.orders),
	   pg_temp.seconds('SELECT count(g.grid_id) FROM o2o.orders o LEFT JOIN LATERAL
						(SELECT grid_id FROM o2o.grid g WHERE ST_Contains(g.geom, o.location)
						  ORDER BY grid_id LIMIT 1) g ON true', 2);
-- the same as one set-wise join, planned freely: PostgreSQL drives it from
-- the polygons through the GiST index on o2o.orders, so that PostGIS tests
-- each polygon against all its points with one cached prepared geometry
SELECT 'postgis_join', (SELECT count(*) FROM o2o.orders),
	   pg_temp.seconds('SELECT count(*) FROM o2o.orders o JOIN o2o.grid g ON ST_Contains(g.geom, o.location)', 2);
-- agreement on the same points: o2o_grid_of against ST_Covers with the lowest grid_id
SELECT 'agree', count(*),
	   count(*) FILTER (WHERE o2o_grid_of(o.location) IS NOT DISTINCT FROM
						(SELECT min(g.grid_id) FROM o2o.grid g WHERE ST_Covers(g.geom, o.location)))
  FROM o2o.orders o;
-- the storefront roll-up, per SKU
SELECT 'rollup', count(*), pg_temp.seconds(
	'SELECT count(*) FROM o2o.product p, o2o_stock_rollup(p.sku)', 3) FROM o2o.product;
SQL

awk -v build_ms="$build_ms" -v ib="$index_bytes" -v vb="$vertex_bytes" -v grids="$grids" \
	-v vertices="$vertices" -v cells="$cells" '
	$1 == "o2o" { n = $2; o2o = $3 }
	$1 == "o2o_lonlat" { ll = $3 }
	$1 == "postgis_point" { pgp = $3 }
	$1 == "postgis_join" { pgj = $3 }
	$1 == "agree" { total = $2; agree = $3 }
	$1 == "rollup" { skus = $2; rollup = $3 }
	END {
		printf "world: %d grids, %d vertices (%.0f per grid), %d index cells\n", grids, vertices, vertices / grids, cells
		printf "%-44s %12.0f points/s\n", "PostGIS per point: GiST + ST_Contains", n / pgp
		printf "%-44s %12.0f points/s\n", "PostGIS set-wise join, as planned", n / pgj
		printf "%-44s %12.0f points/s\n", "o2o_grid_of(geometry)", n / o2o
		printf "%-44s %12.0f points/s\n", "o2o_grid_of(lon, lat)", n / ll
		printf "%-44s %12.1fx  (target >= 50x)\n", "ratio o2o_grid_of / PostGIS per point", pgp / o2o
		printf "%-44s %12.1fx\n", "ratio o2o_grid_of / PostGIS set-wise join", pgj / o2o
		printf "%-44s %12.1f ms  (target <= 250 ms)\n", "index build in a fresh backend", build_ms
		printf "%-44s %12.1f MiB = %.2fx the raw vertex data (%.1f MiB; target <= 2x)\n",
			"index memory", ib / 1048576, ib / vb, vb / 1048576
		printf "%-44s %d of %d (%.3f%%)\n", "agreement with ST_Covers, lowest grid_id", agree, total, 100 * agree / total
		printf "%-44s %12.2f ms per SKU\n", "o2o_stock_rollup(sku)", 1000 * rollup / skus
	}' "$TMP/bench_grid.txt"

say "assignment throughput: pgbench, 20 s per run, synchronous_commit = off, a fresh copy of the world each run"
# the world as generated, kept as a template; every run starts from a fresh copy
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS o2o_bench_run"
psql -X -q -d $DB -v ON_ERROR_STOP=1 <<SQL >/dev/null
\i bench/baseline_assign.sql
CREATE SEQUENCE IF NOT EXISTS bench_order_seq;
SQL
BENCH_SECS=${BENCH_SECS:-20}
cat >"$TMP/bench_o2o.pgbench" <<'PGB'
SELECT o2o_assign(nextval('bench_order_seq'));
PGB
cat >"$TMP/bench_baseline.pgbench" <<'PGB'
SELECT baseline.assign(nextval('bench_order_seq'));
PGB
: >"$TMP/bench_assign.txt"
run_assign() {	# run_assign NAME SCRIPT CLIENTS
	local name=$1 script=$2 clients=$3
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS o2o_bench_run" -c "CREATE DATABASE o2o_bench_run TEMPLATE $DB"
	rm -f "$TMP"/pgbench_log.*
	(cd "$TMP" && PGOPTIONS="$PGOPTIONS -c synchronous_commit=off" "$PGBIN/pgbench" -n -c "$clients" -j "$clients" \
		-T "$BENCH_SECS" -l --log-prefix=pgbench_log -f "$script" o2o_bench_run >"$TMP/pgbench_$name.out" 2>&1) || true
	local tps p50 p99 filled total
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$TMP/pgbench_$name.out")
	read -r p50 p99 < <(cat "$TMP"/pgbench_log.* | awk '{print $3}' | sort -n \
		| awk '{a[NR] = $1} END {printf "%.2f %.2f\n", a[int(NR * 0.5) + 1] / 1000, a[int(NR * 0.99) + 1] / 1000}')
	read -r total filled < <(psql -X -q -At -F ' ' -d o2o_bench_run -c \
		"SELECT count(*), count(*) FILTER (WHERE status = 'assigned') FROM o2o.orders WHERE order_id <= 3000")
	echo "$name $clients ${tps:-0} $p50 $p99 $filled $total" >>"$TMP/bench_assign.txt"
	echo "  $name, $clients client(s): ${tps:-?} tps, p50 $p50 ms, p99 $p99 ms"
}
psql -X -q -d $DB -c "SELECT setval('bench_order_seq', 1, false)" >/dev/null
run_assign o2o "$TMP/bench_o2o.pgbench" 1
run_assign baseline "$TMP/bench_baseline.pgbench" 1
run_assign o2o "$TMP/bench_o2o.pgbench" 4
run_assign baseline "$TMP/bench_baseline.pgbench" 4

# pgbench's built-in TPC-B-like transaction on the same cluster
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS o2o_bench_tpcb" -c "CREATE DATABASE o2o_bench_tpcb"
"$PGBIN/pgbench" -q -i -s 10 o2o_bench_tpcb >/dev/null 2>&1
for clients in 1 4; do
	rm -f "$TMP"/pgbench_log.*
	(cd "$TMP" && PGOPTIONS="$PGOPTIONS -c synchronous_commit=off" "$PGBIN/pgbench" -n -c $clients -j $clients \
		-T "$BENCH_SECS" -l --log-prefix=pgbench_log o2o_bench_tpcb >"$TMP/pgbench_tpcb.out" 2>&1) || true
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$TMP/pgbench_tpcb.out")
	read -r p50 p99 < <(cat "$TMP"/pgbench_log.* | awk '{print $3}' | sort -n \
		| awk '{a[NR] = $1} END {printf "%.2f %.2f\n", a[int(NR * 0.5) + 1] / 1000, a[int(NR * 0.99) + 1] / 1000}')
	echo "tpcb $clients ${tps:-0} $p50 $p99 0 0" >>"$TMP/bench_assign.txt"
	echo "  tpcb, $clients client(s): ${tps:-?} tps, p50 $p50 ms, p99 $p99 ms"
done
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS o2o_bench_run" -c "DROP DATABASE IF EXISTS o2o_bench_tpcb"

echo
awk '
	{ tps[$1 "/" $2] = $3; p50[$1 "/" $2] = $4; p99[$1 "/" $2] = $5; fill[$1 "/" $2] = $6; tot[$1 "/" $2] = $7 }
	END {
		printf "%-40s %10s %9s %9s\n", "", "tps", "p50 ms", "p99 ms"
		n = split("o2o/1 baseline/1 tpcb/1 o2o/4 baseline/4 tpcb/4", keys, " ")
		for (i = 1; i <= n; i++)
			printf "%-40s %10.0f %9.2f %9.2f\n", keys[i], tps[keys[i]], p50[keys[i]], p99[keys[i]]
		printf "%-40s %9.1fx  (target >= 3x)\n", "o2o_assign / PL/pgSQL baseline, 4 clients", tps["o2o/4"] / tps["baseline/4"]
		printf "%-40s %9.1fx\n", "o2o_assign / PL/pgSQL baseline, 1 client", tps["o2o/1"] / tps["baseline/1"]
		printf "%-40s %9.2fx  (target >= 0.7x)\n", "o2o_assign / TPC-B-like, 4 clients", tps["o2o/4"] / tps["tpcb/4"]
		printf "%-40s %9.2fx\n", "o2o_assign / TPC-B-like, 1 client", tps["o2o/1"] / tps["tpcb/1"]
		printf "%-40s %.1f%% vs %.1f%% (orders 1..%d, 1 client)\n", "fill rate o2o_assign vs baseline",
			100 * fill["o2o/1"] / tot["o2o/1"], 100 * fill["baseline/1"] / tot["baseline/1"], tot["o2o/1"]
	}' "$TMP/bench_assign.txt"


# the shared caches on the real-scale world (bench/shared.sh)
echo
say "shared caches: the real-scale world, the server with and without o2o_route preloaded"
BENCH_SKIP_SETUP=1 bash bench/shared.sh

# the stock feed and the stock ledger on the default world (bench/inventory.sh)
echo
say "inventory: a full stock sync, o2o_assign beside it, the ledger's cost"
BENCH_SKIP_SETUP=1 bash bench/inventory.sh

# the storefront's promise on the default world (bench/promise.sh)
echo
say "the promise: o2o_promise beside o2o_assign and a PL/pgSQL + PostGIS promise; a 20-SKU cart"
BENCH_SKIP_SETUP=1 bash bench/promise.sh

# the tracking writes on the default world (bench/tracking.sh): per order,
# o2o_assign alone against o2o_assign + the four o2o_progress steps of its
# delivery, in one transaction and in five; 1 and 4 clients, every order
# checked; and the same in the server alone, in CPU time
echo
say "tracking: o2o_assign alone vs o2o_assign + dispatched, en_route, arrived, installed|delivered"
BENCH_SKIP_SETUP=1 bash bench/tracking.sh
