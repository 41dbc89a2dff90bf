/*
 * bench/baseline_promise.sql — the benchmark baseline for a delivery promise.
 *
 * baseline.promise(sku, location, qty) answers, before an order exists, what
 * o2o_assign would decide for an order of qty units of sku delivered at
 * location if it were inserted now: whether it can be delivered, by which
 * dealer, from which grid, and on which day (the installation's day for a
 * model that needs installing, else the first day a delivery can happen).
 * It is written the way a backend developer would write it without the
 * extension's C code, with the rules of baseline.assign
 * (bench/baseline_assign.sql): one PL/pgSQL function, PostGIS for the grid
 * of the point and for distances, plain SQL for the filters, the installers
 * and the score.  It reads only: no row is written or locked.
 *
 *     \i bench/baseline_assign.sql        -- first: schema baseline, baseline.around()
 *     \i bench/baseline_promise.sql
 *     SELECT * FROM baseline.promise('AC-001', 'SRID=4326;POINT(113.5 22.6)', 1);
 *
 * It reads the o2o_route.* settings, so it uses the same weights, radius,
 * horizon, cross-grid policy and stock age (o2o_route.stock_max_age, from
 * o2o.dealer_sync) as o2o_assign; what a dealer may offer online is
 * on_hand - reserved - safety.  A promise has no order, so no dealer has
 * declined it.  It departs from baseline.assign in two places:
 *  - distances are PostGIS geography distances on the sphere (use_spheroid
 *    false, radius 6,371,008.77 m), as the C code's haversine (6,371,008.8 m):
 *    they agree to under a millimetre here.  baseline.assign measures on the
 *    spheroid, 0.1-0.3% off the sphere at these latitudes; with that, about
 *    one promise in 500 named another dealer than o2o_assign (two scores
 *    within 1e-4, a dealer 17 m inside max_distance_m on one and not the
 *    other);
 *  - a dealer without an active installer has load 0, as in the C code
 *    (baseline.assign's least(1.0, NULL) makes it 1).
 * Where it knowingly differs from the C code:
 *  - the nearest grid of a point outside every grid is the nearest on the
 *    sphere, where the C code measures in a local equirectangular
 *    projection at the point: two grids almost equally near can swap;
 *  - dealers of other grids are those within max_distance_m (ST_DWithin)
 *    rather than those in a lon/lat box of that size: the box's corners are
 *    out of reach anyway, so only the counts in the reason differ;
 *  - the settings are read back as text (current_setting), so a weight set
 *    with more than six significant digits is rounded to six;
 *  - when nobody can serve, reason is a tally of why, as in
 *    baseline.assign, not the C code's text; a dealer that could serve but
 *    is not among the nearest max_candidates holders counts as "beyond
 *    max_candidates" (the C code's explanation says "reserved meanwhile").
 */
CREATE OR REPLACE FUNCTION baseline.promise(p_sku text, p_location geometry, p_qty int DEFAULT 1)
	RETURNS TABLE(deliverable boolean, promised_date date, grid_id int, same_grid boolean,
				  dealer_id int, distance_m float8, reason text)
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	SET search_path = public, o2o
	AS $$
#variable_conflict use_column
DECLARE
	-- the o2o_route settings; before the library is loaded they are unset: the defaults
	w_distance	float8 := coalesce(current_setting('o2o_route.weight_distance', true), '0.5')::float8;
	w_stock		float8 := coalesce(current_setting('o2o_route.weight_stock', true), '0.2')::float8;
	w_load		float8 := coalesce(current_setting('o2o_route.weight_load', true), '0.3')::float8;
	max_m		float8 := coalesce(current_setting('o2o_route.max_distance_m', true), '60000')::float8;
	nearest_m	float8 := coalesce(current_setting('o2o_route.nearest_grid_m', true), '5000')::float8;
	policy		text := coalesce(current_setting('o2o_route.cross_grid', true), 'fallback');
	penalty		float8 := coalesce(current_setting('o2o_route.cross_grid_penalty', true), '0.25')::float8;
	horizon		int := coalesce(current_setting('o2o_route.promise_horizon_days', true), '14')::int;
	travel		int := coalesce(current_setting('o2o_route.travel_days', true), '1')::int;
	max_cands	int := coalesce(current_setting('o2o_route.max_candidates', true), '30')::int;
	-- shown as '2d', '6h', '90s'; unset or 0: off.  Counts older than this, or none, are not routed on
	max_age		float8 := extract(epoch FROM coalesce(nullif(current_setting('o2o_route.stock_max_age', true), ''),
													   '0')::interval);
	v_fresh		timestamptz := now() - make_interval(secs => max_age);

	o			record;			-- the product
	v_grid		int;
	v_climate	text;
	v_start		date := current_date + 1;	-- the first day anything can happen
	v_window	int := horizon + travel;	-- the days over which loads are measured
	v_other		boolean;		-- this round looks at dealers of other grids
	w			record;			-- the winner
	v_considered bigint;
	v_reason	text;
