------------------------------------------------------------------------
-- grid membership, in C (src/grid.c, src/gridindex.c)
------------------------------------------------------------------------
CREATE FUNCTION o2o_grid_of(geometry) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_grid_of'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_grid_of(geometry) IS
	'grid covering a point of SRID 4326 (borders included; lowest grid_id where grids share or overlap); NULL outside every grid';

CREATE FUNCTION o2o_grid_of(lon float8, lat float8) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_grid_of_lonlat'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_grid_of(float8, float8) IS
	'grid covering the point (lon, lat) in degrees; same rule as o2o_grid_of(geometry)';

CREATE FUNCTION o2o_grid_nearest(geometry, max_distance_m float8 DEFAULT 5000) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_grid_nearest'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_grid_nearest(geometry, float8) IS
	'grid covering the point, else the grid whose border is nearest within max_distance_m metres (lowest grid_id on ties); NULL when none is that near';

CREATE FUNCTION o2o_grid_index_stats(OUT grids int, OUT vertices bigint, OUT edges bigint,
									 OUT cells bigint, OUT edge_refs bigint,
									 OUT index_bytes bigint, OUT vertex_bytes bigint,
									 OUT build_ms float8)
	RETURNS record
	AS 'MODULE_PATHNAME', 'o2o_grid_index_stats'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
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

-- any change to o2o.grid makes every backend rebuild its grid index
CREATE TRIGGER grid_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.grid
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._table_changed();

