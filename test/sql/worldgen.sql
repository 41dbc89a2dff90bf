-- stands alone: make installcheck REGRESS=worldgen
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- The test-world generator: a small world tiles its country with no gap and
-- no overlap, has realistic borders, and is the same for the same seed.
\set ECHO none
\i test/fixtures/worldgen.sql
\set ECHO all
SET client_min_messages = warning;
SELECT o2o_gen.build(7, n_grids => 60, n_dealers => 600, n_orders => 3000);
RESET client_min_messages;

SELECT count(*) >= 60 AS enough_grids, bool_and(ST_IsValid(geom)) AS all_valid,
	   avg(ST_NPoints(geom)) >= 1000 AS realistic_borders,
	   count(DISTINCT region_id) BETWEEN 2 AND 30 AS provinces,
	   count(DISTINCT (region_id, city)) > count(DISTINCT region_id) AS cities,
	   count(DISTINCT (region_id, city, county)) > count(DISTINCT (region_id, city)) AS counties,
	   count(DISTINCT climate) = 2 AS north_and_south
  FROM o2o.grid;
-- no overlaps: no two grids share interior
SELECT count(*) AS overlapping_pairs
  FROM o2o.grid a JOIN o2o.grid b ON a.grid_id < b.grid_id AND ST_Relate(a.geom, b.geom, '2********');
-- no gaps: the union is one polygon without holes, equal in area to the sum
-- of the grids and to the country outline
SELECT ST_NumGeometries(u) AS pieces, ST_NumInteriorRings(ST_GeometryN(u, 1)) AS holes,
	   abs(ST_Area(u) - s) / s < 1e-9 AS union_is_sum,
	   abs(ST_Area(u) - c) / c < 1e-9 AS union_is_country
  FROM (SELECT ST_Union(geom) AS u, sum(ST_Area(geom)) AS s FROM o2o.grid) g,
	   (SELECT ST_Area(geom) AS c FROM o2o_gen.country) k;
-- the model: dealers inside grids, ~25 SKUs each, 1-3 installers each
SELECT count(*) AS dealers, count(*) FILTER (WHERE grid_id IS NULL) AS without_grid,
	   count(DISTINCT kind) AS kinds FROM o2o.dealer;
SELECT avg(n) BETWEEN 20 AND 30 AS about_25_skus
  FROM (SELECT count(*) AS n FROM o2o.stock GROUP BY dealer_id) s;
SELECT min(n) AS min_installers, max(n) AS max_installers
  FROM (SELECT count(*) AS n FROM o2o.installer GROUP BY dealer_id) s;
SELECT count(*) AS products, count(DISTINCT category) AS categories,
	   count(*) FILTER (WHERE needs_install) AS need_install,
	   count(*) FILTER (WHERE climates IS NOT NULL) AS one_climate_only
  FROM o2o.product;
-- no stocked model is barred from the dealer's climate zone
SELECT count(*) AS misplaced_stock
  FROM o2o.stock s JOIN o2o.product p USING (sku) JOIN o2o.dealer d USING (dealer_id)
  JOIN o2o.grid g ON g.grid_id = d.grid_id
 WHERE p.climates IS NOT NULL AND NOT g.climate = ANY (p.climates);
-- orders: every order priced at the national price of its time; about 30%
-- came through a store; a few just off the coast (within 5 km)
SELECT count(*) AS orders,
	   count(*) FILTER (WHERE origin_dealer_id IS NOT NULL) BETWEEN 700 AND 1100 AS about_30pct_origin,
	   count(*) FILTER (WHERE grid_id IS NULL) AS outside
  FROM o2o.orders;
SELECT count(*) AS mispriced
  FROM o2o.orders o JOIN o2o.national_price n
	ON n.sku = o.sku AND o.created_at >= n.valid_from AND (n.valid_to IS NULL OR o.created_at < n.valid_to)
 WHERE o.unit_price <> n.price;
SELECT bool_and(ST_DWithin(o.location::geography, c.geom::geography, 5000)) AS outside_ones_are_near
  FROM o2o.orders o, o2o_gen.country c WHERE o.grid_id IS NULL;

-- deterministic: the same seed gives the same world, another seed another
SELECT md5(string_agg(ST_AsEWKB(geom)::text || province || city || county, ',' ORDER BY grid_id)) AS grids_md5,
	   (SELECT md5(string_agg(o.sku || ST_AsText(o.location) || o.qty, ',' ORDER BY o.order_id)) FROM o2o.orders o) AS orders_md5,
	   (SELECT md5(string_agg(s.dealer_id || s.sku || s.on_hand, ',' ORDER BY s.dealer_id, s.sku)) FROM o2o.stock s) AS stock_md5
  FROM o2o.grid \gset first_
SET client_min_messages = warning;
SELECT o2o_gen.build(7, n_grids => 60, n_dealers => 600, n_orders => 3000);
RESET client_min_messages;
SELECT md5(string_agg(ST_AsEWKB(geom)::text || province || city || county, ',' ORDER BY grid_id)) = :'first_grids_md5' AS same_grids,
	   (SELECT md5(string_agg(o.sku || ST_AsText(o.location) || o.qty, ',' ORDER BY o.order_id)) FROM o2o.orders o) = :'first_orders_md5' AS same_orders,
	   (SELECT md5(string_agg(s.dealer_id || s.sku || s.on_hand, ',' ORDER BY s.dealer_id, s.sku)) FROM o2o.stock s) = :'first_stock_md5' AS same_stock
  FROM o2o.grid;
SET client_min_messages = warning;
SELECT o2o_gen.build(8, n_grids => 60, n_dealers => 600, n_orders => 3000);
RESET client_min_messages;
SELECT md5(string_agg(ST_AsEWKB(geom)::text || province || city || county, ',' ORDER BY grid_id)) <> :'first_grids_md5' AS other_seed_other_world
  FROM o2o.grid;
-- bad sizes are refused
SELECT o2o_gen.build(7, n_grids => 2);

-- leave the database empty for the next test
SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule RESTART IDENTITY CASCADE;
