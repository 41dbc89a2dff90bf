-- stands alone: make installcheck REGRESS=assign
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- o2o_candidates, o2o_assign and the life cycle: ranking, filters, policies,
-- reservations, installer slots, idempotence, errors, invariants.
\set SHOW_CONTEXT never
SET extra_float_digits = 0;

-- grid 1 (west) and 2 (east) share lon = 110; grid 3 is far away, in the south
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (1, 'G1', 'West', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))'),
 (2, 'G2', 'East', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((110 30,111 30,111 31,110 31,110 30)))'),
 (3, 'G3', 'Far', 'Q', 'D', 'L', 2, 'south', 'SRID=4326;MULTIPOLYGON(((100 20,101 20,101 21,100 21,100 20)))');
INSERT INTO o2o.product VALUES
 ('FR-1', 'Fridge', 'fridge', false, NULL),
 ('AC-1', 'Air conditioner', 'ac', true, NULL),
 ('AC-S', 'Dehumidifier AC', 'ac', true, '{south}'),
 ('WH-1', 'Water heater', 'water_heater', true, NULL);
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES
 ('FR-1', 2999, '2020-01-01'), ('AC-1', 3999, '2020-01-01'), ('AC-S', 3999, '2020-01-01'), ('WH-1', 1999, '2020-01-01');
INSERT INTO o2o.commission_rule (category, valid_from, dealer_share, installer_share, origin_share) VALUES
 ('fridge', '2020-01-01', 0.08, 0, 0.02), ('ac', '2020-01-01', 0.06, 0.04, 0.02), ('water_heater', '2020-01-01', 0.06, 0.04, 0.02);
-- delivery point of the orders: (109.5, 30.5) in grid 1
INSERT INTO o2o.dealer (dealer_id, name, kind, location, service_radius_m, active) VALUES
 (10, 'Near', 'retailer', 'SRID=4326;POINT(109.55 30.5)', 30000, true),	-- ~4.8 km
 (11, 'Mid', 'service_center', 'SRID=4326;POINT(109.7 30.6)', 50000, true),	-- ~22 km
 (12, 'Closed', 'retailer', 'SRID=4326;POINT(109.5 30.52)', 30000, false),
 (13, 'Small radius', 'retailer', 'SRID=4326;POINT(109.3 30.5)', 10000, true),	-- ~19 km
 (20, 'East', 'agent', 'SRID=4326;POINT(110.05 30.5)', 60000, true),	-- ~53 km, grid 2
 (30, 'South', 'agent', 'SRID=4326;POINT(100.5 20.5)', 60000, true);
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES
 (10, 'FR-1', 1), (10, 'AC-1', 1), (11, 'FR-1', 5), (11, 'AC-1', 3), (11, 'WH-1', 2),
 (12, 'FR-1', 9), (13, 'FR-1', 9), (20, 'FR-1', 10), (20, 'AC-1', 4), (30, 'AC-S', 5);
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity) VALUES
 (100, 10, 'Li', '{ac}', 1), (110, 11, 'Wang', '{ac,water_heater}', 1), (111, 11, 'Zhao', '{ac}', 2),
 (200, 20, 'Chen', '{ac}', 3), (300, 30, 'Sun', '{ac}', 2);
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, created_at) VALUES
 (1, 'FR-1', 1, 'SRID=4326;POINT(109.5 30.5)', 2999, '2026-11-01 10:00+00'),
 (2, 'FR-1', 1, 'SRID=4326;POINT(109.5 30.5)', 2999, '2026-11-01 10:01+00'),
 (3, 'FR-1', 3, 'SRID=4326;POINT(109.5 30.5)', 2999, '2026-11-01 10:02+00'),
 (4, 'AC-1', 1, 'SRID=4326;POINT(109.5 30.5)', 3999, '2026-11-01 10:03+00'),
 (5, 'AC-1', 1, 'SRID=4326;POINT(109.5 30.5)', 3999, '2026-11-01 10:04+00'),
 (6, 'AC-S', 1, 'SRID=4326;POINT(109.5 30.5)', 3999, '2026-11-01 10:05+00'),
 (7, 'WH-1', 1, 'SRID=4326;POINT(109.5 30.5)', 1999, '2026-11-01 10:06+00'),
 (8, 'FR-1', 1, 'SRID=4326;POINT(108.995 30.5)', 2999, '2026-11-01 10:07+00'),	-- ~480 m outside grid 1
 (9, 'FR-1', 1, 'SRID=4326;POINT(50 10)', 2999, '2026-11-01 10:08+00');

