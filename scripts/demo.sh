#!/usr/bin/env bash
# make demo: set up, generate the default country into database o2o_demo and
# show what is in it.  The cluster keeps running afterwards so that you can
# look around with psql; `make stop` stops it.  It ends by drawing the coverage
# map of the routed world (scripts/map.sh, as `make map`).
# Sizes can be changed: DEMO_SEED, DEMO_GRIDS, DEMO_DEALERS, DEMO_ORDERS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

bash scripts/setup.sh
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
\i test/fixtures/worldgen.sql
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

say "routing every order: o2o_assign_pending in batches of 2,000"
t0=$(date +%s)
n=1
while [ "$n" != 0 ]; do
	n=$(psql -X -q -At -d $DB -c "SELECT o2o_assign_pending(2000)")
done
t1=$(date +%s)
total=$(psql -X -q -At -d $DB -c "SELECT count(*) FROM o2o.orders")
echo "routed $total orders in $(( t1 - t0 )) s ($(( (t1 - t0) * 1000000 / (total > 0 ? total : 1) )) µs an order, one session)"

psql -X -d $DB -v ON_ERROR_STOP=1 <<'SQL'
\pset footer off
\echo 'fill rate, in-grid share, distances'
SELECT count(*) AS orders,
	   count(*) FILTER (WHERE status = 'assigned') AS assigned,
	   count(*) FILTER (WHERE status = 'unassignable') AS unassignable,
	   round(100.0 * count(*) FILTER (WHERE status = 'assigned') / count(*), 1) AS "fill rate %",
	   (SELECT round(100.0 * count(*) FILTER (WHERE NOT cross_grid) / count(*), 1)
		  FROM o2o.assignment WHERE state = 'active') AS "served in-grid %",
	   (SELECT round(avg(distance_m)::numeric / 1000, 1) FROM o2o.assignment WHERE state = 'active') AS "mean km",
	   (SELECT round((percentile_cont(0.95) WITHIN GROUP (ORDER BY distance_m))::numeric / 1000, 1)
		  FROM o2o.assignment WHERE state = 'active') AS "p95 km"
  FROM o2o.orders;
\echo 'why orders could not be served'
SELECT CASE WHEN status_reason LIKE 'no dealer can serve%' THEN 'no dealer can serve (stock, radius, slots)'
			ELSE status_reason END AS reason, count(*)
  FROM o2o.orders WHERE status = 'unassignable' GROUP BY 1 ORDER BY 2 DESC;
\echo 'installer load fairness (Jain''s index over booked share of capacity, o2o_fairness)'
SELECT round(o2o_fairness(coalesce(b.booked, 0)::float8 / (i.daily_capacity * 15))::numeric, 3) AS "all active installers",
	   round(o2o_fairness(b.booked::float8 / (i.daily_capacity * 15)) FILTER (WHERE b.booked > 0)::numeric, 3) AS "installers with jobs",
	   count(*) FILTER (WHERE b.booked > 0) AS "installers with jobs (n)"
  FROM o2o.installer i
  LEFT JOIN (SELECT installer_id, sum(booked) AS booked FROM o2o.installer_day GROUP BY 1) b USING (installer_id)
 WHERE i.active;
\echo 'promised dates (days after today)'
SELECT promised_date - current_date AS "in days", count(*) AS orders,
	   repeat('#', (60 * count(*) / max(count(*)) OVER ())::int) AS bar
  FROM o2o.orders WHERE status = 'assigned' GROUP BY 1 ORDER BY 1;
\echo 'the best dealer per grid by stock on hand (o2o_best) for one popular model, first grids'
SELECT d.grid_id, o2o_best(d.dealer_id, s.on_hand - s.reserved) AS best_dealer,
	   o2o_topk(d.dealer_id, s.on_hand - s.reserved, 3) AS top3
  FROM o2o.stock s JOIN o2o.dealer d USING (dealer_id)
 WHERE s.sku = 'FR-001' AND d.active GROUP BY d.grid_id ORDER BY d.grid_id LIMIT 5;

\echo 'one order''s explanation (the first assigned air conditioner)'
SELECT o.order_id, o.sku, a.dealer_id, a.installer_id, a.install_day, o.promised_date,
	   jsonb_pretty(a.detail) AS detail
  FROM o2o.orders o JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state = 'active'
 WHERE o.sku LIKE 'AC-%' ORDER BY o.order_id LIMIT 1 \gx

\echo 'a dealer declines that order: it is re-routed to the next best'
SELECT order_id AS demo_order FROM o2o.assignment
 WHERE state = 'active' AND installer_id IS NOT NULL ORDER BY order_id LIMIT 1 \gset
SELECT rank, dealer_id, round(distance_m) AS distance_m, available, installer_id, round(score::numeric, 3) AS score
  FROM o2o_candidates(:demo_order, 3) WHERE eligible;
