/*
 * bench/baseline_assign.sql — the benchmark baseline for o2o_assign.
 *
 * baseline.assign(order_id) makes the same decision as the C function
 * o2o_assign and writes the same rows, written the way a backend developer
 * would write it without the extension's C code: one PL/pgSQL function,
 * PostGIS for the grid of the point and for distances, plain SQL for the
 * filters, the installers and the score.  `make bench` runs both on copies
 * of one world to compare throughput and fill rate.
 *
 *     \i bench/baseline_assign.sql
 *     SELECT baseline.assign(order_id) FROM o2o.orders WHERE order_id <= 1000;
 *     SELECT baseline.assign_pending(1000);
 *
 * It reads the o2o_route.* settings, so both use the same weights, radius,
 * horizon and cross-grid policy.  Where it knowingly differs from the C code:
 *  - distances are PostGIS geography distances (spheroid) instead of the C
 *    code's haversine on a sphere: a few metres apart at these ranges;
 *  - dealers of other grids are those within max_distance_m (ST_DWithin on
 *    geography) rather than those in a lon/lat box of that size, so the
 *    counts in an unassignable order's reason leave out the box's corners;
 *  - a lost race for a stock unit or slot moves on to the next candidate
 *    and gives a reserved unit back with an UPDATE (no subtransaction); the
 *    C code also tries the installer's later days and the dealer's other
 *    installers first;
 *  - assign_pending waits for row locks like any statement, where the C code
 *    gives up on a busy candidate after 100 ms and leaves the order pending.
 */
CREATE SCHEMA IF NOT EXISTS baseline;
COMMENT ON SCHEMA baseline IS 'benchmark baselines for o2o_route (bench/baseline_assign.sql)';

/*
 * A box around a point that holds every point within metres of it (a degree
 * of latitude is at least 110.5 km on the spheroid), so that the GiST index
 * on a geometry column can narrow a search before the exact ST_DWithin on
 * geography, which no index here supports.
 */
CREATE OR REPLACE FUNCTION baseline.around(p geometry, metres float8) RETURNS geometry
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = public, o2o
	AS $$
	SELECT ST_Expand(p, metres / 110000 / greatest(cos(radians(least(abs(ST_Y(p)) + metres / 110000, 89))), 0.01),
					 metres / 110000)
$$;
COMMENT ON FUNCTION baseline.around(geometry, float8) IS
	'benchmark baseline: a lon/lat box holding every point within metres of p, for an index prefilter';

CREATE OR REPLACE FUNCTION baseline.assign(p_order_id bigint) RETURNS int
	LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
	SET search_path = public, o2o
	AS $$
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

	o			record;			-- the order and its product
	v_dealer	int;
	v_grid		int;
	v_region	int;
	v_climate	text;
	v_nearest	boolean := false;
	v_start		date := current_date + 1;	-- the first day anything can happen
	v_window	int := horizon + travel;	-- the days over which loads are measured
	v_other		boolean;		-- this round looks at dealers of other grids
	v_considered int := 0;		-- dealers scored, over the rounds
	v_round_n	int;
	v_booked	int;
	c			record;			-- a candidate
	w			record;			-- the winner, once v_won
	v_won		boolean := false;
	v_runners	jsonb;
	v_detail	jsonb;
	v_reason	text;
