-- stands alone: make installcheck REGRESS=model
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- The data model holds the business rules: every bad row is refused with a
-- named constraint (or a documented SQLSTATE) and nothing is half-written.
\set SHOW_CONTEXT never
SET extra_float_digits = 0;

-- two adjacent 1x1 degree grids sharing the border lon = 110
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (2, 'G2', 'East', 'P', 'C', 'K', 7, 'south', 'SRID=4326;MULTIPOLYGON(((110 30,111 30,111 31,110 31,110 30)))'),
 (1, 'G1', 'West', 'P', 'C', 'K', 7, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))');

-- grids: wrong SRID, wrong type, invalid polygon, empty, out of lon/lat range
INSERT INTO o2o.grid VALUES (3, 'G3', 'x', 'P', 'C', 'K', 7, 'north',
	'SRID=3857;MULTIPOLYGON(((0 0,1 0,1 1,0 0)))');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.grid VALUES (3, 'G3', 'x', 'P', 'C', 'K', 7, 'north', 'SRID=4326;POINT(0 0)');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.grid VALUES (3, 'G3', 'bowtie', 'P', 'C', 'K', 7, 'north',
	'SRID=4326;MULTIPOLYGON(((0 0,1 1,1 0,0 1,0 0)))');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.grid VALUES (3, 'G3', 'x', 'P', 'C', 'K', 7, 'north', 'SRID=4326;MULTIPOLYGON EMPTY');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.grid VALUES (3, 'G3', 'x', 'P', 'C', 'K', 7, 'north',
	'SRID=4326;MULTIPOLYGON(((179 0,181 0,181 1,179 1,179 0)))');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.grid VALUES (3, 'G3', 'x', 'P', 'C', 'K', 7, 'tropical',
	'SRID=4326;MULTIPOLYGON(((0 0,1 0,1 1,0 0)))');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.grid VALUES (1, 'G3', 'x', 'P', 'C', 'K', 7, 'north',
	'SRID=4326;MULTIPOLYGON(((0 0,1 0,1 1,0 0)))');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.grid VALUES (3, 'G1', 'x', 'P', 'C', 'K', 7, 'north',
	'SRID=4326;MULTIPOLYGON(((0 0,1 0,1 1,0 0)))');
\echo :LAST_ERROR_SQLSTATE

-- products
INSERT INTO o2o.product VALUES ('FR-1', 'Fridge', 'fridge', false, NULL),
							   ('AC-N', 'Heat pump', 'ac', true, '{north}');
