-- stands alone: make installcheck REGRESS=routing
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- o2o_assign on a generated world, checked against what it must equal:
--  * the dealer it picks and the runners-up it records are the first of
--    o2o_candidates (which reads and scores every dealer of the grid and
--    around it) when nothing is truncated -- though it reads the installers
--    and bookings only of dealers whose score can still make the top;
--  * with o2o_route.max_candidates = 3 the dealers of other grids it weighs are
--    the 3 nearest holding the units, found by brute force in SQL -- the
--    search that skips grids too far away to matter loses none of them.
\set ECHO none
\i test/fixtures/worldgen.sql
\set ECHO all
SET client_min_messages = warning;
SELECT o2o_gen.build(11, n_grids => 60, n_dealers => 900, n_orders => 2000);
RESET client_min_messages;
SET extra_float_digits = 0;

-- the same great-circle distance as o2o_assign (mean Earth radius)
CREATE FUNCTION pg_temp.meters(a geometry, b geometry) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	SELECT 2 * 6371008.8 * asin(least(1, sqrt(
		sin(radians(ST_Y(b) - ST_Y(a)) / 2) ^ 2
		+ cos(radians(ST_Y(a))) * cos(radians(ST_Y(b))) * sin(radians(ST_X(b) - ST_X(a)) / 2) ^ 2)))
$$;

-- 1. fast path = full explanation, order after order (each assignment changes
-- stock and bookings for the next), under every cross-grid policy: the winner
-- and the runners-up it records are the first of o2o_candidates (under
-- fallback, of the winner's side: in-grid dealers are weighed alone first)
SET o2o_route.max_candidates = 10000;
CREATE TABLE pg_temp.agree (policy text, orders int, assigned int, same int);
DO $$
DECLARE
	p text;
	o bigint;
	expected int[];
	got int[];
	n int; a int; s int;
BEGIN
	FOREACH p IN ARRAY ARRAY['never', 'fallback', 'free'] LOOP
		PERFORM set_config('o2o_route.cross_grid', p, false);
		n := 0; a := 0; s := 0;
		FOR o IN SELECT order_id FROM o2o.orders
				  WHERE status = 'pending' AND order_id % 3 = array_position(ARRAY['never', 'fallback', 'free'], p) - 1
				  ORDER BY order_id LIMIT 150 LOOP
			CREATE TEMP TABLE ranked AS SELECT rank, dealer_id, same_grid FROM o2o_candidates(o, 20) WHERE eligible;
			PERFORM o2o_assign(o);
			got := ARRAY(SELECT (c->>'dealer_id')::int
						   FROM o2o.assignment x,
								jsonb_array_elements(jsonb_build_array(x.detail->'winner') || (x.detail->'runners_up'))
								WITH ORDINALITY AS e(c, i)
						  WHERE x.order_id = o AND x.state = 'active' ORDER BY i);
			expected := ARRAY(SELECT dealer_id FROM ranked
							   WHERE p <> 'fallback' OR same_grid = (SELECT same_grid FROM ranked WHERE rank = 1)
							   ORDER BY rank LIMIT 4);
			DROP TABLE ranked;
			n := n + 1;
			a := a + (cardinality(got) > 0)::int;
			s := s + (got = expected)::int;
		END LOOP;
		INSERT INTO pg_temp.agree VALUES (p, n, a, s);
	END LOOP;
END $$;
SELECT policy, orders, assigned > orders / 2 AS most_assigned, orders - same AS disagreements FROM pg_temp.agree;
RESET o2o_route.cross_grid;

-- 2. the nearest max_candidates of other grids, for 1 and for 3
SET o2o_route.cross_grid = 'free';
CREATE TABLE pg_temp.nearest (k int, orders int, weighed int, wrong int);
DO $$
DECLARE
	k int;
	o record;
	nearest int[];
	weighed int[];
	n int; w int; bad int;
	dlat constant float8 := 60000 / (6371008.8 * pi() / 180);
BEGIN
	FOREACH k IN ARRAY ARRAY[1, 3] LOOP
		PERFORM set_config('o2o_route.max_candidates', k::text, false);
		n := 0; w := 0; bad := 0;
		FOR o IN SELECT order_id, sku, qty, location, grid_id FROM o2o.orders
				  WHERE status = 'pending' AND grid_id IS NOT NULL ORDER BY order_id LIMIT 200 LOOP
			-- brute force: active dealers of other grids in the box with the units, nearest first
			nearest := ARRAY(
				SELECT d.dealer_id FROM o2o.dealer d JOIN o2o.stock s ON s.dealer_id = d.dealer_id AND s.sku = o.sku
				 WHERE d.active AND d.grid_id <> o.grid_id AND s.on_hand - s.reserved >= o.qty
				   AND ST_Y(d.location) BETWEEN ST_Y(o.location) - dlat AND ST_Y(o.location) + dlat
				   AND ST_X(d.location) BETWEEN ST_X(o.location) - dlat / cos(radians(ST_Y(o.location)))
											AND ST_X(o.location) + dlat / cos(radians(ST_Y(o.location)))
				 ORDER BY pg_temp.meters(o.location, d.location), d.dealer_id LIMIT k);
			PERFORM o2o_assign(o.order_id);
			-- the other grids' dealers the assignment weighed: winner and runners-up
			weighed := ARRAY(
				SELECT (c->>'dealer_id')::int
				  FROM o2o.assignment a,
					   jsonb_array_elements(jsonb_build_array(a.detail->'winner') || (a.detail->'runners_up')) c
				 WHERE a.order_id = o.order_id AND NOT (c->>'same_grid')::boolean);
			n := n + 1;
			w := w + coalesce(cardinality(weighed), 0);
			bad := bad + (NOT weighed <@ nearest)::int;
		END LOOP;
		INSERT INTO pg_temp.nearest VALUES (k, n, w, bad);
	END LOOP;
END $$;
SELECT k, orders, weighed >= orders / 2 AS many_weighed, wrong FROM pg_temp.nearest;
RESET o2o_route.cross_grid;
RESET o2o_route.max_candidates;

-- leave the database empty for the next test
SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule RESTART IDENTITY CASCADE;
