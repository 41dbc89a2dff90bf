/* o2o_route--0.1.0--0.2.0.sql: grid membership in C, coverage views */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION o2o_route UPDATE TO '0.2.0'" to load this file. \quit

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

CREATE FUNCTION o2o._grid_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_grid_changed'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._grid_changed() IS
	'internal trigger: any change to o2o.grid makes every backend rebuild its grid index';

CREATE TRIGGER grid_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.grid
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._grid_changed();

-- the PostGIS lookup of 0.1.0 gives way to o2o_grid_of
DROP FUNCTION o2o._grid_lookup(geometry);

CREATE OR REPLACE FUNCTION o2o._dealer_derive() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	-- a location that is empty or out of the lon/lat range is left to the
	-- dealer_location_* check constraints
	IF ST_X(NEW.location) BETWEEN -180 AND 180 AND ST_Y(NEW.location) BETWEEN -90 AND 90 THEN
		NEW.grid_id := o2o_grid_of(NEW.location);
		IF NEW.grid_id IS NULL THEN
			RAISE EXCEPTION 'dealer location is outside every service grid'
				USING ERRCODE = 'O2001',
					  DETAIL = format('Dealer %s is at %s, which no row of o2o.grid covers.',
									  NEW.dealer_id, ST_AsText(NEW.location));
		END IF;
		SELECT g.region_id INTO NEW.region_id FROM o2o.grid g WHERE g.grid_id = NEW.grid_id;
	ELSE
		NEW.grid_id := NULL;
		NEW.region_id := NULL;
	END IF;
	RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION o2o._order_derive() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	IF ST_X(NEW.location) BETWEEN -180 AND 180 AND ST_Y(NEW.location) BETWEEN -90 AND 90 THEN
		NEW.grid_id := o2o_grid_of(NEW.location);
		SELECT g.region_id INTO NEW.region_id FROM o2o.grid g WHERE g.grid_id = NEW.grid_id;
	ELSE
		NEW.grid_id := NULL;
		NEW.region_id := NULL;
	END IF;
	RETURN NEW;
END
$$;

DROP TRIGGER grid_reshaped ON o2o.grid;
DROP FUNCTION o2o._grid_reshaped();

/*
 * After grids are added or reshaped, re-derive the grid of the dealers and
 * open orders they cover (or covered).  One pass per statement, over the
 * transition tables, so that reloading every grid costs one index rebuild.
 */
CREATE FUNCTION o2o._grid_reshaped() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
DECLARE
	-- the shapes, before and after, of the grids that changed
	changed text := CASE TG_OP WHEN 'UPDATE' THEN
		'(SELECT unnest(ARRAY[o.geom, n.geom]) AS geom
			FROM old_grids o JOIN new_grids n USING (grid_id)
		   WHERE o.geom IS DISTINCT FROM n.geom OR o.region_id IS DISTINCT FROM n.region_id)'
		ELSE 'new_grids' END;