INSERT INTO o2o.product VALUES ('TV-1', 'Television', 'tv', false, NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.product VALUES ('AC-X', 'AC', 'ac', true, '{tropical}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.product VALUES ('AC-X', 'AC', 'ac', true, '{}');
\echo :LAST_ERROR_SQLSTATE

-- national prices: positive, periods of one SKU never overlap
INSERT INTO o2o.national_price VALUES
 ('FR-1', 3199, '2026-01-01 00:00+00', '2026-07-01 00:00+00'),
 ('FR-1', 2999, '2026-07-01 00:00+00', NULL),
 ('AC-N', 4599, '2026-01-01 00:00+00', NULL);
INSERT INTO o2o.national_price VALUES ('FR-1', 3099, '2026-06-01 00:00+00', '2026-08-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.national_price VALUES ('FR-1', 0, '2025-01-01 00:00+00', '2025-06-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.national_price VALUES ('FR-1', 10, '2025-06-01 00:00+00', '2025-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.national_price VALUES ('NOPE', 10, '2025-01-01 00:00+00', NULL);
\echo :LAST_ERROR_SQLSTATE
-- adjacent periods and other SKUs are fine
INSERT INTO o2o.national_price VALUES ('FR-1', 3299, '2025-01-01 00:00+00', '2026-01-01 00:00+00');
SELECT sku, price, valid_from, valid_to FROM o2o.national_price ORDER BY sku, valid_from;

-- dealers: grid and region derived from the location, whatever was given
INSERT INTO o2o.dealer (dealer_id, name, kind, location, grid_id, region_id)
VALUES (10, 'West Agency', 'agent', 'SRID=4326;POINT(109.5 30.5)', 2, 99),
	   (11, 'Border Store', 'retailer', 'SRID=4326;POINT(110 30.5)', NULL, NULL),
	   (12, 'East Service', 'service_center', 'SRID=4326;POINT(110.5 30.5)', NULL, NULL);
-- a point on the shared border belongs to the lowest grid_id
SELECT dealer_id, grid_id, region_id FROM o2o.dealer ORDER BY dealer_id;
-- moving a dealer re-derives its grid
UPDATE o2o.dealer SET location = 'SRID=4326;POINT(110.7 30.2)' WHERE dealer_id = 10;
UPDATE o2o.dealer SET grid_id = 1 WHERE dealer_id = 12;
SELECT dealer_id, grid_id FROM o2o.dealer ORDER BY dealer_id;
UPDATE o2o.dealer SET location = 'SRID=4326;POINT(109.5 30.5)' WHERE dealer_id = 10;
-- bad dealers
INSERT INTO o2o.dealer (dealer_id, name, kind, location) VALUES (13, 'Far', 'agent', 'SRID=4326;POINT(0 0)');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.dealer (dealer_id, name, kind, location) VALUES (13, 'Off', 'agent', 'SRID=4326;POINT(200 30)');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.dealer (dealer_id, name, kind, location) VALUES (13, 'NaN', 'agent', ST_SetSRID(ST_MakePoint('NaN', 30), 4326));
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.dealer (dealer_id, name, kind, location) VALUES (13, 'Mercator', 'agent', 'SRID=3857;POINT(109.5 30.5)');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.dealer (dealer_id, name, kind, location) VALUES (13, 'Empty', 'agent', 'SRID=4326;POINT EMPTY');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.dealer (dealer_id, name, kind, location) VALUES (13, 'Kiosk', 'kiosk', 'SRID=4326;POINT(109.5 30.5)');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.dealer (dealer_id, name, kind, location, service_radius_m)
VALUES (13, 'Zero', 'agent', 'SRID=4326;POINT(109.5 30.5)', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS dealers FROM o2o.dealer;

-- stock: never negative, reserved within on_hand, known dealer and SKU
INSERT INTO o2o.stock (dealer_id, sku, on_hand, reserved, updated_at)
VALUES (10, 'FR-1', 2, 1, '2026-11-01 08:00+00'), (12, 'AC-N', 1, 0, '2026-11-01 08:00+00');
SELECT dealer_id, sku, on_hand, reserved, region_id FROM o2o.stock ORDER BY 1, 2;
INSERT INTO o2o.stock (dealer_id, sku, on_hand, updated_at) VALUES (11, 'FR-1', -1, '2026-11-01 08:00+00');
\echo :LAST_ERROR_SQLSTATE
UPDATE o2o.stock SET reserved = 3 WHERE dealer_id = 10;
\echo :LAST_ERROR_SQLSTATE
UPDATE o2o.stock SET reserved = -1 WHERE dealer_id = 10;
\echo :LAST_ERROR_SQLSTATE
UPDATE o2o.stock SET on_hand = 0 WHERE dealer_id = 10;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (11, 'NOPE', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (99, 'FR-1', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (10, 'FR-1', 1);
\echo :LAST_ERROR_SQLSTATE
-- a multi-row statement with one bad row writes nothing
INSERT INTO o2o.stock (dealer_id, sku, on_hand, reserved, updated_at)
VALUES (11, 'FR-1', 5, 0, '2026-11-01 08:00+00'), (11, 'AC-N', 1, 2, '2026-11-01 08:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS stock_rows FROM o2o.stock;

-- installers
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity)
VALUES (100, 12, 'Wang', '{ac,water_heater}', 4);
SELECT installer_id, dealer_id, skills, daily_capacity, region_id FROM o2o.installer;
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity) VALUES (101, 12, 'Li', '{ac}', 0);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity) VALUES (101, 12, 'Li', '{plumbing}', 2);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity) VALUES (101, 12, 'Li', '{}', 2);
\echo :LAST_ERROR_SQLSTATE

-- orders: grid derived from the delivery point, NULL outside every grid
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, origin_dealer_id, created_at)
VALUES (1000, 'FR-1', 1, 'SRID=4326;POINT(109.2 30.9)', 2999, 12, '2026-11-01 10:00+00'),
	   (1001, 'AC-N', 2, 'SRID=4326;POINT(110.9 30.1)', 4599, NULL, '2026-11-01 11:00+00'),
	   (1002, 'FR-1', 1, 'SRID=4326;POINT(111.01 30.5)', 2999, NULL, '2026-11-01 12:00+00'),
	   (1003, 'FR-1', 1, 'SRID=4326;POINT(110.55 30.5)', 2999, NULL, '2026-11-01 13:00+00');
SELECT order_id, grid_id, region_id, status FROM o2o.orders ORDER BY order_id;
-- (rows stamped with now(): the message without the failing row)
\set VERBOSITY terse
INSERT INTO o2o.orders (sku, qty, location) VALUES ('NOPE', 1, 'SRID=4326;POINT(109.2 30.9)');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.orders (sku, qty, location) VALUES ('FR-1', 0, 'SRID=4326;POINT(109.2 30.9)');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.orders (sku, qty, location) VALUES ('FR-1', 1, 'SRID=4326;POINT(109.2 95)');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.orders (sku, qty, location) VALUES ('FR-1', 1, 'SRID=3857;POINT(109.2 30.9)');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.orders (sku, qty, location, unit_price) VALUES ('FR-1', 1, 'SRID=4326;POINT(109.2 30.9)', -5);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.orders (sku, qty, location, status) VALUES ('FR-1', 1, 'SRID=4326;POINT(109.2 30.9)', 'lost');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.orders (sku, qty, location, origin_dealer_id) VALUES ('FR-1', 1, 'SRID=4326;POINT(109.2 30.9)', 77);
\echo :LAST_ERROR_SQLSTATE

-- assignments: at most one active row per order
INSERT INTO o2o.assignment (order_id, dealer_id, grid_id, distance_m, score, state, ended_at)
VALUES (1000, 10, 1, 1200, 0.9, 'declined', '2026-11-01 10:05+00');
INSERT INTO o2o.assignment (order_id, dealer_id, grid_id, distance_m, score) VALUES (1000, 12, 1, 900, 0.8);
INSERT INTO o2o.assignment (order_id, dealer_id, grid_id, distance_m, score) VALUES (1000, 11, 1, 400, 0.7);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.assignment (order_id, dealer_id, state) VALUES (1001, 12, 'lost');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.assignment (order_id, dealer_id, distance_m) VALUES (1001, 12, -1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.assignment (order_id, dealer_id, state) VALUES (1001, 12, 'completed');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.assignment (order_id, dealer_id) VALUES (4242, 12);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT order_id, dealer_id, state, region_id FROM o2o.assignment ORDER BY assignment_id;

-- order events are append-only and carry the order's region
INSERT INTO o2o.order_event (order_id, event, status) VALUES (1000, 'assigned', 'assigned');
SELECT order_id, event, status, region_id FROM o2o.order_event;
UPDATE o2o.order_event SET status = 'completed';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM o2o.order_event;
\echo :LAST_ERROR_SQLSTATE

-- moving a border re-derives the grid of dealers and open orders it touches
UPDATE o2o.grid SET geom = 'SRID=4326;MULTIPOLYGON(((109 30,110.6 30,110.6 31,109 31,109 30)))' WHERE grid_id = 1;
UPDATE o2o.grid SET geom = ST_Multi(ST_Difference(geom, (SELECT geom FROM o2o.grid WHERE grid_id = 1))) WHERE grid_id = 2;
SELECT dealer_id, grid_id FROM o2o.dealer ORDER BY dealer_id;
SELECT order_id, grid_id FROM o2o.orders ORDER BY order_id;
-- a dealer's stock rows, installers, their bookings and its active
-- assignments follow its grid and region, whatever the statement set: the
-- border move above set neither (before 0.5.0 they kept the old grid), a
-- move sets only the location, here into a grid of another region.
-- Finished assignments stay in the region where they were served.
INSERT INTO o2o.installer_day (installer_id, day, booked) VALUES (100, '2030-01-01', 1);
INSERT INTO o2o.assignment (order_id, dealer_id, grid_id, distance_m, score, state, ended_at)
VALUES (1000, 12, 1, 900, 0.8, 'released', '2026-11-01 08:00+00');
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (5, 'G5', 'Beyond', 'Q', 'D', 'L', 8, 'south', 'SRID=4326;MULTIPOLYGON(((111 30,112 30,112 31,111 31,111 30)))');
CREATE TEMP VIEW dealer_rows AS
SELECT 'stock ' || s.sku AS row, s.dealer_id, s.grid_id, s.region_id, d.grid_id AS dealer_grid, d.region_id AS dealer_region
  FROM o2o.stock s JOIN o2o.dealer d USING (dealer_id)
UNION ALL
SELECT 'installer ' || i.installer_id, i.dealer_id, NULL, i.region_id, d.grid_id, d.region_id
  FROM o2o.installer i JOIN o2o.dealer d USING (dealer_id)
UNION ALL
SELECT 'booking ' || b.installer_id || ' ' || b.day, i.dealer_id, NULL, b.region_id, d.grid_id, d.region_id
  FROM o2o.installer_day b JOIN o2o.installer i USING (installer_id) JOIN o2o.dealer d ON d.dealer_id = i.dealer_id
UNION ALL
SELECT 'assignment ' || a.assignment_id || ' ' || a.state, a.dealer_id, NULL, a.region_id, d.grid_id, d.region_id
  FROM o2o.assignment a JOIN o2o.dealer d USING (dealer_id)
 ORDER BY 2, 1;
SELECT * FROM dealer_rows;
UPDATE o2o.dealer SET location = 'SRID=4326;POINT(111.5 30.5)' WHERE dealer_id = 12;
SELECT * FROM dealer_rows;
-- setting a derived column does not make it lie (the fuzz harness found
-- that it could until 0.5.0)
UPDATE o2o.stock SET region_id = 777, grid_id = 2 WHERE dealer_id = 12;
UPDATE o2o.installer SET region_id = -3 WHERE installer_id = 100;
UPDATE o2o.assignment SET region_id = 0 WHERE dealer_id = 12 AND state = 'active';
SELECT * FROM dealer_rows WHERE dealer_id = 12 AND row NOT LIKE 'booking%';
DROP VIEW dealer_rows;
-- grid ids are not negative (-1 means "no grid" inside the C code)
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (-1, 'GN', 'Negative', 'Q', 'D', 'L', 8, 'south', 'SRID=4326;MULTIPOLYGON(((112 30,113 30,113 31,112 31,112 30)))');
\echo :LAST_ERROR_SQLSTATE
-- a grid with dealers cannot be deleted
DELETE FROM o2o.grid WHERE grid_id = 1;
\echo :LAST_ERROR_SQLSTATE

TRUNCATE o2o.grid, o2o.product RESTART IDENTITY CASCADE;