-- the ranking of order 1, with the parts of each score
SELECT rank, dealer_id, grid_id, same_grid, round(distance_m) AS distance_m, available,
	   round(score::numeric, 4) AS score, round(score_distance::numeric, 4) AS s_dist,
	   round(score_stock::numeric, 4) AS s_stock, round(score_load::numeric, 4) AS s_load,
	   eligible, reason
  FROM o2o_candidates(1);
-- k limits the eligible ones only
SELECT count(*) FILTER (WHERE eligible) AS eligible, count(*) FILTER (WHERE NOT eligible) AS rejected
  FROM o2o_candidates(1, 1);
SELECT count(*) FROM o2o_candidates(1, 0);
\echo :LAST_ERROR_SQLSTATE

-- assign: the best, reserved; calling again returns the same dealer
SELECT o2o_assign(1) AS dealer;
SELECT o2o_assign(1) AS same_dealer;
SELECT order_id, status, grid_id, promised_date - current_date AS promised_in_days FROM o2o.orders WHERE order_id = 1;
SELECT dealer_id, sku, on_hand, reserved FROM o2o.stock WHERE sku = 'FR-1' ORDER BY dealer_id;
SELECT order_id, dealer_id, installer_id, cross_grid, round(distance_m) AS distance_m, round(score::numeric, 4) AS score,
	   state, detail->'winner'->>'dealer_id' AS winner, jsonb_array_length(detail->'runners_up') AS runners_up,
	   detail->>'policy' AS policy
  FROM o2o.assignment ORDER BY assignment_id;
SELECT order_id, event, status FROM o2o.order_event ORDER BY event_id;

-- dealer 10's only fridge is reserved now: order 2 goes elsewhere
SELECT o2o_assign(2) AS dealer;
-- three units: only a dealer with three available
SELECT o2o_assign(3) AS dealer;

-- installation: dealer 10 has one AC and an installer free tomorrow
SELECT o2o_assign(4) AS dealer;
SELECT a.installer_id, a.install_day - current_date AS install_in_days, o.promised_date - current_date AS promised_in_days
  FROM o2o.assignment a JOIN o2o.orders o USING (order_id) WHERE order_id = 4;
SELECT installer_id, day - current_date AS day, booked FROM o2o.installer_day ORDER BY installer_id, day;
-- the next AC order: dealer 10 has no unit left; dealer 11 has
SELECT rank, dealer_id, installer_id, install_day - current_date AS install_in_days,
	   round(load::numeric, 4) AS load, eligible, reason
  FROM o2o_candidates(5) WHERE dealer_id IN (10, 11, 20) ORDER BY dealer_id;
SELECT o2o_assign(5) AS dealer;

-- a model not sold in this climate zone: nobody, with the reason recorded
SELECT o2o_assign(6) AS dealer;
SELECT order_id, status, status_reason FROM o2o.orders WHERE order_id = 6;
SELECT event, status, detail->>'reason' AS reason FROM o2o.order_event WHERE order_id = 6;

-- a water heater: only installer 110 has the skill
SELECT o2o_assign(7) AS dealer;
SELECT installer_id FROM o2o.assignment WHERE order_id = 7;

-- just outside the border: the nearest grid within o2o_route.nearest_grid_m
SELECT o2o_assign(8) AS dealer;
SELECT grid_id, status FROM o2o.orders WHERE order_id = 8;
-- far outside every grid
SELECT o2o_assign(9) AS dealer;
SELECT status, status_reason FROM o2o.orders WHERE order_id = 9;

-- cross-grid policies, per transaction
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, created_at)
VALUES (10, 'FR-1', 4, 'SRID=4326;POINT(109.9 30.5)', 2999, '2026-11-01 11:00+00');
BEGIN;
SET LOCAL o2o_route.cross_grid = 'never';
SELECT o2o_assign(10) AS never;
SELECT status_reason FROM o2o.orders WHERE order_id = 10;
ROLLBACK;
BEGIN;
SET LOCAL o2o_route.cross_grid = 'fallback';
SELECT o2o_assign(10) AS fallback;
SELECT cross_grid, o.promised_date - current_date AS promised_in_days
  FROM o2o.assignment a JOIN o2o.orders o USING (order_id) WHERE order_id = 10;
