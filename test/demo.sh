#!/usr/bin/env bash
# make demo: set up, generate the default country into database o2o_demo and
# show what is in it.  The cluster keeps running afterwards so that you can
# look around with psql; `make stop` stops it.
# Sizes can be changed: DEMO_SEED, DEMO_GRIDS, DEMO_DEALERS, DEMO_ORDERS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

bash test/setup.sh
cluster_env
DB=o2o_demo
seed=${DEMO_SEED:-42}
grids=${DEMO_GRIDS:-1800}
dealers=${DEMO_DEALERS:-20000}
orders=${DEMO_ORDERS:-200000}

say "creating database $DB and the extension"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -d $DB -c "SET client_min_messages = warning" -c "CREATE EXTENSION o2o_route CASCADE"
psql -X -q -d $DB -Atc "SELECT 'o2o_route ' || o2o_route_version() || ' on ' || version()"

say "generating the country (seed $seed: $grids grids, $dealers dealers, $orders orders) — about a minute or two"
psql -X -q -v ON_ERROR_STOP=1 -d $DB <<SQL
\i test/worldgen.sql
SELECT o2o_gen.build($seed, n_grids => $grids, n_dealers => $dealers, n_orders => $orders);
SQL

say "what is in it"
psql -X -d $DB -v ON_ERROR_STOP=1 <<'SQL'
\pset footer off
SELECT t AS "table", n AS "rows"
  FROM (VALUES (1, 'o2o.grid', (SELECT count(*) FROM o2o.grid)),
			   (2, 'o2o.dealer', (SELECT count(*) FROM o2o.dealer)),
			   (3, 'o2o.product', (SELECT count(*) FROM o2o.product)),
			   (4, 'o2o.national_price', (SELECT count(*) FROM o2o.national_price)),
			   (5, 'o2o.stock', (SELECT count(*) FROM o2o.stock)),
			   (6, 'o2o.installer', (SELECT count(*) FROM o2o.installer)),
			   (7, 'o2o.orders', (SELECT count(*) FROM o2o.orders)),
			   (8, 'o2o.assignment', (SELECT count(*) FROM o2o.assignment)),
			   (9, 'o2o.order_event', (SELECT count(*) FROM o2o.order_event))) v(o, t, n)
 ORDER BY o;

SELECT count(*) AS grids, round(avg(ST_NPoints(geom))) AS "avg vertices per grid",
	   count(DISTINCT region_id) AS provinces, count(DISTINCT (region_id, city)) AS cities,
	   count(DISTINCT (region_id, city, county)) AS counties,
	   count(*) FILTER (WHERE climate = 'north') AS "north grids",
	   count(*) FILTER (WHERE climate = 'south') AS "south grids",
	   round(sum(ST_Area(geom::geography)) / 1e6) AS "area km2"
  FROM o2o.grid;

\echo 'grids and dealers per province'
SELECT g.region_id AS region, g.province, count(*) AS grids,
	   coalesce(sum(d.dealers), 0) AS dealers,
	   count(*) FILTER (WHERE coalesce(d.dealers, 0) = 0) AS "grids without dealer",
	   g.climate
  FROM o2o.grid g
  LEFT JOIN (SELECT grid_id, count(*) AS dealers FROM o2o.dealer GROUP BY grid_id) d USING (grid_id)
 GROUP BY g.region_id, g.province, g.climate
 ORDER BY g.region_id, g.climate;

\echo 'dealers'
SELECT kind, count(*) AS dealers, count(*) FILTER (WHERE active) AS active,
	   round(avg(service_radius_m) / 1000) AS "avg radius km"
  FROM o2o.dealer GROUP BY kind ORDER BY kind;

\echo 'stock units by category'
SELECT p.category, count(DISTINCT s.dealer_id) AS dealers, sum(s.on_hand) AS on_hand,
	   sum(s.reserved) AS reserved, sum(s.on_hand - s.reserved) AS available,
	   count(*) FILTER (WHERE s.on_hand = 0) AS "rows out of stock"
  FROM o2o.stock s JOIN o2o.product p USING (sku)
 GROUP BY p.category ORDER BY p.category;

\echo 'installers by skill'
SELECT skill, count(*) AS installers, sum(daily_capacity) AS "daily jobs",
	   count(DISTINCT dealer_id) AS dealers
  FROM o2o.installer, unnest(skills) AS skill
 WHERE active GROUP BY skill ORDER BY skill;

\echo 'orders'
SELECT count(*) AS orders, count(*) FILTER (WHERE status = 'pending') AS pending,
	   count(*) FILTER (WHERE origin_dealer_id IS NOT NULL) AS "via a store QR code",
	   count(*) FILTER (WHERE grid_id IS NULL) AS "outside every grid",
	   sum(qty) AS units, sum(qty * unit_price) AS "value (CNY)",
	   min(created_at)::date AS "first", max(created_at)::date AS "last"
  FROM o2o.orders;

\echo 'grid lookup in C (o2o_grid_of): the index of this backend'
SELECT grids, vertices, cells, round(index_bytes / 1048576.0, 1) AS "index MiB",
	   round(index_bytes::numeric / vertex_bytes, 2) AS "x raw vertices", round(build_ms) AS "build ms"
  FROM o2o_grid_index_stats();
\echo 'the grid of every order; geocodes just off the border go to the nearest grid within 5 km'
SELECT count(*) AS orders, count(o2o_grid_of(location)) AS "in a grid",
	   count(*) FILTER (WHERE o2o_grid_of(location) IS NULL
						  AND o2o_grid_nearest(location, 5000) IS NOT NULL) AS "outside, a grid within 5 km",
	   count(*) FILTER (WHERE o2o_grid_nearest(location, 5000) IS NULL) AS "farther out"
  FROM o2o.orders;

\echo 'coverage holes (o2o.grid_holes): grids that nobody inside can supply, by category'
SELECT category, count(*) FILTER (WHERE reason = 'no active dealer') AS "no active dealer",
	   count(*) FILTER (WHERE reason = 'no stock') AS "no stock"
  FROM o2o.grid_holes GROUP BY category ORDER BY category;
\echo 'where AC-001 is available (o2o_stock_rollup), first provinces and cities'
SELECT level, province, city, dealers, units_available FROM o2o_stock_rollup('AC-001')
 WHERE level <> 'county' LIMIT 8;
SQL

cat <<EOF

The cluster is still running. Look around with:
    psql -h '$PGHOST' -p $PGPORT -U $PGUSER $DB
Stop it with:
    make stop
EOF
