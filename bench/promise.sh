#!/usr/bin/env bash
# bench/promise.sh (part of make bench): the storefront's promise on the
# default world (seed 42: 1,814 grids, 20,000 dealers, 200,000 orders), in
# copies of it (the world itself is not changed):
#   a) o2o_promise calls/s at 1 and 4 clients, one call per statement, for
#      the SKU, delivery point and quantity of a random order;
#   b) beside it, in the same run: o2o_assign (one order per transaction)
#      and the same promise written in PL/pgSQL + PostGIS
#      (bench/baseline_promise.sql, which agrees with o2o_assign);
#   c) a bulk promise of 20 SKUs to one address (o2o_promise_skus) against
#      a single o2o_promise: what one call of each costs;
#   d) for BI, o2o_promise_places over one point in every grid;
#   e) what bounds a call per statement here: the same statement without the
#      promise (the order's primary-key lookup) at 4 clients; and the cost in
#      the server alone: 5,000 promises in one statement against 5,000
#      o2o_assign calls in one statement (on a fresh copy).
# Every pgbench run uses the extended protocol with prepared statements
# (-M prepared), as a storefront's driver would.  Prints the figures and the
# ratios measured in one run; the machines are shared and noisy, so only the
# ratios are worth comparing.  About 4 minutes.
#
#   BENCH_SECS          pgbench run length (default 20)
#   BENCH_SKIP_SETUP=1  the build, install and cluster are ready (make bench)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"

[ "${BENCH_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh
# (make bench: the part before stopped the cluster on its way out)
bash scripts/cluster.sh start >/dev/null
cluster_env
export PGOPTIONS='-c client_min_messages=warning -c max_parallel_workers_per_gather=0 -c jit=off'
DB=o2o_bench					# the default world, as bench/bench.sh makes it
READ=o2o_bench_promise			# a copy with the baselines and the carts: the promises read it
RUN=o2o_bench_promise_run		# a fresh copy for each o2o_assign run
SECS=${BENCH_SECS:-20}
OUT=$TMP/bench_promise.txt		# "key value..." lines, printed as a table at the end

cleanup() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $RUN WITH (FORCE)" \
		-c "DROP DATABASE IF EXISTS $READ WITH (FORCE)" >/dev/null 2>&1 || true
	bash "$ROOT/scripts/cluster.sh" stop >/dev/null
}
trap cleanup EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

bench_default_world $DB
: >"$OUT"

say "the promise: copies of the default world, the PL/pgSQL + PostGIS baseline, 1,000 carts of 20 SKUs"
q -d postgres -c "DROP DATABASE IF EXISTS $READ" -c "CREATE DATABASE $READ TEMPLATE $DB"
q -d $READ >/dev/null <<SQL
\i bench/baseline_assign.sql
\i bench/baseline_promise.sql
CREATE TABLE bench_carts AS
SELECT c AS cart_id, ARRAY(SELECT sku FROM o2o.product ORDER BY md5(sku || c) LIMIT 20) AS skus
  FROM generate_series(1, 1000) c;
ALTER TABLE bench_carts ADD PRIMARY KEY (cart_id);
VACUUM ANALYZE bench_carts;
SQL
read -r products orders < <(q -F ' ' -d $READ -c "SELECT (SELECT count(*) FROM o2o.product), (SELECT count(*) FROM o2o.orders)")
echo "world $products $orders" >>"$OUT"

cat >"$TMP/bench_promise.pgbench" <<'PGB'
\set id random(1, 200000)
SELECT p.* FROM o2o.orders o, o2o_promise(o.sku, o.location, o.qty) p WHERE o.order_id = :id;
PGB
cat >"$TMP/bench_promise_baseline.pgbench" <<'PGB'
\set id random(1, 200000)
SELECT p.* FROM o2o.orders o, baseline.promise(o.sku, o.location, o.qty) p WHERE o.order_id = :id;
PGB
cat >"$TMP/bench_promise_bulk.pgbench" <<'PGB'
\set id random(1, 200000)
\set cart random(1, 1000)
SELECT p.* FROM o2o.orders o, bench_carts c, o2o_promise_skus(o.location, c.skus) p
 WHERE o.order_id = :id AND c.cart_id = :cart;
PGB
cat >"$TMP/bench_promise_floor.pgbench" <<'PGB'
\set id random(1, 200000)
SELECT o.sku, o.location, o.qty FROM o2o.orders o WHERE o.order_id = :id;
PGB
cat >"$TMP/bench_promise_assign.pgbench" <<'PGB'
SELECT o2o_assign(nextval('bench_order_seq'));
PGB