ROLLBACK;
BEGIN;
SET LOCAL o2o_route.cross_grid = 'free';
SET LOCAL o2o_route.cross_grid_penalty = 0;
SELECT dealer_id, same_grid, round(cross_grid_penalty::numeric, 2) AS penalty FROM o2o_candidates(10) WHERE eligible;
SET LOCAL o2o_route.cross_grid_penalty = 5;
SELECT dealer_id, same_grid, round(cross_grid_penalty::numeric, 2) AS penalty FROM o2o_candidates(10) WHERE eligible;
ROLLBACK;
-- weights change the ranking: distance only, then stock only
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, created_at)
VALUES (11, 'FR-1', 1, 'SRID=4326;POINT(109.5 30.5)', 2999, '2026-11-01 12:00+00');
BEGIN;
SET LOCAL o2o_route.cross_grid = 'free';
SET LOCAL o2o_route.cross_grid_penalty = 0;
SET LOCAL o2o_route.weight_stock = 0;
SET LOCAL o2o_route.weight_load = 0;
SELECT rank, dealer_id, available, round(distance_m) AS distance_m FROM o2o_candidates(11) WHERE eligible;
SET LOCAL o2o_route.weight_distance = 0;
SET LOCAL o2o_route.weight_stock = 1;
SELECT rank, dealer_id, available, round(distance_m) AS distance_m FROM o2o_candidates(11) WHERE eligible;
ROLLBACK;
-- settings are checked
SET o2o_route.weight_distance = -1;
\echo :LAST_ERROR_SQLSTATE
SET o2o_route.cross_grid = 'sometimes';
\echo :LAST_ERROR_SQLSTATE
SET o2o_route.promise_horizon_days = 0;
\echo :LAST_ERROR_SQLSTATE

-- decline: released, never offered again, next best assigned
SELECT dealer_id FROM o2o.assignment WHERE order_id = 2 AND state = 'active';
SELECT o2o_decline(2, 'no truck today') AS next_dealer;
SELECT dealer_id, state, reason FROM o2o.assignment WHERE order_id = 2 ORDER BY assignment_id;
SELECT dealer_id, eligible, reason FROM o2o_candidates(2) WHERE dealer_id IN (11, 13) ORDER BY dealer_id;
-- declining until nobody is left: NULL and unassignable
SELECT o2o_decline(2, 'no');
SELECT o2o_decline(2, 'no');
SELECT status, status_reason FROM o2o.orders WHERE order_id = 2;

-- cancel releases stock and slot; complete consumes stock and frees the slot
SELECT dealer_id, sku, on_hand, reserved FROM o2o.stock WHERE dealer_id IN (10, 11) ORDER BY 1, 2;
SELECT o2o_cancel(4);
SELECT o2o_complete(5);
SELECT dealer_id, sku, on_hand, reserved FROM o2o.stock WHERE dealer_id IN (10, 11) ORDER BY 1, 2;
SELECT installer_id, day - current_date AS day, booked FROM o2o.installer_day ORDER BY installer_id, day;
SELECT order_id, status FROM o2o.orders WHERE order_id IN (4, 5) ORDER BY 1;
SELECT order_id, state FROM o2o.assignment WHERE order_id IN (4, 5) ORDER BY 1;