SELECT o2o_decline(:demo_order, 'no installer free this week') AS new_dealer;
SELECT event, status, detail->>'dealer_id' AS dealer, at::time(0)
  FROM o2o.order_event WHERE order_id = :demo_order ORDER BY event_id;

\echo 'one national price: an order at another price is refused'
SELECT sku, unit_price, o2o_national_price(sku, created_at) AS national FROM o2o.orders WHERE order_id = :demo_order;
\set ON_ERROR_STOP off
INSERT INTO o2o.orders (sku, location, unit_price)
SELECT sku, location, unit_price + 100 FROM o2o.orders WHERE order_id = :demo_order;
\set ON_ERROR_STOP on

\echo 'completing 2,000 deliveries: stock consumed, settlement written (parts add up to the amount paid)'
SELECT count(*) AS completed FROM (SELECT o2o_complete(order_id) FROM o2o.orders
									WHERE status = 'assigned' ORDER BY order_id LIMIT 2000) x;
SELECT party, count(*) AS rows, sum(amount) AS amount FROM o2o.settlement GROUP BY party ORDER BY party;
SELECT sum(o.unit_price * o.qty) AS paid, (SELECT sum(amount) FROM o2o.settlement) AS settled
  FROM o2o.orders o WHERE o.status = 'completed';
\echo 'the five best-earning dealers this month (o2o.dealer_earnings_monthly)'
SELECT dealer_id, as_fulfiller, as_installer, as_origin_store, total, orders
  FROM o2o.dealer_earnings_monthly ORDER BY total DESC, dealer_id LIMIT 5;

\echo 'the stores of the first province count their shelves: their counts go into the feed, one call applies them'
\echo '(a sale or two over the counter since the last sync; a count below what online orders reserved releases the newest)'
INSERT INTO o2o.stock_feed (dealer_id, sku, on_hand, source)
SELECT s.dealer_id, s.sku, greatest(s.on_hand - (hashtext(s.dealer_id || s.sku) & 3), 0), 'demo stocktake'
  FROM o2o.stock s JOIN o2o.dealer d USING (dealer_id) WHERE d.region_id = 1;
CALL o2o_stock_apply(full_sync => true);
SELECT outcome, count(*) AS rows FROM o2o.stock_feed GROUP BY 1 ORDER BY 1;
SELECT dealer_id, day, skus, orders_released, units_released FROM o2o.stock_shortfalls ORDER BY orders_released DESC, dealer_id LIMIT 5;
\echo 'the released orders are routed again on the new counts'
SELECT o2o_assign_pending(10000) AS rerouted;
\echo 'every change of stock is on the ledger, and the ledger sums to the stock'
SELECT kind, count(*) AS entries, sum(d_on_hand) AS on_hand, sum(d_reserved) AS reserved
  FROM o2o.stock_ledger GROUP BY kind ORDER BY kind;
SELECT count(*) AS "stock rows whose ledger does not sum to them"
  FROM o2o.stock s
  LEFT JOIN (SELECT dealer_id, sku, sum(d_on_hand) AS a, sum(d_reserved) AS b FROM o2o.stock_ledger GROUP BY 1, 2) l
	USING (dealer_id, sku)
 WHERE s.on_hand <> coalesce(l.a, 0) OR s.reserved <> coalesce(l.b, 0);

\echo 'the storefront asks before anyone orders: a cart of three models to one address (what o2o_assign would do)'
SELECT line, sku, qty, deliverable, promised_date, same_grid, dealer_id, reason
  FROM o2o_promise_skus((SELECT location FROM o2o.orders ORDER BY order_id LIMIT 1),
						ARRAY(SELECT sku FROM o2o.product ORDER BY sku LIMIT 3), '{1,2,1}');
\echo 'the share of grids where the first air conditioner can be installed within 3 days, by province (one call)'
WITH g AS (SELECT array_agg(grid_id ORDER BY grid_id) AS ids,
				  array_agg(ST_PointOnSurface(geom) ORDER BY grid_id) AS points FROM o2o.grid)
SELECT x.province, count(*) AS grids,
	   round(avg((p.deliverable AND p.promised_date <= current_date + 3)::int), 2) AS within_3_days
  FROM g CROSS JOIN LATERAL o2o_promise_places((SELECT min(sku) FROM o2o.product WHERE category = 'ac'), g.points) p
  JOIN o2o.grid x ON x.grid_id = g.ids[p.place]
 GROUP BY 1 ORDER BY 3, 1 LIMIT 5;
\echo 'a checkout holds the unit and slot for 15 minutes; the order placed with the hold gets them'
SELECT o.order_id AS like_order, o2o_hold(o.sku, o.location, o.qty, '15 minutes') AS hold_id
  FROM o2o.orders o, o2o_promise(o.sku, o.location, o.qty) p WHERE p.deliverable ORDER BY o.order_id LIMIT 1 \gset
