/*
 * o2o_route 0.5.0 -> 0.6.0: the grid index and the dealer cache shared by
 * every backend (with o2o_route in shared_preload_libraries), and a view
 * of them.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION o2o_route UPDATE TO '0.6.0'" to load this file. \quit

COMMENT ON FUNCTION o2o_grid_index_stats() IS
	'the grid index this backend reads (built now if missing or stale): size, memory and the duration of its last build';

CREATE FUNCTION o2o_cache_status(OUT cache text, OUT mode text, OUT preloaded boolean,
								 OUT version bigint, OUT bytes bigint, OUT builds bigint,
								 OUT last_build_ms float8, OUT built_at timestamptz,
								 OUT attached int)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'o2o_cache_status'
	LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED ROWS 2;
COMMENT ON FUNCTION o2o_cache_status() IS
	'the grid index and the dealer cache: shared or this backend''s own copy, version, bytes, builds, last build, backends attached; builds nothing';

-- the caches are shared only when the library is preloaded: say so once (a
-- WARNING: CREATE EXTENSION runs its script with client_min_messages = warning)
DO $$
BEGIN
	IF current_setting('shared_preload_libraries') !~ '(^|[, ])"?o2o_route"?($|[, ])' THEN
		RAISE WARNING 'o2o_route is not in shared_preload_libraries: each connection builds its own grid index and dealer cache'
			USING HINT = 'Add o2o_route to shared_preload_libraries and restart the server to share them (see the README, Shared caches).';
	END IF;
END
$$;