-- wrong states and bad input
SELECT o2o_complete(4);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_assign(4);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_cancel(5);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_decline(6, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_assign(424242);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_candidates(424242);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_cancel(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_assign(NULL) IS NULL AS null_in_null_out;
SELECT o2o_assign_pending(-1);
\echo :LAST_ERROR_SQLSTATE
-- a failed call leaves nothing behind
SELECT count(*) AS events FROM o2o.order_event;
INSERT INTO o2o.installer_day (installer_id, day, booked) VALUES (100, '2030-01-01', 2);
\echo :LAST_ERROR_SQLSTATE

-- the per-backend dealer cache follows installer changes at the next statement
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, created_at)
VALUES (12, 'WH-1', 1, 'SRID=4326;POINT(109.5 30.5)', 1999, '2026-11-01 13:00+00');
SELECT dealer_id, installer_id, eligible, reason FROM o2o_candidates(12) WHERE dealer_id = 11;
UPDATE o2o.installer SET active = false WHERE installer_id = 110;
SELECT dealer_id, installer_id, eligible, reason FROM o2o_candidates(12) WHERE dealer_id = 11;
UPDATE o2o.installer SET active = true, skills = '{ac}' WHERE installer_id = 110;
SELECT dealer_id, installer_id, eligible, reason FROM o2o_candidates(12) WHERE dealer_id = 11;
UPDATE o2o.installer SET skills = '{ac,water_heater}' WHERE installer_id = 110;
SELECT dealer_id, installer_id, eligible, reason FROM o2o_candidates(12) WHERE dealer_id = 11;
SELECT o2o_assign(12) AS dealer;
SELECT installer_id FROM o2o.assignment WHERE order_id = 12;
-- the capacity check (a C trigger), with the numbers
INSERT INTO o2o.installer_day (installer_id, day, booked) VALUES (110, '2030-01-01', 1), (110, '2030-01-02', 2);
\echo :LAST_ERROR_SQLSTATE
-- region_id of bookings, events, stock rows and assignments is derived
SELECT DISTINCT region_id FROM o2o.installer_day;
SELECT count(*) FILTER (WHERE e.region_id IS NOT DISTINCT FROM o.region_id) AS same, count(*) AS events
  FROM o2o.order_event e JOIN o2o.orders o USING (order_id);
SELECT dealer_id, sku, grid_id, region_id FROM o2o.stock WHERE dealer_id IN (20, 30) ORDER BY 1, 2;
-- ... also from rows written earlier in the same statement
WITH i AS (INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity)
		   VALUES (201, 20, 'Zhou', '{ac}', 1) RETURNING installer_id)
INSERT INTO o2o.installer_day (installer_id, day, booked) SELECT installer_id, '2030-01-01', 1 FROM i;
SELECT installer_id, booked, region_id FROM o2o.installer_day WHERE installer_id = 201;
DELETE FROM o2o.installer_day WHERE installer_id = 201;
WITH i AS (INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity)
		   VALUES (202, 20, 'Wu', '{ac}', 1) RETURNING installer_id)
INSERT INTO o2o.installer_day (installer_id, day, booked) SELECT installer_id, '2030-01-01', 2 FROM i;
\echo :LAST_ERROR_SQLSTATE
-- an order changed earlier in the same statement is assigned as changed
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, created_at)
VALUES (13, 'FR-1', 1, 'SRID=4326;POINT(109.5 30.5)', 2999, '2026-11-01 14:00+00');
WITH u AS (UPDATE o2o.orders SET address = 'Gate 3' WHERE order_id = 13 RETURNING order_id)
SELECT o2o_assign(order_id) IS NOT NULL AS assigned FROM u;
SELECT status, address FROM o2o.orders WHERE order_id = 13;

-- o2o_assign reads stock, bookings and assignments by index probes: they check the
-- SELECT privilege like a query would, and refuse row-level security
CREATE ROLE regress_o2o_reader;
GRANT USAGE ON SCHEMA o2o TO regress_o2o_reader;
GRANT SELECT ON o2o.orders, o2o.product, o2o.dealer, o2o.installer, o2o.grid, o2o.assignment,
	  o2o.installer_day TO regress_o2o_reader;
SET ROLE regress_o2o_reader;
SELECT count(*) FROM o2o_candidates(12);
RESET ROLE;
GRANT SELECT ON o2o.stock, o2o.dealer_sync TO regress_o2o_reader;
SET ROLE regress_o2o_reader;
SELECT count(*) FROM o2o_candidates(12);
-- routing changes state: it runs as the extension's owner, and EXECUTE on
-- o2o_assign is the privilege to route, which PUBLIC does not have (the
-- privileges test shows the grant recipes)
SELECT o2o_assign(12);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
ALTER TABLE o2o.stock ENABLE ROW LEVEL SECURITY;
SET ROLE regress_o2o_reader;
SELECT count(*) FROM o2o_candidates(12);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
ALTER TABLE o2o.stock DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON ALL TABLES IN SCHEMA o2o FROM regress_o2o_reader;
REVOKE ALL ON SCHEMA o2o FROM regress_o2o_reader;
DROP ROLE regress_o2o_reader;

