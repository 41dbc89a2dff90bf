------------------------------------------------------------------------
-- coverage, for BI tools (QGIS can map every view that has geom)
------------------------------------------------------------------------
/*
 * Per grid: its dealers, and what the active ones can serve: active
 * installers of active dealers and their daily capacity, SKUs with units
 * available, and units available (on_hand - reserved - safety: what online
 * may take).
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
  LEFT JOIN (SELECT dl.grid_id, pg_catalog.count(DISTINCT st.sku) AS skus_in_stock,
					sum(st.on_hand - st.reserved - st.safety) AS units_available
			   FROM o2o.stock st JOIN o2o.dealer dl USING (dealer_id)
			  WHERE dl.active AND st.on_hand - st.reserved - st.safety > 0 GROUP BY dl.grid_id) s USING (grid_id);
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
 CROSS JOIN pg_catalog.unnest(ARRAY['fridge', 'washer', 'ac', 'water_heater', 'range_hood', 'purifier']) AS c(category)
 WHERE NOT EXISTS (SELECT 1
					 FROM o2o.dealer d
					 JOIN o2o.stock s ON s.dealer_id = d.dealer_id AND s.on_hand - s.reserved - s.safety > 0
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
	SET search_path = pg_catalog, pg_temp
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
		   pg_catalog.count(DISTINCT s.dealer_id), sum(s.on_hand - s.reserved - s.safety)::bigint
	  FROM o2o.stock s
	  JOIN o2o.dealer d ON d.dealer_id = s.dealer_id AND d.active
	  JOIN o2o.grid g ON g.grid_id = d.grid_id
	 WHERE s.sku = o2o_stock_rollup.sku AND s.on_hand - s.reserved - s.safety > 0
	 GROUP BY GROUPING SETS ((g.region_id, g.province),
							 (g.region_id, g.province, g.city),
							 (g.region_id, g.province, g.city, g.county))
	 ORDER BY g.province, g.city NULLS FIRST, g.county NULLS FIRST;
END
$$;
COMMENT ON FUNCTION o2o_stock_rollup(text) IS
	'availability of one SKU by province, city and county: active dealers with units available and the units; errors (O2003) for an unknown SKU';

