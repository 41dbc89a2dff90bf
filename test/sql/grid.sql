-- stands alone: make installcheck REGRESS=grid
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- o2o_grid_of / o2o_grid_nearest: semantics, border and overlap rules, bad
-- input, and agreement with PostGIS on a generated world.
\set SHOW_CONTEXT never
SET extra_float_digits = 0;

-- 1: west square, 2: east square (shared border lon = 110),
-- 3: overlaps the east half of 2 (lon 110.5 .. 111.5),
-- 4: a square with a hole, 5: an island in that hole, 6: a two-part multipolygon
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (1, 'G1', 'West', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))'),
 (2, 'G2', 'East', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((110 30,111 30,111 31,110 31,110 30)))'),
 (3, 'G3', 'Overlap', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((110.5 30,111.5 30,111.5 31,110.5 31,110.5 30)))'),
 (4, 'G4', 'Ring', 'P', 'C', 'K', 2, 'south', 'SRID=4326;MULTIPOLYGON(((100 20,104 20,104 24,100 24,100 20),(101 21,103 21,103 23,101 23,101 21)))'),
 (5, 'G5', 'Island', 'P', 'C', 'K', 2, 'south', 'SRID=4326;MULTIPOLYGON(((101.5 21.5,102.5 21.5,102.5 22.5,101.5 22.5,101.5 21.5)))'),
 (6, 'G6', 'Archipelago', 'P', 'C', 'K', 2, 'south', 'SRID=4326;MULTIPOLYGON(((90 20,91 20,91 21,90 21,90 20)),((92 20,93 20,93 21,92 21,92 20)))');

SELECT label, o2o_grid_of(ST_SetSRID(ST_MakePoint(x::float8, y::float8), 4326)) AS by_geometry, o2o_grid_of(x::float8, y::float8) AS by_lonlat
  FROM (VALUES ('inside west', 109.5, 30.5),
			   ('inside east only', 110.2, 30.5),
			   ('on the shared border: lowest grid_id', 110, 30.5),
			   ('on a shared corner', 110, 31),
			   ('in the overlap of 2 and 3: lowest grid_id', 110.7, 30.5),
			   ('in 3 only', 111.2, 30.5),
			   ('on the outer border of 3', 111.5, 30.7),
			   ('in the ring of 4', 100.5, 20.5),
			   ('in the hole of 4, outside the island', 101.2, 21.2),
			   ('on the hole''s border', 101, 22),
			   ('on the island', 102, 22),
			   ('second part of 6', 92.5, 20.5),
			   ('between the parts of 6', 91.5, 20.5),
			   ('far away', 0, 0),
			   ('on a vertex of 1', 109, 30)) AS t(label, x, y);

-- NULL in, NULL out
SELECT o2o_grid_of(NULL::geometry) IS NULL AS geom_null, o2o_grid_of(NULL, 30) IS NULL AS lon_null,
	   o2o_grid_nearest(NULL, 100) IS NULL AS nearest_null,
	   o2o_grid_nearest('SRID=4326;POINT(109.5 30.5)', NULL) IS NULL AS distance_null;

