-- stands alone: make installcheck REGRESS=pricing
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- One national price and the value chain: o2o_national_price, the order
-- price guard, commission rules, settlement on completion, the BI views.
\set SHOW_CONTEXT never
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (1, 'G1', 'West', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))'),
 (2, 'G2', 'East', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((110 30,111 30,111 31,110 31,110 30)))');
INSERT INTO o2o.product VALUES ('FR-1', 'Fridge', 'fridge', false, NULL),
							   ('AC-1', 'Air conditioner', 'ac', true, NULL),
							   ('WA-1', 'Washer', 'washer', false, NULL);
INSERT INTO o2o.national_price (sku, price, valid_from, valid_to) VALUES
 ('FR-1', 3299, '2026-01-01 00:00+00', '2026-07-01 00:00+00'),
 ('FR-1', 2999, '2026-07-01 00:00+00', NULL),
 ('AC-1', 3999, '2026-01-01 00:00+00', NULL);

-- the price in force, at any time; NULL where none is
-- an open period holds at infinity too, as in SQL (valid_to IS NULL OR at <
-- valid_to); before 0.5.0 the cache answered NULL there
SELECT o2o_national_price('FR-1', 'infinity') AS at_infinity,
	   o2o_national_price('FR-1', '-infinity') IS NULL AS before_every_period,
	   (SELECT price FROM o2o.national_price WHERE sku = 'FR-1' AND valid_from <= 'infinity'
		   AND (valid_to IS NULL OR 'infinity' < valid_to)) AS sql_says;
SELECT o2o_national_price('FR-1', '2026-03-01 00:00+00') AS spring,
	   o2o_national_price('FR-1', '2026-07-01 00:00+00') AS on_the_change,
	   o2o_national_price('FR-1', '2026-06-30 23:59:59+00') AS just_before,
	   o2o_national_price('FR-1') AS now,
	   o2o_national_price('FR-1', '2025-01-01 00:00+00') AS before_any,
	   o2o_national_price('WA-1') AS never_priced;
SELECT o2o_national_price('NOPE');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_national_price(NULL) IS NULL AS null_in_null_out;
-- a new period is seen at once
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES ('WA-1', 2599, '2026-01-01 00:00+00');
SELECT o2o_national_price('WA-1', '2026-11-01 00:00+00') AS washer;

-- periods of one SKU never overlap; prices are positive
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES ('FR-1', 2899, '2026-10-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.national_price (sku, price, valid_from, valid_to) VALUES ('AC-1', 0, '2025-01-01 00:00+00', '2025-02-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE

-- orders pay the national price of their created_at: filled in when NULL
INSERT INTO o2o.dealer (dealer_id, name, kind, location) VALUES
 (10, 'West', 'retailer', 'SRID=4326;POINT(109.55 30.5)'),
 (20, 'East store', 'retailer', 'SRID=4326;POINT(110.5 30.5)');
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity) VALUES (100, 10, 'Li', ARRAY['ac'], 5);
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (10, 'FR-1', 10), (10, 'AC-1', 10), (10, 'WA-1', 10);
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, origin_dealer_id, created_at) VALUES
 (1, 'FR-1', 1, 'SRID=4326;POINT(109.5 30.5)', NULL, NULL, '2026-03-01 10:00+00'),
 (2, 'FR-1', 2, 'SRID=4326;POINT(109.5 30.5)', 2999, 20, '2026-08-01 10:00+00'),
 (3, 'AC-1', 1, 'SRID=4326;POINT(109.5 30.5)', NULL, 20, '2026-08-01 11:00+00'),
 (4, 'AC-1', 3, 'SRID=4326;POINT(109.5 30.5)', NULL, NULL, '2026-08-01 12:00+00');