# pgbench_run NAME SCRIPT DB CLIENTS -> "tps p50_ms p99_ms failed"
pgbench_run() {
	local name=$1 script=$2 db=$3 clients=$4 tps failed p50 p99
	rm -f "$TMP"/pgbench_pr_log.*
	(cd "$TMP" && PGOPTIONS="$PGOPTIONS -c synchronous_commit=off" "$PGBIN/pgbench" -n -M prepared -c "$clients" \
		-j "$clients" -T "$SECS" -l --log-prefix=pgbench_pr_log -f "$script" "$db" >"$TMP/pgbench_pr_$name.out" 2>&1) || true
	read -r p50 p99 < <(cat "$TMP"/pgbench_pr_log.* | awk '{print $3}' | sort -n \
		| awk '{a[NR] = $1} END {printf "%.3f %.3f\n", a[int(NR * 0.5) + 1] / 1000, a[int(NR * 0.99) + 1] / 1000}')
	rm -f "$TMP"/pgbench_pr_log.*
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$TMP/pgbench_pr_$name.out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$TMP/pgbench_pr_$name.out")
	failed=$((${failed:-0} + $(grep -c 'aborted' "$TMP/pgbench_pr_$name.out" || true)))
	printf '%.0f %s %s %s\n' "${tps:-0}" "$p50" "$p99" "$failed"
}

# the promise's answers on this world: how many are deliverable, from a neighbouring grid, within 3 days
q -F ' ' -d $READ >>"$OUT" <<'SQL'
SELECT 'answers', count(*), count(*) FILTER (WHERE p.deliverable), count(*) FILTER (WHERE p.deliverable AND NOT p.same_grid),
	   count(*) FILTER (WHERE p.promised_date <= current_date + 3)
  FROM (SELECT * FROM o2o.orders ORDER BY order_id LIMIT 5000) o, o2o_promise(o.sku, o.location, o.qty) p;
SQL

say "pgbench, $SECS s per run, -M prepared"
for clients in 1 4; do
	for who in promise baseline bulk; do
		case $who in
			promise) script=$TMP/bench_promise.pgbench ;;
			baseline) script=$TMP/bench_promise_baseline.pgbench ;;
			bulk) script=$TMP/bench_promise_bulk.pgbench ;;
		esac
		read -r tps p50 p99 failed < <(pgbench_run "$who$clients" "$script" $READ $clients)
		echo "run $who $clients $tps $p50 $p99 $failed" >>"$OUT"
		echo "  $who, $clients client(s): $tps calls/s, p50 $p50 ms, p99 $p99 ms; $failed failed"
	done
	# o2o_assign on a fresh copy: one order per transaction, the orders in turn
	q -d postgres -c "DROP DATABASE IF EXISTS $RUN" -c "CREATE DATABASE $RUN TEMPLATE $DB"
	q -d $RUN -c "CREATE SEQUENCE bench_order_seq" >/dev/null
	read -r tps p50 p99 failed < <(pgbench_run "assign$clients" "$TMP/bench_promise_assign.pgbench" $RUN $clients)
	echo "run assign $clients $tps $p50 $p99 $failed" >>"$OUT"
	echo "  o2o_assign, $clients client(s): $tps calls/s, p50 $p50 ms, p99 $p99 ms; $failed failed"
done
read -r tps p50 p99 failed < <(pgbench_run floor4 "$TMP/bench_promise_floor.pgbench" $READ 4)
echo "run floor 4 $tps $p50 $p99 $failed" >>"$OUT"
echo "  the statement without the promise, 4 clients: $tps calls/s"

# in the server alone: 5,000 calls in one statement (promises: best of 3; assignments: a fresh copy)
q -F ' ' -d $READ >>"$OUT" <<'SQL'
CREATE TEMP TABLE five AS SELECT * FROM o2o.orders ORDER BY order_id LIMIT 5000;
CREATE FUNCTION pg_temp.ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp(); BEGIN EXECUTE q; RETURN 1000 * extract(epoch FROM clock_timestamp() - t0); END $$;
SELECT 'inserver_promise', least(pg_temp.ms(q), pg_temp.ms(q), pg_temp.ms(q))
  FROM (SELECT 'SELECT count(p.deliverable) FROM five o, o2o_promise(o.sku, o.location, o.qty) p' AS q) x;