BEGIN
	SELECT ord.order_id, ord.sku, ord.qty, ord.status, ord.location,
		   p.category, p.needs_install, p.climates
	  INTO o
	  FROM o2o.orders ord JOIN o2o.product p ON p.sku = ord.sku
	 WHERE ord.order_id = p_order_id
	   FOR NO KEY UPDATE OF ord;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown order'
			USING ERRCODE = 'O2005', DETAIL = format('No row of o2o.orders has order_id %s.', p_order_id);
	END IF;

	-- idempotent: an order with an active assignment keeps it
	SELECT a.dealer_id INTO v_dealer FROM o2o.assignment a WHERE a.order_id = p_order_id AND a.state = 'active';
	IF FOUND THEN
		RETURN v_dealer;
	END IF;
	IF o.status IN ('cancelled', 'completed') THEN
		RAISE EXCEPTION 'order % is %', p_order_id, o.status
			USING ERRCODE = 'O2006', DETAIL = 'Only pending or unassignable orders can be assigned.';
	END IF;

	-- the grid of the delivery point: the covering one, else the nearest within nearest_m
	SELECT g.grid_id INTO v_grid FROM o2o.grid g WHERE ST_Covers(g.geom, o.location) ORDER BY g.grid_id LIMIT 1;
	IF v_grid IS NULL THEN
		SELECT g.grid_id INTO v_grid
		  FROM o2o.grid g
		 WHERE g.geom && baseline.around(o.location, nearest_m)
		   AND ST_DWithin(g.geom::geography, o.location::geography, nearest_m)
		 ORDER BY ST_Distance(g.geom::geography, o.location::geography), g.grid_id
		 LIMIT 1;
		v_nearest := v_grid IS NOT NULL;
	END IF;
	IF v_grid IS NOT NULL THEN
		SELECT g.region_id, g.climate INTO v_region, v_climate FROM o2o.grid g WHERE g.grid_id = v_grid;
	END IF;

	/*
	 * Round 1: the dealers of the grid (and of other grids too when the policy
	 * is free).  Round 2, under the fallback policy when nobody of the grid
	 * could serve: the dealers of other grids, a travel day later.
	 */
	IF v_grid IS NOT NULL AND (o.climates IS NULL OR v_climate = ANY (o.climates)) THEN
		FOR v_round IN 1 .. CASE WHEN policy = 'fallback' THEN 2 ELSE 1 END LOOP
			v_other := policy = 'free' OR v_round = 2;
			v_round_n := 0;
			FOR c IN
				WITH near AS (
					-- active dealers with enough stock, the nearest max_cands of the grid and of the others
					(SELECT d.dealer_id, d.grid_id, true AS same_grid, d.service_radius_m,
							s.on_hand - s.reserved AS available,
							ST_Distance(d.location::geography, o.location::geography) AS distance_m
					   FROM o2o.dealer d
					   JOIN o2o.stock s ON s.dealer_id = d.dealer_id AND s.sku = o.sku
					  WHERE v_round = 1 AND d.grid_id = v_grid AND d.active
						AND s.on_hand - s.reserved >= o.qty
					  ORDER BY distance_m, d.dealer_id
					  LIMIT max_cands)
					UNION ALL
					(SELECT d.dealer_id, d.grid_id, false, d.service_radius_m,
							s.on_hand - s.reserved,
							ST_Distance(d.location::geography, o.location::geography) AS distance_m
					   FROM o2o.dealer d
					   JOIN o2o.stock s ON s.dealer_id = d.dealer_id AND s.sku = o.sku
					  WHERE v_other AND d.grid_id <> v_grid AND d.active
						AND d.location && baseline.around(o.location, max_m)
						AND ST_DWithin(d.location::geography, o.location::geography, max_m)
						AND s.on_hand - s.reserved >= o.qty
					  ORDER BY distance_m, d.dealer_id
					  LIMIT max_cands)
				), fit AS (
					-- within reach and never declined this order
					SELECT n.*,
						   v_start + CASE WHEN n.same_grid THEN 0 ELSE travel END AS start_day,
						   n.distance_m <= least(n.service_radius_m, max_m)
						   AND NOT EXISTS (SELECT 1 FROM o2o.assignment a
											WHERE a.order_id = p_order_id AND a.dealer_id = n.dealer_id
											  AND a.state = 'declined') AS fits
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
						   k.installer_id, k.daily_capacity, k.install_day, k.installer_load
					  FROM fit f
					  -- the dealer's booked share of its installers' capacity
					  LEFT JOIN LATERAL (
						   SELECT least(1.0, coalesce(sum(x.booked)::float8 / sum(x.daily_capacity * v_window), 0)) AS dealer_load
							 FROM crew x WHERE x.dealer_id = f.dealer_id) l ON f.fits
					  -- installing: the skilled installer free first, then the least loaded, then the lowest id
					  LEFT JOIN LATERAL (
						   SELECT x.installer_id, x.daily_capacity, free.day AS install_day,
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
					SELECT t.*, p.*, p.s_distance + p.s_stock + p.s_load - p.s_penalty AS score,
						   t.fits AND (NOT o.needs_install OR t.installer_id IS NOT NULL) AS eligible
					  FROM staffed t
					 CROSS JOIN LATERAL (
						  SELECT CASE WHEN t.installer_id IS NOT NULL
									  THEN (t.dealer_load + t.installer_load) / 2 ELSE t.dealer_load END AS load) ld
					 CROSS JOIN LATERAL (
						  SELECT ld.load,
								 w_distance * (1 - least(t.distance_m / max_m, 1.0)) AS s_distance,
								 w_stock * least(greatest(t.available - o.qty, 0), 10) / 10 AS s_stock,
								 w_load * (1 - ld.load) AS s_load,
								 CASE WHEN NOT t.same_grid AND policy = 'free' THEN penalty ELSE 0 END AS s_penalty) p
				)
				SELECT s.dealer_id, s.same_grid, s.distance_m, s.score, s.eligible, s.installer_id,
					   s.daily_capacity, s.install_day, s.start_day,
					   count(*) OVER () AS considered,
					   jsonb_build_object('dealer_id', s.dealer_id, 'grid_id', s.grid_id, 'same_grid', s.same_grid,
										  'distance_m', round(s.distance_m::numeric, 1), 'available', s.available,
										  'load', round(s.load::numeric, 4))
					   || CASE WHEN s.installer_id IS NOT NULL
							   THEN jsonb_build_object('installer_id', s.installer_id,
													   'install_day', s.install_day::text)
							   ELSE '{}' END
					   || jsonb_build_object('score', round(s.score::numeric, 4),
											 'parts', jsonb_build_object(
												 'distance', round(s.s_distance::numeric, 4),
												 'stock', round(s.s_stock::numeric, 4),
												 'load', round(s.s_load::numeric, 4),
												 'cross_grid_penalty', round(s.s_penalty::numeric, 4))) AS info
				  FROM scored s
				 ORDER BY s.eligible DESC, s.score DESC, s.distance_m, s.dealer_id
			LOOP
				v_round_n := c.considered;
				EXIT WHEN NOT c.eligible;	-- the eligible ones come first
				IF v_won THEN
					-- the winner is chosen: note up to three runners-up
					v_runners := v_runners || jsonb_build_array(c.info);
					EXIT WHEN jsonb_array_length(v_runners) = 3;
					CONTINUE;
				END IF;

				-- reserve the units, unless someone took them meanwhile
				UPDATE o2o.stock SET reserved = reserved + o.qty, updated_at = now()
				 WHERE dealer_id = c.dealer_id AND sku = o.sku AND on_hand - reserved >= o.qty;
				CONTINUE WHEN NOT FOUND;
				IF c.installer_id IS NOT NULL THEN
					-- book the slot, unless it filled up meanwhile; then give the units back
					INSERT INTO o2o.installer_day AS b (installer_id, day, booked)
					VALUES (c.installer_id, c.install_day, 1)
					ON CONFLICT (installer_id, day) DO UPDATE SET booked = b.booked + 1
					 WHERE b.booked < c.daily_capacity
					RETURNING b.booked INTO v_booked;
					IF NOT FOUND THEN
						UPDATE o2o.stock SET reserved = reserved - o.qty, updated_at = now()
						 WHERE dealer_id = c.dealer_id AND sku = o.sku;
						CONTINUE;
					END IF;
				END IF;
				w := c;
				v_won := true;
				v_runners := '[]';
			END LOOP;
			v_considered := v_considered + v_round_n;
			EXIT WHEN v_won;
		END LOOP;
	END IF;

	IF v_won THEN
		v_detail := jsonb_build_object('policy', policy, 'grid_id', v_grid, 'nearest_grid', v_nearest,
									   'considered', v_considered, 'winner', w.info, 'runners_up', v_runners);
		INSERT INTO o2o.assignment (order_id, dealer_id, installer_id, grid_id, cross_grid, distance_m,
									score, detail, install_day, qty)
		VALUES (p_order_id, w.dealer_id, w.installer_id, v_grid, NOT w.same_grid, w.distance_m,
				w.score, v_detail, w.install_day, o.qty);
		UPDATE o2o.orders
		   SET status = 'assigned', status_reason = NULL, grid_id = v_grid, region_id = v_region,
			   promised_date = coalesce(w.install_day, w.start_day)
		 WHERE order_id = p_order_id;
		INSERT INTO o2o.order_event (order_id, event, status, detail)
		VALUES (p_order_id, 'assigned', 'assigned', v_detail);
		RETURN w.dealer_id;
	END IF;

	/*
	 * Nobody can serve: look at every dealer of the grid and, unless the
	 * policy is never, of other grids within reach, and count why each one
	 * could not.
	 */
	WITH near AS (
		SELECT d.dealer_id, d.active, d.service_radius_m, true AS same_grid, d.location
		  FROM o2o.dealer d
		 WHERE d.grid_id = v_grid
		UNION ALL
		SELECT d.dealer_id, d.active, d.service_radius_m, false, d.location
		  FROM o2o.dealer d
		 WHERE policy <> 'never' AND d.grid_id IS DISTINCT FROM v_grid
		   AND d.location && baseline.around(o.location, max_m)
		   AND ST_DWithin(d.location::geography, o.location::geography, max_m)
	), why AS (
		SELECT CASE
			   WHEN NOT n.active THEN 'inactive'
			   WHEN EXISTS (SELECT 1 FROM o2o.assignment a
							 WHERE a.order_id = p_order_id AND a.dealer_id = n.dealer_id
							   AND a.state = 'declined') THEN 'declined before'
			   WHEN ST_Distance(n.location::geography, o.location::geography)
					> least(n.service_radius_m, max_m) THEN 'out of radius'
			   WHEN coalesce((SELECT s.on_hand - s.reserved FROM o2o.stock s
							   WHERE s.dealer_id = n.dealer_id AND s.sku = o.sku), -1) < o.qty THEN 'no stock'
			   WHEN NOT o.needs_install THEN 'reserved meanwhile'
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
			   ELSE 'reserved meanwhile' END AS reason
		  FROM near n
	), tally AS (
		SELECT reason, count(*) AS n FROM why GROUP BY reason
	)
	SELECT coalesce(sum(n), 0),
		   format('no dealer can serve (%s considered:%s)', sum(n),
				  string_agg(format(' %s %s', n, reason), ','
							 ORDER BY array_position(ARRAY['no stock', 'out of radius', 'no installer with the skill',
														   'no free slot', 'declined before', 'inactive',
														   'model not sold in this climate zone',
														   'reserved meanwhile'], reason)))
	  INTO v_considered, v_reason
	  FROM tally;

	v_reason := CASE WHEN v_grid IS NULL THEN 'delivery point outside every grid'
					 WHEN NOT (o.climates IS NULL OR v_climate = ANY (o.climates))
					 THEN format('model not sold in the %s', v_climate)
					 WHEN v_considered = 0 THEN format('no dealer within %s m', round(max_m))
					 ELSE v_reason END;
	UPDATE o2o.orders
	   SET status = 'unassignable', status_reason = v_reason, grid_id = v_grid, region_id = v_region,
		   promised_date = NULL
	 WHERE order_id = p_order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (p_order_id, 'unassignable', 'unassignable',
			jsonb_build_object('policy', policy, 'considered', v_considered, 'reason', v_reason));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION baseline.assign(bigint) IS
	'benchmark baseline for o2o_assign, in PL/pgSQL and PostGIS: choose dealer and installer, reserve stock and a slot, record why; returns the dealer, or NULL (order unassignable); idempotent';

CREATE OR REPLACE FUNCTION baseline.assign_pending(max int) RETURNS int
	LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
	SET search_path = public, o2o
	AS $$
DECLARE
	v_ids		bigint[];
	v_id		bigint;
	v_assigned	int := 0;
BEGIN
	IF assign_pending.max < 0 THEN
		RAISE EXCEPTION 'baseline.assign_pending: max must be 0 or more'
			USING ERRCODE = '22023', DETAIL = format('max is %s.', assign_pending.max);
	END IF;
	-- the oldest pending orders that no other session holds, locked now
	SELECT array_agg(p.order_id ORDER BY p.order_id) INTO v_ids
	  FROM (SELECT order_id FROM o2o.orders WHERE status = 'pending'
			 ORDER BY order_id LIMIT assign_pending.max
			   FOR NO KEY UPDATE SKIP LOCKED) p;
	FOREACH v_id IN ARRAY coalesce(v_ids, '{}') LOOP
		IF baseline.assign(v_id) IS NOT NULL THEN
			v_assigned := v_assigned + 1;
		END IF;
	END LOOP;
	RETURN v_assigned;
END
$$;
COMMENT ON FUNCTION baseline.assign_pending(int) IS
	'benchmark baseline for o2o_assign_pending: assign up to max pending orders, oldest first, skipping orders other sessions hold; returns how many were assigned';
