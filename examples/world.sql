-- The small world the examples run against (test/cluster/examples.sh loads it
-- into a database of its own; their expected output, examples/expected/, is
-- for it).  Two grids side by side, two dealers, four products:
--   AC-001  an air conditioner: 5 units at dealer 1 (grid 1), whose one
--           installer takes 3 jobs a day (a morning, an afternoon, an evening)
--   FR-001  a fridge (delivered, not installed): 3 units at dealer 2, in grid 2
--   WH-001  a water heater nobody has in stock
--   AC-100  an air conditioner sold in the north only (both grids are south)
-- and the application's role with the grants of README's Privileges recipe.
-- Run as the superuser that creates the extension:
--   psql -d DB -v ON_ERROR_STOP=1 -f examples/world.sql
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;

INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
	(1, 'G0001', 'Xinhe 1', 'Anhe Province', 'Jinlin City', 'Xinhe County', 1, 'south',
	 'SRID=4326;MULTIPOLYGON(((113 22,114 22,114 23,113 23,113 22)))'),
	(2, 'G0002', 'Donghu 1', 'Anhe Province', 'Jinlin City', 'Donghu County', 1, 'south',
	 'SRID=4326;MULTIPOLYGON(((114 22,115 22,115 23,114 23,114 22)))');
INSERT INTO o2o.product (sku, name, category, needs_install, climates) VALUES
	('AC-001', 'Air conditioner A107', 'ac', true, NULL),
	('FR-001', 'Fridge F300', 'fridge', false, NULL),
	('WH-001', 'Water heater W60', 'water_heater', true, NULL),
	('AC-100', 'Air conditioner N20 (heat pump)', 'ac', true, '{north}');
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES
	('AC-001', 3999, '2020-01-01'), ('FR-001', 2599, '2020-01-01'),
	('WH-001', 1299, '2020-01-01'), ('AC-100', 4599, '2020-01-01');
INSERT INTO o2o.dealer (dealer_id, name, kind, location, service_radius_m) VALUES
	(1, 'Xinhe Appliances', 'retailer', 'SRID=4326;POINT(113.6 22.5)', 50000),
	(2, 'Donghu Electric', 'retailer', 'SRID=4326;POINT(114.05 22.5)', 50000);
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (1, 'AC-001', 5), (2, 'FR-001', 3);
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity) VALUES
	(1, 1, 'Wang', '{ac,water_heater}', 3),
	(2, 2, 'Li', '{fridge,washer}', 4);

-- the application: places orders and routes them (README, Privileges); it
-- owns nothing and may write nothing else
DO $$
BEGIN
	CREATE ROLE o2o_example_app LOGIN;
EXCEPTION WHEN duplicate_object THEN
	NULL;
END
$$;
GRANT USAGE ON SCHEMA o2o TO o2o_example_app;
GRANT SELECT ON ALL TABLES IN SCHEMA o2o TO o2o_example_app;
GRANT INSERT ON o2o.orders TO o2o_example_app;
GRANT USAGE ON SEQUENCE o2o.orders_order_id_seq TO o2o_example_app;
GRANT EXECUTE ON FUNCTION o2o_assign(bigint) TO o2o_example_app;
