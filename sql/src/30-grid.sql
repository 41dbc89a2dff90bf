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
	'the grid index of this backend (built now if missing or stale): size, memory and the duration of its last build';

-- any change to o2o.grid makes every backend rebuild its grid index
CREATE TRIGGER grid_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.grid
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._table_changed();