BEGIN
	IF p_sku IS NULL OR p_location IS NULL OR p_qty IS NULL THEN
		RAISE EXCEPTION 'baseline.promise: sku, location and qty must not be NULL' USING ERRCODE = '22004';
	END IF;
	IF p_qty < 1 THEN
		RAISE EXCEPTION 'quantity must be at least 1' USING ERRCODE = '22023', DETAIL = format('qty is %s.', p_qty);
	END IF;
	IF GeometryType(p_location) <> 'POINT' OR ST_IsEmpty(p_location) OR ST_SRID(p_location) <> 4326 THEN
		RAISE EXCEPTION 'baseline.promise: location must be a point of SRID 4326' USING ERRCODE = '22023',
			DETAIL = format('The location is %s.', ST_AsEWKT(p_location));
	END IF;
	IF NOT (ST_X(p_location) BETWEEN -180 AND 180 AND ST_Y(p_location) BETWEEN -90 AND 90) THEN
		RAISE EXCEPTION 'baseline.promise: longitude or latitude out of range' USING ERRCODE = '22003',
			DETAIL = format('The point is (%s %s).', ST_X(p_location), ST_Y(p_location));
	END IF;
	SELECT p.sku, p.category, p.needs_install, p.climates INTO o FROM o2o.product p WHERE p.sku = p_sku;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown SKU' USING ERRCODE = 'O2003',
			DETAIL = format('No row of o2o.product has sku "%s".', p_sku);
	END IF;

	-- the grid of the delivery point: the covering one, else the nearest within nearest_m
	SELECT g.grid_id INTO v_grid FROM o2o.grid g WHERE ST_Covers(g.geom, p_location) ORDER BY g.grid_id LIMIT 1;
	IF v_grid IS NULL THEN
		SELECT g.grid_id INTO v_grid
		  FROM o2o.grid g
		 WHERE g.geom && baseline.around(p_location, nearest_m)
		   AND ST_DWithin(g.geom::geography, p_location::geography, nearest_m, false)
		 ORDER BY ST_Distance(g.geom::geography, p_location::geography, false), g.grid_id
		 LIMIT 1;
	END IF;
	IF v_grid IS NOT NULL THEN
		SELECT g.climate INTO v_climate FROM o2o.grid g WHERE g.grid_id = v_grid;
	END IF;

	/*
	 * Round 1: the dealers of the grid (and of other grids too when the policy
	 * is free).  Round 2, under the fallback policy when nobody of the grid
	 * could serve: the dealers of other grids, a travel day later.  The best
	 * eligible one is the one o2o_assign would reserve for.
	 */
	IF v_grid IS NOT NULL AND (o.climates IS NULL OR v_climate = ANY (o.climates)) THEN
		FOR v_round IN 1 .. CASE WHEN policy = 'fallback' THEN 2 ELSE 1 END LOOP
			v_other := policy = 'free' OR v_round = 2;
			WITH near AS (
				-- active dealers with enough units on offer, the nearest max_cands of the grid and of the others
				(SELECT d.dealer_id, d.grid_id, true AS same_grid, d.service_radius_m,
						s.on_hand - s.reserved - s.safety AS available,
						ST_Distance(d.location::geography, p_location::geography, false) AS distance_m
				   FROM o2o.dealer d
				   JOIN o2o.stock s ON s.dealer_id = d.dealer_id AND s.sku = o.sku
				  WHERE v_round = 1 AND d.grid_id = v_grid AND d.active
					AND s.on_hand - s.reserved - s.safety >= p_qty
				  ORDER BY distance_m, d.dealer_id
				  LIMIT max_cands)
				UNION ALL
				(SELECT d.dealer_id, d.grid_id, false, d.service_radius_m,
						s.on_hand - s.reserved - s.safety,
						ST_Distance(d.location::geography, p_location::geography, false) AS distance_m
				   FROM o2o.dealer d
				   JOIN o2o.stock s ON s.dealer_id = d.dealer_id AND s.sku = o.sku
				  WHERE v_other AND d.grid_id IS DISTINCT FROM v_grid AND d.active
					AND d.location && baseline.around(p_location, max_m)
					AND ST_DWithin(d.location::geography, p_location::geography, max_m, false)
					AND s.on_hand - s.reserved - s.safety >= p_qty
				  ORDER BY distance_m, d.dealer_id
				  LIMIT max_cands)
			), fit AS (
				-- within reach, and (with stock_max_age) counted recently enough
				SELECT n.*,
					   v_start + CASE WHEN n.same_grid THEN 0 ELSE travel END AS start_day,
					   n.distance_m <= least(n.service_radius_m, max_m)
					   AND (max_age <= 0 OR EXISTS (SELECT 1 FROM o2o.dealer_sync ds
													 WHERE ds.dealer_id = n.dealer_id
													   AND ds.counted_at >= v_fresh)) AS fits
				  FROM near n
			), crew AS (
				-- the active installers of those dealers: their bookings over the window, their full days
				SELECT i.dealer_id, i.installer_id, i.daily_capacity,
					   o.category = ANY (i.skills) AS skilled,
					   coalesce(sum(b.booked), 0) AS booked,
					   coalesce(array_agg(b.day) FILTER (WHERE b.booked >= i.daily_capacity), '{}') AS full_days
				  FROM o2o.installer i
				  LEFT JOIN o2o.installer_day b
						 ON b.installer_id = i.installer_id
						AND b.day >= v_start AND b.day < v_start + v_window
				 WHERE i.active AND i.dealer_id IN (SELECT f.dealer_id FROM fit f WHERE f.fits)
				 GROUP BY i.installer_id
			), staffed AS (
				SELECT f.*, coalesce(l.dealer_load, 0) AS dealer_load,
					   k.installer_id, k.install_day, k.installer_load
				  FROM fit f
				  -- the dealer's booked share of its installers' capacity; 0 without installers
				  LEFT JOIN LATERAL (
					   SELECT least(1.0, coalesce(sum(x.booked)::float8 / sum(x.daily_capacity * v_window), 0))
							  AS dealer_load
						 FROM crew x WHERE x.dealer_id = f.dealer_id) l ON f.fits
				  -- installing: the skilled installer free first, then the least loaded, then the lowest id
				  LEFT JOIN LATERAL (
					   SELECT x.installer_id, free.day AS install_day,
							  least(1.0, x.booked::float8 / (x.daily_capacity * v_window)) AS installer_load
						 FROM crew x
						 CROSS JOIN LATERAL (
							  SELECT min(f.start_day + n) AS day
								FROM generate_series(0, horizon - 1) AS n
							   WHERE f.start_day + n <> ALL (x.full_days)) free
						WHERE x.dealer_id = f.dealer_id AND x.skilled AND free.day IS NOT NULL
						ORDER BY free.day, installer_load, x.installer_id
						LIMIT 1) k ON f.fits AND o.needs_install
			), scored AS (
				SELECT t.*,
					   w_distance * (1 - least(t.distance_m / max_m, 1.0))
					   + w_stock * least(greatest(t.available - p_qty, 0), 10) / 10
					   + w_load * (1 - CASE WHEN t.installer_id IS NOT NULL
											THEN (t.dealer_load + t.installer_load) / 2 ELSE t.dealer_load END)
					   - CASE WHEN NOT t.same_grid AND policy = 'free' THEN penalty ELSE 0 END AS score
				  FROM staffed t
				 WHERE t.fits AND (NOT o.needs_install OR t.installer_id IS NOT NULL)
			)
			SELECT s.dealer_id, s.same_grid, s.distance_m, s.install_day, s.start_day
			  INTO w
			  FROM scored s
			 ORDER BY s.score DESC, s.distance_m, s.dealer_id
			 LIMIT 1;
			IF FOUND THEN
				RETURN QUERY SELECT true, coalesce(w.install_day, w.start_day), v_grid, w.same_grid, w.dealer_id,
									w.distance_m, NULL::text;
				RETURN;
			END IF;
		END LOOP;
	END IF;

	/*
	 * Nobody can serve: look at every dealer of the grid and, unless the
	 * policy is never, of other grids within reach, and count why each one
	 * could not.
	 */
	IF v_grid IS NULL THEN
		v_reason := 'delivery point outside every grid';
	ELSIF NOT (o.climates IS NULL OR v_climate = ANY (o.climates)) THEN
		v_reason := format('model not sold in the %s', v_climate);
	ELSE
		WITH near AS (
			SELECT d.dealer_id, d.active, d.service_radius_m, true AS same_grid, d.location
			  FROM o2o.dealer d
			 WHERE d.grid_id = v_grid
			UNION ALL
			SELECT d.dealer_id, d.active, d.service_radius_m, false, d.location
			  FROM o2o.dealer d
			 WHERE policy <> 'never' AND d.grid_id IS DISTINCT FROM v_grid
			   AND d.location && baseline.around(p_location, max_m)
			   AND ST_DWithin(d.location::geography, p_location::geography, max_m, false)
		), why AS (
			SELECT CASE
				   WHEN NOT n.active THEN 'inactive'
				   WHEN ST_Distance(n.location::geography, p_location::geography, false)
						> least(n.service_radius_m, max_m) THEN 'out of radius'
				   WHEN max_age > 0 AND NOT EXISTS (SELECT 1 FROM o2o.dealer_sync ds
													 WHERE ds.dealer_id = n.dealer_id
													   AND ds.counted_at >= v_fresh) THEN 'stock not synced'
				   WHEN coalesce((SELECT s.on_hand - s.reserved - s.safety FROM o2o.stock s
								   WHERE s.dealer_id = n.dealer_id AND s.sku = o.sku), -1) < p_qty THEN 'no stock'
				   WHEN NOT o.needs_install THEN 'beyond max_candidates'
				   WHEN NOT EXISTS (SELECT 1 FROM o2o.installer i
									 WHERE i.dealer_id = n.dealer_id AND i.active
									   AND o.category = ANY (i.skills)) THEN 'no installer with the skill'
				   WHEN NOT EXISTS (SELECT 1
									  FROM o2o.installer i
									 CROSS JOIN LATERAL (SELECT v_start + CASE WHEN n.same_grid THEN 0 ELSE travel END) AS s(day)
									 WHERE i.dealer_id = n.dealer_id AND i.active AND o.category = ANY (i.skills)
									   -- fewer full days than days in the horizon
									   AND (SELECT count(*) FROM o2o.installer_day b
											 WHERE b.installer_id = i.installer_id AND b.booked >= i.daily_capacity
											   AND b.day >= s.day AND b.day < s.day + horizon) < horizon) THEN 'no free slot'
				   ELSE 'beyond max_candidates' END AS why
			  FROM near n
		), tally AS (
			SELECT y.why, count(*) AS n FROM why y GROUP BY y.why
		)
		SELECT coalesce(sum(t.n), 0),
			   format('no dealer can serve (%s considered:%s)', sum(t.n),
					  string_agg(format(' %s %s', t.n, t.why), ','
								 ORDER BY array_position(ARRAY['no stock', 'out of radius', 'no installer with the skill',
															   'no free slot', 'inactive', 'beyond max_candidates',
															   'stock not synced'], t.why)))
		  INTO v_considered, v_reason
		  FROM tally t;
		IF v_considered = 0 THEN
			v_reason := format('no dealer within %s m', round(max_m));
		END IF;
	END IF;
	RETURN QUERY SELECT false, NULL::date, v_grid, NULL::boolean, NULL::int, NULL::float8, v_reason;
END
$$;
COMMENT ON FUNCTION baseline.promise(text, geometry, int) IS
	'benchmark baseline for a delivery promise, in PL/pgSQL and PostGIS: the dealer and date o2o_assign would choose for an order of qty units of sku at location placed now; reads only';