-- bad input
SELECT o2o_grid_of('SRID=4326;LINESTRING(109 30,110 31)'::geometry);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_of('SRID=4326;POINT EMPTY'::geometry);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_of('SRID=3857;POINT(109.5 30.5)'::geometry);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_of('POINT(109.5 30.5)'::geometry);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_of('SRID=4326;MULTIPOINT((109.5 30.5))'::geometry);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_of(ST_SetSRID(ST_MakePoint('NaN', 30), 4326));
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_of(181, 30);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_of(109, -90.5);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_of('NaN', 30);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_of('Infinity', 30);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_nearest('SRID=4326;POINT(109.5 30.5)', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_nearest('SRID=4326;POINT(109.5 30.5)', 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_nearest('SRID=4326;POINT(200 30.5)', 100);
\echo :LAST_ERROR_SQLSTATE
-- a 3D point is a point: its x and y count
SELECT o2o_grid_of('SRID=4326;POINT Z (109.5 30.5 12)'::geometry) AS point_z;

-- nearest: geocodes that fall just outside a grid (1 km ~ 0.0104 degrees of
-- longitude at 30.5 N); a point inside returns its own grid
SELECT label, o2o_grid_nearest(ST_SetSRID(ST_MakePoint(x::float8, y::float8), 4326), d::float8) AS grid
  FROM (VALUES ('inside', 109.5, 30.5, 0.0),
			   ('1 km west of grid 1, within 2 km', 108.9896, 30.5, 2000.0),
			   ('1 km west of grid 1, within 500 m', 108.9896, 30.5, 500.0),
			   ('1 km south of grid 6 part two', 92.5, 19.991, 2000.0),
			   ('between the parts of 6: outside, covered', 91.5, 20.5, 60000.0),
			   ('equidistant from both parts of 6: lowest grid_id', 91.5, 20.5, 60000.0),
			   ('1 km north of 1 and 2, on their border line: lowest', 110, 31.009, 2000.0),
			   ('far away, huge radius', 50, 20, 1e7),
			   ('far away', 50, 20, 100000.0)) AS t(label, x, y, d);

-- the index reflects changes at the next statement: move the 1|2 border east
SELECT o2o_grid_of(110.2, 30.5) AS before_move;
UPDATE o2o.grid SET geom = 'SRID=4326;MULTIPOLYGON(((109 30,110.4 30,110.4 31,109 31,109 30)))' WHERE grid_id = 1;
SELECT o2o_grid_of(110.2, 30.5) AS after_move;
-- within a transaction too, and a rollback restores it
BEGIN;
DELETE FROM o2o.grid WHERE grid_id = 1;
SELECT o2o_grid_of(110.2, 30.5) AS after_delete;
ROLLBACK;
SELECT o2o_grid_of(110.2, 30.5) AS after_rollback;
SET client_min_messages = warning;
TRUNCATE o2o.grid CASCADE;
RESET client_min_messages;
SELECT o2o_grid_of(110.2, 30.5) AS after_truncate, o2o_grid_nearest('SRID=4326;POINT(110.2 30.5)', 1e7) AS nearest_none;

-- exact orientation: four grids meet at (0, 0); points a hair off that
-- vertex, down to the smallest subnormal where every product underflows,
-- fall in the grid PostGIS says (before 0.5.0, (-5e-324, -5e-324) went to
-- a neighbour), and so do points a hair off a slanted edge
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (11, 'NE', 'NE', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)))'),
 (12, 'NW', 'NW', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((-1 0,0 0,0 1,-1 1,-1 0)))'),
 (13, 'SW', 'SW', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((-1 -1,0 -1,0 0,-1 0,-1 -1)))'),
 (14, 'SE', 'SE', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((0 -1,1 -1,0.3 0.7,0 0,0 -1)))');
SELECT x, y, o2o_grid_of(x, y) AS o2o,
	   (SELECT min(grid_id) FROM o2o.grid WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(x, y), 4326))) AS postgis
  FROM (VALUES (-5e-324::float8, -5e-324::float8), (5e-324, -5e-324), (-5e-324, 5e-324), (5e-324, 5e-324),
			   (-1e-310, -3e-320), (1e-300, -1e-300), (0, 0), (-0.0, -5e-324),
			   (0.3, 0.7 - 1e-16), (0.15, 0.35), (0.15 + 1e-15, 0.35)) v(x, y)
 ORDER BY 1, 2;
SET client_min_messages = warning;
TRUNCATE o2o.grid CASCADE;
RESET client_min_messages;

-- distances wrap at the antimeridian, on both sides, and agree with
-- PostGIS's sphere within 0.1%: grid 21 touches lon 180 from the west,
-- grid 22 touches -180 from the east; points across the line from each
-- find it within 1.001 times PostGIS's distance, and not within 0.999 times
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (21, 'AE', 'AE', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((179.8 0,180 0,180 0.2,179.8 0.2,179.8 0)))'),
 (22, 'AW', 'AW', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((-180 50,-179.8 50,-179.8 50.2,-180 50.2,-180 50)))');
