-- the library reports its version after checking the installed SQL version
SELECT o2o_route_version() = (SELECT default_version FROM pg_available_extensions
							   WHERE name = 'o2o_route') AS library_is_default_version;
-- library and SQL objects disagree (as after installing a new library without
-- ALTER EXTENSION ... UPDATE): a clear error, not a silent mismatch
BEGIN;
UPDATE pg_extension SET extversion = '0.0.1' WHERE extname = 'o2o_route';
SELECT o2o_route_version();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT o2o_route_version() IS NOT NULL AS agrees_again;
-- settings under the o2o_route. prefix are reserved: a misspelt one is an error
SET o2o_route.no_such_setting = 1;
\echo :LAST_ERROR_SQLSTATE
