-- stands alone: make installcheck REGRESS=version
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- the library reports its version after checking the installed SQL version
SELECT o2o_route_version() = (SELECT default_version FROM pg_available_extensions
							   WHERE name = 'o2o_route') AS library_is_default_version;
-- library and SQL objects disagree (as after installing a new library without
-- ALTER EXTENSION ... UPDATE): a clear error, not a silent mismatch
-- (the library's own version is masked so that this output outlives releases)
BEGIN;
UPDATE pg_extension SET extversion = '0.0.1' WHERE extname = 'o2o_route';
DO $$
BEGIN
	PERFORM o2o_route_version();
EXCEPTION WHEN object_not_in_prerequisite_state THEN
	DECLARE
		msg text;
		detail text;
		hint text;
	BEGIN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
		RAISE NOTICE 'SQLSTATE %: %', SQLSTATE, regexp_replace(msg, 'library version [0-9.]+', 'library version X');
		RAISE NOTICE 'detail: %', regexp_replace(detail, 'built for version [0-9.]+', 'built for version X');
		RAISE NOTICE 'hint: %', hint;
	END;
END
$$;
ROLLBACK;
SELECT o2o_route_version() IS NOT NULL AS agrees_again;
-- settings under the o2o_route. prefix are reserved: a misspelt one is an error
SET o2o_route.no_such_setting = 1;
\echo :LAST_ERROR_SQLSTATE
-- in a session that has not loaded the library yet, PostgreSQL keeps any
-- o2o_route.* value as an unchecked placeholder; loading the library checks
-- them: an invalid value is dropped (the default stays), a misspelt name is
-- removed, each with a WARNING; then both are errors
\c -
SET o2o_route.weight_distance = 'abc';
SET o2o_route.no_such_setting = 1;
SHOW o2o_route.weight_distance;
SELECT o2o_grid_of(0, 0) AS loads_the_library;
SHOW o2o_route.weight_distance;
SHOW o2o_route.no_such_setting;
\echo :LAST_ERROR_SQLSTATE
SET o2o_route.weight_distance = 'abc';
\echo :LAST_ERROR_SQLSTATE
