-- stands alone: make installcheck REGRESS=coverage
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- Coverage for BI: o2o.grid_coverage, o2o.grid_holes, o2o_stock_rollup().
\set SHOW_CONTEXT never
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (1, 'G1', 'West', 'Anhe', 'Jinlin', 'Xinhe', 1, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))'),
 (2, 'G2', 'East', 'Anhe', 'Jinlin', 'Dongxi', 1, 'north', 'SRID=4326;MULTIPOLYGON(((110 30,111 30,111 31,110 31,110 30)))'),
 (3, 'G3', 'Far', 'Anhe', 'Pingan', 'Nanshan', 1, 'south', 'SRID=4326;MULTIPOLYGON(((111 30,112 30,112 31,111 31,111 30)))'),
 (4, 'G4', 'Empty', 'Beihu', 'Hucheng', 'Hubei', 2, 'south', 'SRID=4326;MULTIPOLYGON(((112 30,113 30,113 31,112 31,112 30)))');
INSERT INTO o2o.product VALUES ('FR-1', 'Fridge', 'fridge', false, NULL),
							   ('AC-1', 'AC', 'ac', true, NULL),
							   ('WA-1', 'Washer', 'washer', false, NULL);
INSERT INTO o2o.dealer (dealer_id, name, kind, location, active) VALUES
 (10, 'A', 'retailer', 'SRID=4326;POINT(109.5 30.5)', true),
 (11, 'B', 'agent', 'SRID=4326;POINT(109.6 30.6)', true),
 (12, 'C (closed)', 'retailer', 'SRID=4326;POINT(110.5 30.5)', false),
 (13, 'D', 'service_center', 'SRID=4326;POINT(111.5 30.5)', true);
INSERT INTO o2o.stock (dealer_id, sku, on_hand, reserved) VALUES
 (10, 'FR-1', 5, 2), (10, 'AC-1', 1, 1), (11, 'FR-1', 3, 0), (11, 'WA-1', 2, 0),
 (12, 'FR-1', 9, 0), (13, 'AC-1', 4, 1), (13, 'FR-1', 0, 0);
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity, active) VALUES
 (1, 10, 'i1', '{ac}', 3, true), (2, 10, 'i2', '{ac,purifier}', 2, false),
 (3, 12, 'i3', '{ac}', 5, true), (4, 13, 'i4', '{ac,water_heater}', 4, true);

SELECT grid_id, code, dealers, active_dealers, installers, daily_install_capacity,
	   skus_in_stock, units_available, ST_Area(geom) AS area
  FROM o2o.grid_coverage ORDER BY grid_id;

-- holes by category: grid 2 has only a closed dealer, grid 4 none at all
SELECT grid_id, category, reason FROM o2o.grid_holes
 WHERE category IN ('fridge', 'ac', 'washer') ORDER BY grid_id, category;
SELECT count(*) AS hole_rows, count(DISTINCT grid_id) AS grids FROM o2o.grid_holes;

-- where the fridge is available, by province, city and county
SELECT * FROM o2o_stock_rollup('FR-1');
SELECT * FROM o2o_stock_rollup('AC-1');
SELECT * FROM o2o_stock_rollup('WA-1') WHERE level = 'province';
SELECT * FROM o2o_stock_rollup('NOPE');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM o2o_stock_rollup(NULL);

-- reserving changes availability at once
UPDATE o2o.stock SET reserved = on_hand WHERE sku = 'FR-1';
SELECT count(*) AS fridge_rows FROM o2o_stock_rollup('FR-1');
SELECT grid_id, units_available FROM o2o.grid_coverage ORDER BY grid_id;

SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product CASCADE;