SELECT order_id, sku, qty, unit_price FROM o2o.orders ORDER BY order_id;
-- a price that differs from the national price is refused, naming both
INSERT INTO o2o.orders (order_id, sku, location, unit_price, created_at)
VALUES (9, 'FR-1', 'SRID=4326;POINT(109.5 30.5)', 4000, '2026-08-01 10:00+00');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.orders (order_id, sku, location, unit_price, created_at)
VALUES (9, 'FR-1', 'SRID=4326;POINT(109.5 30.5)', 3299, '2026-08-01 10:00+00');
\echo :LAST_ERROR_SQLSTATE
-- no price in force when the order was placed
INSERT INTO o2o.orders (order_id, sku, location, created_at)
VALUES (9, 'FR-1', 'SRID=4326;POINT(109.5 30.5)', '2025-06-01 10:00+00');
\echo :LAST_ERROR_SQLSTATE
-- an unknown SKU is reported by the foreign key
INSERT INTO o2o.orders (order_id, sku, location) VALUES (9, 'NOPE', 'SRID=4326;POINT(109.5 30.5)');
\echo :LAST_ERROR_SQLSTATE
-- and a missing one by NOT NULL (the price guard once crashed the
-- server process on it: found by the crash test's clients)
\set VERBOSITY terse
INSERT INTO o2o.orders (order_id, sku, location) VALUES (9, NULL, 'SRID=4326;POINT(109.5 30.5)');
\echo :LAST_ERROR_SQLSTATE
UPDATE o2o.orders SET sku = NULL WHERE order_id = 2;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- the price of an existing order never changes, not even to the national one
UPDATE o2o.orders SET unit_price = 2999 WHERE order_id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE o2o.orders SET unit_price = NULL WHERE order_id = 1;
\echo :LAST_ERROR_SQLSTATE
-- nor does a new SKU or date smuggle in another price
UPDATE o2o.orders SET sku = 'AC-1' WHERE order_id = 2;
\echo :LAST_ERROR_SQLSTATE
UPDATE o2o.orders SET created_at = '2026-03-01 10:00+00' WHERE order_id = 2;
\echo :LAST_ERROR_SQLSTATE
-- a price change never touches existing orders
UPDATE o2o.national_price SET valid_to = '2026-09-01 00:00+00' WHERE sku = 'FR-1' AND valid_to IS NULL;
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES ('FR-1', 2799, '2026-09-01 00:00+00');
SELECT order_id, unit_price FROM o2o.orders WHERE sku = 'FR-1' ORDER BY order_id;
SELECT o2o_national_price('FR-1', '2026-10-01 00:00+00') AS after_the_change;
-- other columns of an order can change
UPDATE o2o.orders SET address = 'No. 1, Jiang Road' WHERE order_id = 2;

-- commission rules: effective-dated by category, shares within 100%
INSERT INTO o2o.commission_rule (category, valid_from, dealer_share, installer_share, origin_share) VALUES
 ('fridge', '2026-01-01 00:00+00', 0.0800, 0, 0.0200),
 ('ac', '2026-01-01 00:00+00', 0.0633, 0.0417, 0.0211);
INSERT INTO o2o.commission_rule (category, valid_from, dealer_share, installer_share, origin_share)
VALUES ('washer', '2026-01-01 00:00+00', 0.70, 0.20, 0.20);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.commission_rule (category, valid_from, dealer_share) VALUES ('washer', '2026-01-01 00:00+00', -0.1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.commission_rule (category, valid_from, dealer_share) VALUES ('fridge', '2026-06-01 00:00+00', 0.1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.commission_rule (category, valid_from, dealer_share) VALUES ('tv', '2026-01-01 00:00+00', 0.1);
\echo :LAST_ERROR_SQLSTATE

-- settlement on completion: one row per party, adding up exactly
SELECT o2o_assign(order_id) FROM o2o.orders WHERE order_id <= 4 ORDER BY order_id;
SELECT o2o_complete(1), o2o_complete(2), o2o_complete(3);
SELECT order_id, party, dealer_id, installer_id, amount FROM o2o.settlement ORDER BY order_id, settlement_id;
SELECT o.order_id, o.unit_price * o.qty AS paid, sum(s.amount) AS settled
  FROM o2o.orders o JOIN o2o.settlement s USING (order_id) GROUP BY 1, 2 ORDER BY 1;
-- a cancelled order settles nothing
SELECT o2o_cancel(4);
SELECT count(*) AS settled_rows_of_cancelled FROM o2o.settlement WHERE order_id = 4;
-- no rule in force: completion fails and leaves nothing behind
INSERT INTO o2o.orders (order_id, sku, qty, location, created_at)
VALUES (5, 'WA-1', 1, 'SRID=4326;POINT(109.5 30.5)', '2026-08-01 10:00+00');
SELECT o2o_assign(5);
SELECT o2o_complete(5);
\echo :LAST_ERROR_SQLSTATE
SELECT status FROM o2o.orders WHERE order_id = 5;
SELECT on_hand, reserved FROM o2o.stock WHERE dealer_id = 10 AND sku = 'WA-1';

-- BI: earnings per dealer and month, price history
SELECT dealer_id, month = date_trunc('month', now())::date AS this_month,
	   as_fulfiller, as_installer, as_origin_store, total, orders
  FROM o2o.dealer_earnings_monthly ORDER BY dealer_id, month;
SELECT sku, valid_from, valid_to, price, previous_price, change_pct FROM o2o.price_history ORDER BY sku, valid_from;

-- the exact-sum property over many orders: a small generated world, 1,500
-- orders assigned and completed
SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule RESTART IDENTITY CASCADE;
\set ECHO none
\i test/fixtures/worldgen.sql
\set ECHO all
SET client_min_messages = warning;
SELECT o2o_gen.build(13, n_grids => 40, n_dealers => 400, n_orders => 1500);
RESET client_min_messages;
SELECT count(*) FILTER (WHERE o2o_assign(order_id) IS NOT NULL) > 1000 AS most_assigned FROM o2o.orders;
SELECT count(*) FILTER (WHERE o2o.orders.status = 'assigned') AS to_complete FROM o2o.orders \gset
SELECT count(*) = :to_complete AS all_completed
  FROM (SELECT o2o_complete(order_id) FROM o2o.orders WHERE status = 'assigned') x;
SELECT count(DISTINCT o.order_id) AS settled_orders,
	   count(*) FILTER (WHERE s.total <> o.unit_price * o.qty) AS sums_off,
	   count(*) FILTER (WHERE s.negative) AS negative_parts,
	   count(*) FILTER (WHERE o.origin_dealer_id IS NOT NULL) > 0 AS with_origin_stores
  FROM o2o.orders o
  JOIN (SELECT order_id, sum(amount) AS total, bool_or(amount < 0) AS negative
		  FROM o2o.settlement GROUP BY order_id) s USING (order_id);
-- o2o_national_price under a parallel plan (each worker builds its cache)
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
SELECT count(*) FILTER (WHERE o2o_national_price(sku, created_at) = unit_price) = count(*) AS parallel_prices_agree
  FROM o2o.orders;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET parallel_leader_participation;
SELECT count(*) AS settled_but_not_completed
  FROM (SELECT DISTINCT order_id FROM o2o.settlement) s JOIN o2o.orders o USING (order_id)
 WHERE o.status <> 'completed';

-- SKUs of any length have their price: before 0.5.0 the price cache skipped
-- SKUs of 64 characters or more, which then had no price and no orders (O2007)
INSERT INTO o2o.product VALUES (repeat('L', 64), 'Long SKU fridge', 'fridge', false, NULL),
							   (repeat('M', 300), 'Longer SKU fridge', 'fridge', false, NULL);
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES
 (repeat('L', 64), 1234.50, '2020-01-01'), (repeat('M', 300), 2345.00, '2020-01-01');
SELECT o2o_national_price(repeat('L', 64)) AS sku_64, o2o_national_price(repeat('M', 300)) AS sku_300;
INSERT INTO o2o.orders (sku, qty, location, address)
VALUES (repeat('L', 64), 1, 'SRID=4326;POINT(109.5 30.5)', 'long SKU street')
RETURNING length(sku) AS sku_length, unit_price;
-- SKUs that differ only in their 64th character
INSERT INTO o2o.product VALUES (repeat('L', 63) || 'a', 'a', 'fridge', false, NULL),
							   (repeat('L', 63) || 'B', 'B', 'fridge', false, NULL);
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES
 (repeat('L', 63) || 'a', 11, '2020-01-01'), (repeat('L', 63) || 'B', 22, '2020-01-01');
SELECT o2o_national_price(repeat('L', 63) || 'a') AS ends_a, o2o_national_price(repeat('L', 63) || 'B') AS ends_b;

SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule RESTART IDENTITY CASCADE;