INSERT INTO o2o.orders (sku, qty, location, address, hold_id)
SELECT sku, qty, location, 'demo checkout', :hold_id FROM o2o.orders WHERE order_id = :like_order
RETURNING order_id AS held_order \gset
SELECT o2o_assign(:held_order) AS dealer;
SELECT h.hold_id, h.state, h.dealer_id, o.promised_date, h.promised_date AS held_date, a.detail->'hold_id' AS assignment_from_hold
  FROM o2o.hold h JOIN o2o.orders o ON o.order_id = h.order_id JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state = 'active'
 WHERE h.hold_id = :hold_id;

\echo 'tracking: the first 300 installations go out; one in ten fails (nobody home) and is rescheduled'
SELECT count(*) AS dispatched FROM (
	SELECT o2o_progress(o.order_id, 'dispatched') AS s
	  FROM o2o.orders o JOIN o2o.product p USING (sku)
	 WHERE o.status = 'assigned' AND p.needs_install ORDER BY o.order_id LIMIT 300) x;
SELECT count(*) AS en_route FROM (
	SELECT o2o_progress(a.order_id, 'en_route', eta_from => o.promised_date + w.starts + interval '30 minutes',
						eta_to => o.promised_date + w.starts + interval '90 minutes')
	  FROM o2o.assignment a JOIN o2o.orders o USING (order_id)
	  JOIN o2o_time_windows() w ON w.time_window = o.promised_window
	 WHERE a.state = 'active' AND a.progress = 'dispatched' ORDER BY a.order_id) x;
SELECT count(*) AS failed FROM (
	SELECT o2o_progress(order_id, 'failed', reason => 'nobody home') FROM o2o.assignment
	 WHERE state = 'active' AND progress = 'en_route' AND order_id % 10 = 3 ORDER BY order_id) x;
-- the buyer takes the first day from the day after tomorrow on with room (O2013: that day is full)
CREATE FUNCTION pg_temp.first_free_day(id bigint) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	FOR d IN 2 .. 14 LOOP
		BEGIN
			PERFORM o2o_progress(id, 'rescheduled', day => current_date + d);
			RETURN d;
		EXCEPTION WHEN SQLSTATE 'O2013' THEN
			NULL;
		END;
	END LOOP;
	RETURN NULL;
END
$$;
SELECT count(d) AS rescheduled, round(avg(d), 1) AS "days ahead, on average", count(*) - count(d) AS "no room within 2 weeks"
  FROM (SELECT pg_temp.first_free_day(order_id) AS d FROM o2o.assignment
		 WHERE state = 'active' AND progress = 'failed' ORDER BY order_id) x;
SELECT count(*) AS installed FROM (
	SELECT o2o_progress(order_id, 'arrived'), o2o_progress(order_id, 'installed'), o2o_complete(order_id)
	  FROM o2o.assignment WHERE state = 'active' AND progress = 'en_route' ORDER BY order_id) x;
\echo 'the tracking page of one of them (o2o_track, shortened)'
SELECT t->>'status' AS status, t->>'progress' AS progress, t->>'promised_date' AS promised_date,
	   t->>'promised_window' AS "window", t->'dealer'->>'name' AS dealer, t->'installer'->>'name' AS installer,
	   (SELECT string_agg(s->>'event', ' → ' ORDER BY (s->>'seq')::int) FROM jsonb_array_elements(t->'steps') s) AS steps
  FROM (SELECT o2o_track(min(order_id)) AS t FROM o2o.assignment WHERE state = 'active' AND attempts > 0) x;
\echo 'jeopardy: the busiest installer leaves; its jobs move to a colleague (same day and window) or are re-routed'
SELECT installer_id AS leaving FROM o2o.assignment WHERE state = 'active' AND installer_id IS NOT NULL
 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 \gset
UPDATE o2o.installer SET active = false WHERE installer_id = :leaving;
SELECT e.event, count(*) AS orders FROM o2o.order_event e
 WHERE e.event IN ('moved', 'jeopardy') AND e.detail->>'reason' = format('installer %s deactivated', :leaving)
 GROUP BY 1 ORDER BY 1;
SELECT risk, count(*) AS orders FROM o2o.orders_at_risk GROUP BY 1 ORDER BY 2 DESC;
\echo 'promises kept: installed by the end of the window first promised (the BI view o2o.promises_kept)'
SELECT orders, kept, kept_share FROM o2o.promises_kept WHERE province IS NULL;
SELECT count(*) AS "invariant violations (o2o.invariant_violations)" FROM o2o.invariant_violations;
SQL

say "the coverage map (make map): units of AC-001 available per grid, holes hatched"
DB=$DB SKU= CATEGORY= MEASURE=units bash scripts/map.sh
echo "Another: make map SKU=<sku> or CATEGORY=<category>, MEASURE=units|fill|in_grid (see the README, Coverage map)"

cat <<EOF

The cluster is still running. Look around with:
    psql -h '$PGHOST' -p $PGPORT -U $PGUSER $DB
Stop it with:
    make stop
EOF