BEGIN
	EXECUTE format('UPDATE o2o.dealer d SET location = d.location FROM %s r
					 WHERE ST_Covers(r.geom, d.location)', changed);
	EXECUTE format('UPDATE o2o.orders o SET location = o.location FROM %s r
					 WHERE o.status IN (''pending'', ''unassignable'')
					   AND ST_Covers(r.geom, o.location)', changed);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION o2o._grid_reshaped() IS 'internal trigger: re-derive dealer and open-order grids after grids are added or reshaped';

CREATE TRIGGER grid_reshaped
	AFTER UPDATE ON o2o.grid
	REFERENCING OLD TABLE AS old_grids NEW TABLE AS new_grids
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._grid_reshaped();
CREATE TRIGGER grid_added
	AFTER INSERT ON o2o.grid
	REFERENCING NEW TABLE AS new_grids
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._grid_reshaped();

------------------------------------------------------------------------
-- coverage, for BI tools (QGIS can map every view that has geom)
------------------------------------------------------------------------
/*
 * Per grid: its dealers, and what the active ones can serve: active
 * installers of active dealers and their daily capacity, SKUs with units
 * available, and units available (on_hand - reserved).
 */
CREATE VIEW o2o.grid_coverage AS
SELECT g.grid_id, g.code, g.name, g.province, g.city, g.county, g.region_id, g.climate,
	   coalesce(d.dealers, 0) AS dealers,
	   coalesce(d.active_dealers, 0) AS active_dealers,
	   coalesce(i.installers, 0) AS installers,
	   coalesce(i.daily_install_capacity, 0) AS daily_install_capacity,
	   coalesce(s.skus_in_stock, 0) AS skus_in_stock,
	   coalesce(s.units_available, 0) AS units_available,
	   g.geom
  FROM o2o.grid g
  LEFT JOIN (SELECT grid_id, count(*) AS dealers, count(*) FILTER (WHERE active) AS active_dealers
			   FROM o2o.dealer GROUP BY grid_id) d USING (grid_id)
  LEFT JOIN (SELECT dl.grid_id, count(*) AS installers, sum(ins.daily_capacity) AS daily_install_capacity
			   FROM o2o.installer ins JOIN o2o.dealer dl USING (dealer_id)
			  WHERE ins.active AND dl.active GROUP BY dl.grid_id) i USING (grid_id)
  LEFT JOIN (SELECT dl.grid_id, count(DISTINCT st.sku) AS skus_in_stock,
					sum(st.on_hand - st.reserved) AS units_available
			   FROM o2o.stock st JOIN o2o.dealer dl USING (dealer_id)
			  WHERE dl.active AND st.on_hand > st.reserved GROUP BY dl.grid_id) s USING (grid_id);
COMMENT ON VIEW o2o.grid_coverage IS
	'per grid: dealers, active dealers, active installers and daily install capacity, SKUs in stock and units available (active dealers), geometry';

/*
 * Holes: one row per grid and category that nobody in the grid can supply
 * now: either the grid has no active dealer, or none of its active dealers
 * has a unit of that category available.
 */
CREATE VIEW o2o.grid_holes AS
SELECT g.grid_id, g.code, g.name, g.province, g.city, g.county, g.region_id, c.category,
	   CASE WHEN NOT EXISTS (SELECT 1 FROM o2o.dealer d WHERE d.grid_id = g.grid_id AND d.active)
			THEN 'no active dealer' ELSE 'no stock' END AS reason,
	   g.geom
  FROM o2o.grid g
 CROSS JOIN unnest(ARRAY['fridge', 'washer', 'ac', 'water_heater', 'range_hood', 'purifier']) AS c(category)
 WHERE NOT EXISTS (SELECT 1
					 FROM o2o.dealer d
					 JOIN o2o.stock s ON s.dealer_id = d.dealer_id AND s.on_hand > s.reserved
					 JOIN o2o.product p ON p.sku = s.sku AND p.category = c.category
					WHERE d.grid_id = g.grid_id AND d.active);
COMMENT ON VIEW o2o.grid_holes IS
	'grid and category pairs that no active dealer of the grid can supply now (reason: no active dealer, or no stock)';

/*
 * The storefront's question for one SKU: where is it available, by
 * province, city and county (active dealers with units available, and how
 * many units).  level says which roll-up a row is.
 */
CREATE FUNCTION o2o_stock_rollup(sku text)
	RETURNS TABLE (level text, region_id int, province text, city text, county text,
				   dealers bigint, units_available bigint)
	LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
	SET search_path FROM CURRENT
	AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM o2o.product p WHERE p.sku = o2o_stock_rollup.sku) THEN
		RAISE EXCEPTION 'unknown SKU'
			USING ERRCODE = 'O2003',
				  DETAIL = format('No row of o2o.product has sku %L.', o2o_stock_rollup.sku);
	END IF;
	RETURN QUERY
	SELECT CASE WHEN grouping(g.city) = 1 THEN 'province'
				WHEN grouping(g.county) = 1 THEN 'city' ELSE 'county' END,
		   g.region_id, g.province, g.city, g.county,
		   count(DISTINCT s.dealer_id), sum(s.on_hand - s.reserved)::bigint
	  FROM o2o.stock s
	  JOIN o2o.dealer d ON d.dealer_id = s.dealer_id AND d.active
	  JOIN o2o.grid g ON g.grid_id = d.grid_id
	 WHERE s.sku = o2o_stock_rollup.sku AND s.on_hand > s.reserved
	 GROUP BY GROUPING SETS ((g.region_id, g.province),
							 (g.region_id, g.province, g.city),
							 (g.region_id, g.province, g.city, g.county))
	 ORDER BY g.province, g.city NULLS FIRST, g.county NULLS FIRST;
END
$$;
COMMENT ON FUNCTION o2o_stock_rollup(text) IS
	'availability of one SKU by province, city and county: active dealers with units available and the units; errors (O2003) for an unknown SKU';