SQL
q -d postgres -c "DROP DATABASE IF EXISTS $RUN" -c "CREATE DATABASE $RUN TEMPLATE $DB"
q -F ' ' -d $RUN >>"$OUT" <<'SQL'
CREATE TEMP TABLE t AS SELECT clock_timestamp() AS t0;
SELECT count(o2o_assign(order_id)) FROM (SELECT order_id FROM o2o.orders ORDER BY order_id LIMIT 5000) o \g /dev/null
SELECT 'inserver_assign', 1000 * extract(epoch FROM clock_timestamp() - (SELECT t0 FROM t));
SQL
q -d postgres -c "DROP DATABASE IF EXISTS $RUN"

# BI: one point inside every grid, one SKU, in one call; the share within 3 days by province
q -F ' ' -d $READ >>"$OUT" <<'SQL'
CREATE TEMP TABLE pts AS SELECT grid_id, province, ST_PointOnSurface(geom) AS p FROM o2o.grid ORDER BY grid_id;
CREATE TEMP TABLE t AS SELECT clock_timestamp() AS t0;
CREATE TEMP TABLE r AS
SELECT x.province, p.* FROM (SELECT array_agg(p ORDER BY grid_id) AS ps, array_agg(province ORDER BY grid_id) AS pr FROM pts) a,
	   o2o_promise_places((SELECT min(sku) FROM o2o.product WHERE needs_install), a.ps) p,
	   LATERAL (SELECT a.pr[p.place] AS province) x;
SELECT 'places', count(*), 1000 * extract(epoch FROM clock_timestamp() - (SELECT t0 FROM t)),
	   count(*) FILTER (WHERE deliverable AND promised_date <= current_date + 3),
	   count(DISTINCT province) FROM r;
SQL

# ---------------------------------------------------------------------------
echo
awk '
	$1 == "world" { products = $2; orders = $3 }
	$1 == "answers" { n = $2; del = $3; cross = $4; in3 = $5 }
	$1 == "run" { tps[$2 "/" $3] = $4; p50[$2 "/" $3] = $5 }
	$1 == "places" { pn = $2; pms = $3; p3 = $4; prov = $5 }
	$1 == "inserver_promise" { ip = $2 }
	$1 == "inserver_assign" { ia = $2 }
	END {
		printf "%-58s %s SKUs, %s orders\n", "world", products, orders
		printf "%-58s %d of %d deliverable, %d from a neighbouring grid, %d within 3 days\n",
			"o2o_promise for the first orders", del, n, cross, in3
		printf "%-58s %12s %12s\n", "calls/s", "1 client", "4 clients"
		printf "%-58s %12.0f %12.0f\n", "o2o_promise", tps["promise/1"], tps["promise/4"]
		printf "%-58s %12.0f %12.0f\n", "o2o_assign (one order per transaction)", tps["assign/1"], tps["assign/4"]
		printf "%-58s %12.0f %12.0f\n", "PL/pgSQL + PostGIS promise (bench/baseline_promise.sql)", tps["baseline/1"], tps["baseline/4"]
		printf "%-58s %12.0f %12.0f\n", "o2o_promise_skus, 20 SKUs per call", tps["bulk/1"], tps["bulk/4"]
		printf "%-58s %11.1fx %11.1fx  (target >= 10x at 4)\n", "o2o_promise / o2o_assign", tps["promise/1"] / tps["assign/1"],
			tps["promise/4"] / tps["assign/4"]
		printf "%-58s %11.1fx %11.1fx  (target >= 10x)\n", "o2o_promise / PL/pgSQL + PostGIS promise",
			tps["promise/1"] / tps["baseline/1"], tps["promise/4"] / tps["baseline/4"]
		printf "%-58s %11.1fx %11.1fx  (target <= 5x)\n", "one 20-SKU o2o_promise_skus call / one o2o_promise call",
			tps["promise/1"] / tps["bulk/1"], tps["promise/4"] / tps["bulk/4"]
		printf "%-58s %12.3f %12.3f\n", "p50 latency, ms: o2o_promise, 1 client / 4 clients", p50["promise/1"], p50["promise/4"]
		printf "%-58s %25.0f  (o2o_promise reaches %.0f%% of it)\n", "the same statement without the promise, 4 clients",
			tps["floor/4"], 100 * tps["promise/4"] / tps["floor/4"]
		printf "%-58s %12.0f %12.0f  (%.1fx)\n", "in the server alone, calls/s: o2o_promise, o2o_assign",
			5000 / (ip / 1000), 5000 / (ia / 1000), ia / ip
		printf "%-58s %d points in %.0f ms (%.0f points/s); %d grids within 3 days, %d provinces\n",
			"o2o_promise_places, one point per grid", pn, pms, pn / (pms / 1000), p3, prov
	}' "$OUT"