-- beyond o2o_route.nearest_grid_m, no grid and nobody, whatever the policy:
-- o2o_candidates agrees with o2o_assign (it used to rank dealer 40, 1.9 km
-- away in grid 1, 957 m from its border, eligible while o2o_assign found the
-- order outside every grid)
BEGIN;
INSERT INTO o2o.dealer (dealer_id, name, kind, location, service_radius_m, active)
VALUES (40, 'Border', 'retailer', 'SRID=4326;POINT(109.01 30.5)', 30000, true);
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (40, 'FR-1', 5);
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, created_at)
VALUES (14, 'FR-1', 1, 'SRID=4326;POINT(108.99 30.5)', 2999, '2026-11-01 15:00+00');
SET LOCAL o2o_route.nearest_grid_m = 500;
SET LOCAL o2o_route.cross_grid = 'free';
SELECT dealer_id, eligible, reason FROM o2o_candidates(14) WHERE dealer_id IN (10, 13, 40) ORDER BY dealer_id;
SET LOCAL o2o_route.cross_grid = 'fallback';
SELECT count(*) FILTER (WHERE eligible) AS eligible, count(*) AS considered FROM o2o_candidates(14);
SELECT o2o_assign(14) AS dealer;
SELECT grid_id, status, status_reason FROM o2o.orders WHERE order_id = 14;
-- within reach, the same order belongs to grid 1 and dealer 40 serves it
SET LOCAL o2o_route.nearest_grid_m = 5000;
SELECT dealer_id, eligible, same_grid FROM o2o_candidates(14) WHERE rank = 1;
ROLLBACK;

-- routing writes: refused in a read-only transaction (and on a hot standby,
-- test/cluster/standby.sh) with 25006, not an internal error
BEGIN READ ONLY;
SELECT o2o_assign(1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN READ ONLY;
SELECT o2o_assign_pending(1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- pending orders in one call
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price)
SELECT 100 + i, 'FR-1', 1, 'SRID=4326;POINT(109.5 30.5)', 2999 FROM generate_series(1, 5) i;
-- its reservations wait at most o2o_route.pending_lock_timeout for a row
-- lock, and the setting never leaks into the caller's transaction (before
-- 0.5.0, lock_timeout stayed 20ms after the call until commit)
BEGIN;
SET LOCAL lock_timeout = '7s';
SELECT o2o_assign_pending(3) AS assigned;
SHOW lock_timeout;
COMMIT;
SHOW lock_timeout;
SHOW o2o_route.pending_lock_timeout;
SET o2o_route.pending_lock_timeout = 0;
\echo :LAST_ERROR_SQLSTATE
SET o2o_route.pending_lock_timeout = '2min';
\echo :LAST_ERROR_SQLSTATE
SET o2o_route.pending_lock_timeout = '50ms';
SELECT o2o_assign_pending(10) AS assigned;
SHOW lock_timeout;
RESET o2o_route.pending_lock_timeout;
SELECT status, count(*) FROM o2o.orders WHERE order_id > 100 GROUP BY 1 ORDER BY 1;

-- the invariants
SELECT count(*) AS bad_reserved
  FROM o2o.stock s
 WHERE s.reserved <> coalesce((SELECT sum(a.qty) FROM o2o.assignment a JOIN o2o.orders o USING (order_id)
							   WHERE a.dealer_id = s.dealer_id AND o.sku = s.sku AND a.state = 'active'), 0);
SELECT count(*) AS bad_booked
  FROM o2o.installer_day b
 WHERE b.booked <> (SELECT count(*) FROM o2o.assignment a
					 WHERE a.installer_id = b.installer_id AND a.install_day = b.day AND a.state = 'active');
SELECT count(*) AS two_active FROM (SELECT order_id FROM o2o.assignment WHERE state = 'active'
									 GROUP BY 1 HAVING count(*) > 1) x;

SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule RESTART IDENTITY CASCADE;
