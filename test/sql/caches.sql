-- stands alone: make installcheck REGRESS=caches
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- The grid index and the dealer cache: with o2o_route in
-- shared_preload_libraries, one image per database in shared memory that
-- every backend maps (mode "shared"); without it, each backend's own copy
-- (mode "own"; the expected output caches_1.out).
\set SHOW_CONTEXT never
SET extra_float_digits = 0;

INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (1, 'G1', 'West', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))'),
 (2, 'G2', 'East', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((110 30,111 30,111 31,110 31,110 30)))');
INSERT INTO o2o.dealer (dealer_id, name, kind, location, service_radius_m, active) VALUES
 (10, 'Near', 'retailer', 'SRID=4326;POINT(109.55 30.5)', 30000, true);

-- nothing is built until something reads it
SELECT cache, mode, preloaded FROM o2o_cache_status() ORDER BY cache;
SELECT o2o_grid_of(109.5, 30.5) AS west, o2o_grid_of(110.5, 30.5) AS east;
SELECT cache, mode, version IS NOT NULL AS published, bytes > 0 AS has_bytes,
	   builds >= 1 AS built, last_build_ms >= 0 AS timed, attached >= 1 AS attached
  FROM o2o_cache_status() ORDER BY cache;
SELECT coalesce(version, 0) AS v0, builds AS b0 FROM o2o_cache_status() WHERE cache = 'grid index' \gset

-- only a change of content rebuilds: not ANALYZE, VACUUM or GRANT
ANALYZE o2o.grid;
VACUUM o2o.grid;
GRANT SELECT ON o2o.grid TO PUBLIC;
REVOKE SELECT ON o2o.grid FROM PUBLIC;
SELECT o2o_grid_of(109.5, 30.5) AS west;
SELECT coalesce(version, 0) = :v0 AS same_image, builds - :b0 AS builds_since
  FROM o2o_cache_status() WHERE cache = 'grid index';

-- a transaction that changes a cached table reads its own copy, with its
-- change, from its next command; a rollback leaves the published image
BEGIN;
UPDATE o2o.grid SET geom = 'SRID=4326;MULTIPOLYGON(((109.6 30,111 30,111 31,109.6 31,109.6 30)))' WHERE grid_id = 2;
SELECT o2o_grid_of(109.8, 30.5) AS moved_border;
SELECT cache, mode FROM o2o_cache_status() ORDER BY cache;
ROLLBACK;
SELECT o2o_grid_of(109.8, 30.5) AS after_rollback;
SELECT cache, mode FROM o2o_cache_status() ORDER BY cache;
SELECT coalesce(version, 0) = :v0 AS same_image, builds - :b0 AS builds_since
  FROM o2o_cache_status() WHERE cache = 'grid index';

-- committed: the writer builds the new image before its commit and
-- publishes it at commit; readers map it at their next statement
BEGIN;
UPDATE o2o.grid SET geom = 'SRID=4326;MULTIPOLYGON(((109.6 30,111 30,111 31,109.6 31,109.6 30)))' WHERE grid_id = 2;
UPDATE o2o.grid SET geom = 'SRID=4326;MULTIPOLYGON(((109 30,109.6 30,109.6 31,109 31,109 30)))' WHERE grid_id = 1;
COMMIT;
SELECT o2o_grid_of(109.8, 30.5) AS moved_border;
SELECT coalesce(version, 0) > :v0 AS newer_image, builds - :b0 AS builds_since, mode
  FROM o2o_cache_status() WHERE cache = 'grid index';
-- the dealer cache followed the grid (the dealer's grid is derived)
SELECT dealer_id, grid_id FROM o2o.dealer;

-- a transaction that changed a cached table cannot be prepared: the shared
-- image is published by the commit of the transaction that changed it
BEGIN;
UPDATE o2o.dealer SET service_radius_m = 31000 WHERE dealer_id = 10;
PREPARE TRANSACTION 'o2o_caches';
\echo :LAST_ERROR_SQLSTATE
SELECT service_radius_m FROM o2o.dealer WHERE dealer_id = 10;

-- the extension dropped and created again: the image of the dropped tables
-- is not used.  Without the library preloaded, CREATE EXTENSION says so.
DROP EXTENSION o2o_route;
CREATE EXTENSION o2o_route;
SELECT o2o_grid_of(109.5, 30.5) AS no_grids_yet;
SELECT cache, mode, builds >= 1 AS built FROM o2o_cache_status() ORDER BY cache;

SET client_min_messages = warning;
TRUNCATE o2o.grid RESTART IDENTITY CASCADE;
RESET client_min_messages;