SELECT label, o2o_grid_nearest(pt, 1.001 * d) AS within_1_001, o2o_grid_nearest(pt, 0.999 * d) AS within_0_999
  FROM (SELECT label, pt, (SELECT min(ST_Distance(g.geom::geography, pt::geography, false)) FROM o2o.grid g) AS d
		  FROM (VALUES ('(-179.95, 0.1): 5.6 km from 21', ST_SetSRID(ST_Point(-179.95, 0.1), 4326)),
					   ('(-179.7, 0.3): 35 km from 21', ST_SetSRID(ST_Point(-179.7, 0.3), 4326)),
					   ('(179.9, 50.1): 7.1 km from 22', ST_SetSRID(ST_Point(179.9, 50.1), 4326)),
					   ('(179.6, 49.9): 31 km from 22', ST_SetSRID(ST_Point(179.6, 49.9), 4326))) v(label, pt)) q;
SET client_min_messages = warning;
TRUNCATE o2o.grid CASCADE;
RESET client_min_messages;

-- agreement with PostGIS on a generated world: every order point, points
-- on every vertex of every grid, and random points over the country and its
-- surroundings; the reference is ST_Covers with the lowest grid_id
\set ECHO none
\i test/fixtures/worldgen.sql
\set ECHO all
SET client_min_messages = warning;
SELECT o2o_gen.build(5, n_grids => 80, n_dealers => 800, n_orders => 20000);
RESET client_min_messages;
CREATE TEMP TABLE probe AS
SELECT 'order' AS kind, location AS pt FROM o2o.orders
UNION ALL
SELECT 'vertex', ST_SetSRID((ST_DumpPoints(geom)).geom, 4326) FROM o2o.grid WHERE grid_id % 10 = 0
UNION ALL
SELECT 'random', ST_SetSRID(ST_MakePoint(ST_XMin(b) - 0.5 + (ST_XMax(b) - ST_XMin(b) + 1) * o2o_gen.rnd(1, 1, i),
										 ST_YMin(b) - 0.5 + (ST_YMax(b) - ST_YMin(b) + 1) * o2o_gen.rnd(1, 2, i)), 4326)
  FROM (SELECT ST_Extent(geom)::geometry AS b FROM o2o.grid) e, generate_series(1, 20000) i;
SELECT kind, count(*) >= 2000 AS many_points,
	   count(*) FILTER (WHERE o2o_grid_of(pt) IS DISTINCT FROM
						(SELECT min(g.grid_id) FROM o2o.grid g WHERE ST_Covers(g.geom, pt))) AS disagree_covers,
	   count(*) FILTER (WHERE o2o_grid_of(pt) IS NULL) > 0 AS some_outside
  FROM probe GROUP BY kind ORDER BY kind;
-- ST_Contains (borders excluded) agrees wherever it finds a grid
SELECT count(*) AS disagree_contains
  FROM probe p, LATERAL (SELECT g.grid_id FROM o2o.grid g WHERE ST_Contains(g.geom, p.pt)) c
 WHERE o2o_grid_of(p.pt) <> c.grid_id;
-- o2o_grid_nearest: an order outside every grid goes to the grid PostGIS
-- finds nearest on the sphere, within the radius asked for
SELECT count(*) AS outside_orders,
	   count(*) FILTER (WHERE o2o_grid_nearest(o.location, 5000) IS DISTINCT FROM
						(SELECT g.grid_id FROM o2o.grid g
						  WHERE ST_DWithin(g.geom::geography, o.location::geography, 5000, false)
						  ORDER BY ST_Distance(g.geom::geography, o.location::geography, false), g.grid_id
						  LIMIT 1)) AS disagree_within_5km,
	   count(*) FILTER (WHERE o2o_grid_nearest(o.location, 1e6) IS DISTINCT FROM
						(SELECT g.grid_id FROM o2o.grid g
						  ORDER BY ST_Distance(g.geom::geography, o.location::geography, false), g.grid_id
						  LIMIT 1)) AS disagree_unbounded
  FROM o2o.orders o WHERE o.grid_id IS NULL;

-- far from every grid a search ends in bounded work.  Near a pole a degree
-- of longitude is worth ~0 m, and before 0.5.0 the rings of cells around
-- such a query never stopped early: on the default world a 1e8 m search
-- from (-180, -90) ran 13 s, from (-180, 90) 15 s, and 5000 m from either
-- as long (the search could only be cancelled).  Now each of these ends in
-- about a millisecond; the statement_timeout only guards the test.
SELECT count(*) AS index_built FROM o2o_grid_index_stats();
CREATE TEMP TABLE far_query AS
SELECT x, y, d, ST_SetSRID(ST_Point(x, y), 4326) AS pt
  FROM (VALUES (-180::float8, -90::float8), (0, -90), (180, -90), (-180, 90), (0, 90), (180, 90),
			   (-179, -89), (180, 0), (-180, 0), (-179.9, 0)) v(x, y),
	   (VALUES (1e8::float8), (5000)) w(d);
SET statement_timeout = '20s';
DO $$
DECLARE
	q			record;
	t0			timestamptz;
	slowest		interval := '0';
BEGIN
	FOR q IN SELECT * FROM far_query LOOP
		t0 := clock_timestamp();
		PERFORM o2o_grid_nearest(q.pt, q.d);
		slowest := greatest(slowest, clock_timestamp() - t0);
	END LOOP;
	RAISE NOTICE 'all 20 far searches ended, each well within a second: %', slowest < interval '1 s';
END
$$;
RESET statement_timeout;
-- and each finds PostGIS's nearest grid on the sphere, or none when none is
-- within the distance: at a pole the projection is the sphere's own, and
-- distances wrap at the antimeridian, so (-180, 0) is (180, 0)
SELECT x, y, d, o2o_grid_nearest(pt, d) IS NOT NULL AS found,
	   o2o_grid_nearest(pt, d) IS NOT DISTINCT FROM
	   (SELECT g.grid_id FROM o2o.grid g
		 WHERE ST_DWithin(g.geom::geography, pt::geography, d, false)
		 ORDER BY ST_Distance(g.geom::geography, pt::geography, false), g.grid_id
		 LIMIT 1) AS same_as_postgis
  FROM far_query ORDER BY d DESC, y, x;

-- under a parallel plan each worker builds its own index (under the query's
-- snapshot) and the answers are the same
CREATE TABLE grid_parallel_probe AS SELECT location FROM o2o.orders;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT count(o2o_grid_of(location)) FROM grid_parallel_probe;
SELECT count(o2o_grid_of(location)) AS parallel_in_grid,
	   sum(o2o_grid_of(location)) AS parallel_sum,
	   count(o2o_grid_nearest(location, 5000)) AS parallel_nearest
  FROM grid_parallel_probe \gset
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET parallel_leader_participation;
SELECT count(o2o_grid_of(location)) = :parallel_in_grid AS same_count,
	   sum(o2o_grid_of(location)) = :parallel_sum AS same_grids,
	   count(o2o_grid_nearest(location, 5000)) = :parallel_nearest AS same_nearest
  FROM grid_parallel_probe;
DROP TABLE grid_parallel_probe;

-- the index: one entry per grid, every vertex, memory within 2x the vertices
SELECT s.grids = (SELECT count(*) FROM o2o.grid) AS all_grids,
	   s.vertices = (SELECT sum(ST_NPoints(geom)) FROM o2o.grid) AS all_vertices,
	   s.index_bytes <= 2 * s.vertex_bytes AS within_2x
  FROM o2o_grid_index_stats() s;

-- leave the database empty for the next test
SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule RESTART IDENTITY CASCADE;
