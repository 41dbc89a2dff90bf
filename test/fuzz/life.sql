/*
 * test/fuzz/life.sql -- family "life": o2o_candidates, o2o_assign,
 * o2o_assign_pending, o2o_decline, o2o_cancel and o2o_complete on random
 * orders of the generated world, each call under random o2o_route.*
 * settings (the defaults, the ends of each documented range, or anything
 * between), and SET o2o_route.* itself with good and bad values.
 *
 * Oracles, besides the life cycle of the README (which step fits which
 * status, with O2005/O2006/22004 otherwise):
 *  - o2o_candidates against the tables: ranks 1..n of the eligible, score
 *    = its parts, the ranking order, the great-circle distance, and each
 *    reason true of the dealer (inactive, out of radius, no stock, declined
 *    before);
 *  - o2o_assign, run alone, picks the first eligible dealer of
 *    o2o_candidates whenever max_candidates cannot have cut the search
 *    short (no more dealers hold the units than it), and returns NULL (the
 *    order unassignable, with a reason) only when there is none; an
 *    assigned order keeps its dealer;
 *  - o2o_assign_pending assigns the oldest min(max, pending) pending orders
 *    and returns how many it assigned;
 *  - o2o_decline never offers the order to a dealer that declined it;
 *    o2o_cancel and o2o_complete leave the statuses, assignments, stock and
 *    settlement the README describes; without a commission rule in force
 *    o2o_complete fails with O2010 and changes nothing;
 *  - after each statement, the invariants of test/cluster/stress.sh.
 * The world is replenished as it goes: new orders when few are pending,
 * units for dealers now and then.
 */

-- the columns of o2o_candidates
CREATE TYPE fuzz.cand AS (
	rank int, dealer_id int, grid_id int, same_grid boolean, distance_m float8, available int,
	installer_id int, install_day date, load float8, score float8, score_distance float8,
	score_stock float8, score_load float8, cross_grid_penalty float8, eligible boolean, reason text,
	safety int, stock_counted_at timestamptz
);

-- the great-circle distance of o2o_assign (the mean Earth radius)
CREATE FUNCTION fuzz.meters(a geometry, b geometry) RETURNS float8
	LANGUAGE sql IMMUTABLE
	AS $$
	SELECT 2 * 6371008.8 * asin(least(1, sqrt(
		sin(radians(ST_Y(b) - ST_Y(a)) / 2) ^ 2
		+ cos(radians(ST_Y(a))) * cos(radians(ST_Y(b))) * sin(radians(ST_X(b) - ST_X(a)) / 2) ^ 2)))
$$;

CREATE FUNCTION fuzz.prepare_life() RETURNS void
	LANGUAGE sql
	AS $$ SELECT $$;

-- in the life and dml databases: orders found by status quickly
CREATE FUNCTION fuzz.prepare_life_family() RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	CREATE INDEX fuzz_orders_status ON o2o.orders (status, order_id);
	ANALYZE o2o.orders;
END
$$;

-- the settings of one call: each the default, an end of its range or between
CREATE FUNCTION fuzz.life_gucs() RETURNS text
	LANGUAGE plpgsql
	AS $$
DECLARE
	g record;
	v text;
	r float8;
	sets text := '';
BEGIN
	FOR g IN SELECT * FROM (VALUES
			('weight_distance', '0.5', '0', '1000', false), ('weight_stock', '0.2', '0', '1000', false),
			('weight_load', '0.3', '0', '1000', false), ('max_distance_m', '60000', '100', '1000000', false),
			('nearest_grid_m', '5000', '0', '100000', false), ('cross_grid_penalty', '0.25', '0', '1000', false),
			('promise_horizon_days', '14', '1', '365', true), ('travel_days', '1', '0', '30', true),
			('max_candidates', '30', '1', '10000', true), ('pending_lock_timeout', '20', '1', '60000', true))
			AS t(name, def, lo, hi, isint)
	LOOP
		r := random();
		v := CASE WHEN r < 0.5 THEN g.def WHEN r < 0.65 THEN g.lo WHEN r < 0.8 THEN g.hi
				  WHEN g.isint THEN fuzz.ri(g.lo::bigint, least(g.hi::bigint, 100))::text
				  ELSE (g.lo::float8 + random() * (least(g.hi::float8, 200000) - g.lo::float8))::text END;
		IF g.name = 'max_candidates' AND random() < 0.5 THEN
			v := '10000';		-- nothing cut short: o2o_assign must pick o2o_candidates' first
		END IF;
		PERFORM set_config('o2o_route.' || g.name, v, true);
		sets := sets || format('SET o2o_route.%s = %s; ', g.name, v);
	END LOOP;
	v := fuzz.pick(ARRAY['never', 'fallback', 'fallback', 'free']);
	PERFORM set_config('o2o_route.cross_grid', v, true);
	RETURN sets || format('SET o2o_route.cross_grid = %s; ', v);
END
$$;

-- an order of a status (the next one at or after a random id), or NULL
CREATE FUNCTION fuzz.order_of(st text) RETURNS bigint
	LANGUAGE sql VOLATILE
	AS $$
	SELECT coalesce(
		(SELECT o.order_id FROM o2o.orders o WHERE o.status = st AND o.order_id >= x.r ORDER BY o.status, o.order_id LIMIT 1),
		(SELECT o.order_id FROM o2o.orders o WHERE o.status = st ORDER BY o.status, o.order_id LIMIT 1))
	  FROM (SELECT fuzz.ri(1, (SELECT max(order_id) FROM o2o.orders)) AS r) x
$$;

-- an order_id argument: of the status wanted (mostly), of any status, unknown or NULL
CREATE FUNCTION fuzz.order_arg(want text[], p_want float8) RETURNS bigint
	LANGUAGE plpgsql
	AS $$
DECLARE
	r float8 := random();
	o bigint;
BEGIN
	IF r < p_want THEN
		o := fuzz.order_of(fuzz.pick(want));
	ELSIF r < 0.93 THEN
		o := fuzz.order_of(fuzz.pick(ARRAY['pending', 'assigned', 'unassignable', 'cancelled', 'completed']));
	ELSIF r < 0.98 THEN
		RETURN fuzz.pick(ARRAY[0, -1, (SELECT max(order_id) FROM o2o.orders) + fuzz.ri(1, 1000),
							   9223372036854775807, -9223372036854775808]);
	ELSE
		RETURN NULL;
	END IF;
	RETURN coalesce(o, fuzz.ri(1, (SELECT max(order_id) FROM o2o.orders)));
END
$$;

-- o2o_candidates' rows against the tables: the first thing wrong, or NULL
CREATE FUNCTION fuzz.cand_check(oid bigint, k int, c fuzz.cand[]) RETURNS text
	LANGUAGE plpgsql STABLE
	AS $$
DECLARE
	o o2o.orders;
	maxd float8 := current_setting('o2o_route.max_distance_m')::float8;
	policy text := current_setting('o2o_route.cross_grid');
	bad text;
	gridless boolean;
BEGIN
	SELECT * INTO o FROM o2o.orders x WHERE x.order_id = oid;
	-- the order's grid is the one it was placed in, else the nearest within
	-- reach (o2o_grid_nearest is checked against PostGIS by the grid family)
	gridless := o.grid_id IS NULL
		AND o2o_grid_nearest(o.location, current_setting('o2o_route.nearest_grid_m')::float8) IS NULL;
	SELECT format('%s (dealer %s)', why, dealer_id) INTO bad
	  FROM (SELECT x.dealer_id,
				   CASE WHEN x.eligible <> (x.reason IS NULL) THEN 'eligible but a reason, or neither'
						WHEN x.eligible <> (x.rank IS NOT NULL) THEN 'a rank iff eligible, broken'
						WHEN x.reason IS NOT NULL AND x.reason NOT IN ('inactive', 'declined before',
							 'model not sold in this climate zone', 'out of radius', 'no stock',
							 'no installer with the skill', 'no free slot', 'delivery point outside every grid')
							 THEN 'an unknown reason: ' || x.reason
						WHEN x.reason = 'delivery point outside every grid' AND NOT gridless THEN 'outside every grid, but the order has a grid'
						WHEN x.eligible AND gridless THEN 'eligible, but the order is outside every grid'
						WHEN d.dealer_id IS NULL THEN 'no such dealer'
						WHEN x.grid_id IS DISTINCT FROM d.grid_id THEN format('grid_id %s, the dealer''s is %s', x.grid_id, d.grid_id)
						WHEN abs(x.distance_m - fuzz.meters(o.location, d.location)) > 1e-6 * x.distance_m + 1e-3 THEN
							format('distance_m %s, the great circle says %s', x.distance_m, fuzz.meters(o.location, d.location))
						WHEN x.reason = 'inactive' AND d.active THEN 'inactive, but it is active'
						WHEN x.reason IS DISTINCT FROM 'inactive' AND NOT d.active THEN 'not filtered out, but inactive'
						WHEN x.reason = 'out of radius' AND x.distance_m <= least(d.service_radius_m, maxd) THEN 'out of radius, but within it'
						WHEN x.eligible AND x.distance_m > least(d.service_radius_m, maxd) THEN 'eligible, but out of radius'
						WHEN x.reason = 'no stock' AND coalesce(s.on_hand - s.reserved, 0) >= o.qty THEN 'no stock, but it has the units'
						WHEN x.eligible AND (coalesce(s.on_hand - s.reserved, 0) < o.qty OR x.available <> s.on_hand - s.reserved) THEN
							format('eligible with available %s, the stock row says %s of %s needed', x.available, s.on_hand - s.reserved, o.qty)
						WHEN x.reason = 'declined before' AND NOT EXISTS (SELECT 1 FROM o2o.assignment a WHERE a.order_id = oid
								AND a.dealer_id = x.dealer_id AND a.state = 'declined') THEN 'declined before, but it never declined'
						WHEN x.eligible AND EXISTS (SELECT 1 FROM o2o.assignment a WHERE a.order_id = oid
								AND a.dealer_id = x.dealer_id AND a.state = 'declined') THEN 'eligible, but it declined this order'
						WHEN x.eligible AND abs(x.score - (x.score_distance + x.score_stock + x.score_load - x.cross_grid_penalty))
								> 1e-9 * greatest(1, abs(x.score)) THEN 'score is not the sum of its parts'
						WHEN x.eligible AND (x.installer_id IS NOT NULL) <> p.needs_install THEN
							'an installer iff the model needs installing, broken'
				   END AS why
			  FROM unnest(c) x
			  LEFT JOIN o2o.dealer d ON d.dealer_id = x.dealer_id
			  LEFT JOIN o2o.stock s ON s.dealer_id = x.dealer_id AND s.sku = o.sku
			  LEFT JOIN o2o.product p ON p.sku = o.sku) y
	 WHERE why IS NOT NULL LIMIT 1;
	IF bad IS NOT NULL THEN
		RETURN bad;
	END IF;
	-- ranks 1..n, at most k, each dealer once, in the documented order
	SELECT CASE WHEN count(*) FILTER (WHERE x.eligible) > k THEN 'more than k eligible rows'
				WHEN count(DISTINCT x.dealer_id) <> count(*) THEN 'a dealer twice'
				WHEN array_agg(x.rank ORDER BY x.rank) FILTER (WHERE x.eligible)
					 <> array(SELECT generate_series(1, count(*) FILTER (WHERE x.eligible)::int)) THEN 'ranks are not 1..n'
		   END INTO bad
	  FROM unnest(c) x;
	IF bad IS NOT NULL THEN
		RETURN bad;
	END IF;
	SELECT format('rank %s before rank %s breaks the order', a.rank, b.rank) INTO bad
	  FROM unnest(c) a JOIN unnest(c) b ON b.rank = a.rank + 1
	 WHERE NOT (CASE WHEN policy = 'fallback' AND a.same_grid <> b.same_grid THEN a.same_grid
					 WHEN a.score <> b.score THEN a.score > b.score
					 WHEN a.distance_m <> b.distance_m THEN a.distance_m < b.distance_m
					 ELSE a.dealer_id < b.dealer_id END)
	 LIMIT 1;
	RETURN bad;
END
$$;

/*
 * One call of o2o_candidates, judged (entry 1).  rows: its rows, for
 * o2o_assign's oracle (NULL when it failed).
 */
CREATE FUNCTION fuzz.call_candidates(oid bigint, k int, sets text, OUT res fuzz.out, OUT rows fuzz.cand[])
	LANGUAGE plpgsql
	AS $$
DECLARE
	sql text := sets || format('SELECT * FROM o2o_candidates(%s, %s)', coalesce(oid::text, 'NULL'), coalesce(k::text, 'NULL'));
	known boolean := oid IS NOT NULL AND EXISTS (SELECT 1 FROM o2o.orders o WHERE o.order_id = oid);
	errs text[] := '{}';
	st text;
	msg text;
	t0 timestamptz;
	bad text;
BEGIN
	IF oid IS NOT NULL AND k IS NOT NULL THEN
		IF k < 1 OR k > 1000 THEN
			errs := errs || '{22023}'::text[];
		END IF;
		IF NOT known THEN
			errs := errs || '{O2005}'::text[];
		END IF;
	END IF;
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		SELECT array_agg(ROW(x.*)::fuzz.cand) INTO rows FROM o2o_candidates(oid, k) x;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	IF st IS NULL AND cardinality(errs) = 0 AND oid IS NOT NULL AND k IS NOT NULL THEN
		bad := fuzz.cand_check(oid, k, coalesce(rows, '{}'));
	ELSIF st IS NULL AND (oid IS NULL OR k IS NULL) AND rows IS NOT NULL THEN
		bad := 'rows for a NULL argument of a STRICT function';
	END IF;
	res := fuzz.judge(1, 'life', extract(epoch FROM clock_timestamp() - t0) * 1000, sql,
					  cardinality(errs) = 0, CASE WHEN cardinality(errs) > 0 THEN errs END, bad IS NULL,
					  'rows that agree with the tables', bad, st, msg);
	IF st IS NOT NULL THEN
		rows := NULL;
	ELSE
		rows := coalesce(rows, '{}');
	END IF;
END
$$;

-- the state of an order that the oracles compare before and after a step
CREATE TYPE fuzz.ostate AS (status text, active_dealer int, active_id bigint, reason text, declined int[]);

CREATE FUNCTION fuzz.order_state(oid bigint) RETURNS fuzz.ostate
	LANGUAGE sql STABLE
	AS $$
	SELECT o.status,
		   (SELECT a.dealer_id FROM o2o.assignment a WHERE a.order_id = o.order_id AND a.state = 'active'),
		   (SELECT a.assignment_id FROM o2o.assignment a WHERE a.order_id = o.order_id AND a.state = 'active'),
		   o.status_reason,
		   ARRAY(SELECT a.dealer_id FROM o2o.assignment a WHERE a.order_id = o.order_id AND a.state = 'declined')
	  FROM o2o.orders o WHERE o.order_id = oid
$$;

-- keep the world moving: new orders when few are pending, units now and then
CREATE FUNCTION fuzz.life_replenish() RETURNS void
	LANGUAGE plpgsql
	AS $$
DECLARE
	maxid bigint;
BEGIN
	IF (SELECT count(*) FROM (SELECT 1 FROM o2o.orders WHERE status = 'pending' LIMIT 40) x) < 40 THEN
		SELECT max(order_id) INTO maxid FROM o2o.orders;
		INSERT INTO o2o.orders (sku, qty, location, address, origin_dealer_id, created_at)
		SELECT o.sku, o.qty, o.location, o.address, o.origin_dealer_id,
			   timestamptz '2026-11-01 00:00+08' + random() * interval '30 days'
		  FROM o2o.orders o
		 WHERE o.order_id IN (SELECT fuzz.ri(1, maxid) FROM generate_series(1, 120));
	END IF;
	IF random() < 0.3 THEN
		UPDATE o2o.stock SET on_hand = on_hand + fuzz.ri(1, 4)::int
		 WHERE (dealer_id, sku) = (SELECT s.dealer_id, s.sku FROM o2o.stock s
									WHERE s.dealer_id >= fuzz.ri(1, (SELECT max(dealer_id) FROM o2o.dealer))
									ORDER BY s.dealer_id, s.sku LIMIT 1);
	END IF;
END
$$;

/*
 * Each statement runs in a new session: load the library first, so that
 * the o2o_route.* settings are defined (before that, PostgreSQL takes any
 * value of a custom setting as a placeholder and checks it only when the
 * library loads).
 */
CREATE FUNCTION fuzz.life_begin() RETURNS void
	LANGUAGE sql
	AS $$ SELECT o2o_route_version() $$;

/*
 * After each statement: the invariants of test/cluster/stress.sh, checked
 * on the whole world; a violation fails the run.
 */
CREATE FUNCTION fuzz.life_end(family text, entry int, seed bigint, i bigint) RETURNS void
	LANGUAGE plpgsql
	AS $$
DECLARE
	bad text;
BEGIN
	SELECT string_agg(w, '; ') INTO bad FROM (
		SELECT format('stock (%s, %s): reserved %s, on_hand %s, active assignments hold %s',
					  s.dealer_id, s.sku, s.reserved, s.on_hand, coalesce(x.q, 0)) AS w
		  FROM o2o.stock s
		  LEFT JOIN (SELECT a.dealer_id, o.sku, sum(a.qty) AS q FROM o2o.assignment a JOIN o2o.orders o USING (order_id)
					  WHERE a.state = 'active' GROUP BY 1, 2) x ON x.dealer_id = s.dealer_id AND x.sku = s.sku
		 WHERE s.reserved <> coalesce(x.q, 0) OR s.reserved < 0 OR s.reserved > s.on_hand
		UNION ALL
		SELECT format('active assignment %s holds units of dealer %s, which has no stock row of %s', a.assignment_id, a.dealer_id, o.sku)
		  FROM o2o.assignment a JOIN o2o.orders o USING (order_id)
		 WHERE a.state = 'active' AND NOT EXISTS (SELECT 1 FROM o2o.stock s WHERE s.dealer_id = a.dealer_id AND s.sku = o.sku)
		UNION ALL
		SELECT format('installer %s on %s: booked %s, capacity %s, active jobs %s',
					  b.installer_id, b.day, b.booked, i.daily_capacity, coalesce(x.c, 0))
		  FROM o2o.installer_day b JOIN o2o.installer i USING (installer_id)
		  LEFT JOIN (SELECT installer_id, install_day, count(*) AS c FROM o2o.assignment
					  WHERE state = 'active' AND installer_id IS NOT NULL GROUP BY 1, 2) x
			ON x.installer_id = b.installer_id AND x.install_day = b.day
		 WHERE b.booked > i.daily_capacity OR b.booked <> coalesce(x.c, 0)
		UNION ALL
		SELECT format('active assignment %s books installer %s on %s, which has no booking row', a.assignment_id, a.installer_id, a.install_day)
		  FROM o2o.assignment a
		 WHERE a.state = 'active' AND a.installer_id IS NOT NULL
		   AND NOT EXISTS (SELECT 1 FROM o2o.installer_day b WHERE b.installer_id = a.installer_id AND b.day = a.install_day)
		UNION ALL
		SELECT format('order %s has %s active assignments', order_id, count(*))
		  FROM o2o.assignment WHERE state = 'active' GROUP BY order_id HAVING count(*) > 1
		UNION ALL
		SELECT format('order %s is %s with %s active assignment(s)', o.order_id, o.status,
					  (SELECT count(*) FROM o2o.assignment a WHERE a.order_id = o.order_id AND a.state = 'active'))
		  FROM o2o.orders o
		 WHERE (o.status = 'assigned') <> EXISTS (SELECT 1 FROM o2o.assignment a WHERE a.order_id = o.order_id AND a.state = 'active')
		UNION ALL
		-- the derived columns of the whole world
		SELECT format('dealer %s: grid_id %s region_id %s, o2o_grid_of says grid %s', d.dealer_id, d.grid_id, d.region_id,
					  fuzz.grid_of(d.location))
		  FROM o2o.dealer d LEFT JOIN o2o.grid g ON g.grid_id = fuzz.grid_of(d.location)
		 WHERE d.grid_id IS DISTINCT FROM g.grid_id OR d.region_id IS DISTINCT FROM g.region_id
		UNION ALL
		SELECT format('stock (%s, %s): region_id %s grid_id %s, the dealer''s %s and %s', s.dealer_id, s.sku, s.region_id,
					  s.grid_id, d.region_id, d.grid_id)
		  FROM o2o.stock s JOIN o2o.dealer d USING (dealer_id)
		 WHERE s.region_id IS DISTINCT FROM d.region_id OR s.grid_id IS DISTINCT FROM d.grid_id
		UNION ALL
		SELECT format('installer %s: region_id %s, the dealer''s %s', i.installer_id, i.region_id, d.region_id)
		  FROM o2o.installer i JOIN o2o.dealer d USING (dealer_id)
		 WHERE i.region_id IS DISTINCT FROM d.region_id
		UNION ALL
		-- orders nobody routed yet (o2o_assign may give an order the nearest grid)
		SELECT format('order %s: grid_id %s region_id %s, o2o_grid_of says grid %s', o.order_id, o.grid_id, o.region_id,
					  fuzz.grid_of(o.location))
		  FROM o2o.orders o LEFT JOIN o2o.grid g ON g.grid_id = fuzz.grid_of(o.location)
		 WHERE family = 'dml' AND (o.grid_id IS DISTINCT FROM g.grid_id OR o.region_id IS DISTINCT FROM g.region_id)
		 LIMIT 20) v;
	UPDATE fuzz.tally t SET calls = t.calls + 1, ok = t.ok + (bad IS NULL)::int, failed = t.failed + (bad IS NOT NULL)::int
	 WHERE t.family = life_end.family AND t.entry_no = life_end.entry;
	IF bad IS NOT NULL THEN
		INSERT INTO fuzz.failure (family, seed, call, entry, kind, sql, got)
		VALUES (family, seed, i, 'invariants, derived columns', 'an invariant or derived column is broken after the statement ending with this call',
				NULL, bad);
	END IF;
END
$$;

-- SET o2o_route.*: in range, at the ends, out of range, not a number, misspelt
CREATE FUNCTION fuzz.life_set() RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	g record;
	v text;
	gname text;
	errs text[];
	num float8;
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	shown text;
	ok boolean := true;
BEGIN
	SELECT * INTO g FROM (VALUES
			('weight_distance', 0, 1000, false), ('weight_stock', 0, 1000, false), ('weight_load', 0, 1000, false),
			('max_distance_m', 100, 1000000, false), ('nearest_grid_m', 0, 100000, false),
			('cross_grid_penalty', 0, 1000, false), ('promise_horizon_days', 1, 365, true),
			('travel_days', 0, 30, true), ('max_candidates', 1, 10000, true), ('pending_lock_timeout', 1, 60000, true),
			('cross_grid', NULL, NULL, NULL)) AS t(name, lo, hi, isint)
	 ORDER BY random() LIMIT 1;
	gname := 'o2o_route.' || g.name;
	IF g.name = 'cross_grid' THEN
		v := fuzz.pick(ARRAY['never', 'fallback', 'free', 'FREE', 'Never', 'sometimes', '', 'free ', '1']);
		errs := CASE WHEN lower(v) IN ('never', 'fallback', 'free') THEN NULL ELSE '{22023}' END;
	ELSE
		num := CASE fuzz.ri(1, 8)
				   WHEN 1 THEN g.lo WHEN 2 THEN g.hi
				   WHEN 3 THEN g.lo - CASE WHEN g.isint THEN 1 ELSE 1e-9 END
				   WHEN 4 THEN g.hi + CASE WHEN g.isint THEN 1 ELSE 1e-6 END
				   WHEN 5 THEN fuzz.pick(ARRAY[-1, -1e300, 1e300, 2147483648, -2147483649])
				   ELSE g.lo + floor(random() * (g.hi - g.lo + 1)) END;
		v := CASE WHEN g.isint THEN num::numeric::text ELSE num::text END;
		errs := CASE WHEN num >= g.lo AND num <= g.hi THEN NULL ELSE '{22023}' END;
		IF random() < 0.1 THEN
			v := fuzz.pick(ARRAY['abc', '', '1x', 'NaN', '--1', '1e', ' ', '1,5']);
			errs := CASE WHEN v = 'NaN' THEN NULL ELSE '{22023}' END;		-- NaN: PostgreSQL's to judge
		END IF;
	END IF;
	IF random() < 0.08 THEN
		gname := fuzz.pick(ARRAY['o2o_route.weight', 'o2o_route.maxdistance_m', 'o2o_route.cross-grid',
								'o2o_route.max_candidate', 'o2o_route.']);
		errs := '{42602}';
	END IF;
	sql := format('SET LOCAL %s = %L', gname, v);
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		PERFORM set_config(gname, v, true);
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	IF st IS NULL AND errs IS NULL AND v <> 'NaN' THEN
		SELECT x.setting INTO shown FROM pg_settings x WHERE x.name = gname;
		ok := CASE WHEN g.name = 'cross_grid' THEN shown = lower(v)
				   ELSE abs(shown::float8 - num) <= 1e-5 * greatest(1, abs(num)) END;
	END IF;
	RETURN fuzz.judge(7, 'life', extract(epoch FROM clock_timestamp() - t0) * 1000, sql,
					  errs IS NULL, CASE WHEN v = 'NaN' AND errs IS NULL THEN '{22023}' ELSE errs END, ok,
					  format('%s shows %s', gname, v), format('%s shows %s', gname, shown), st, msg);
END
$$;

CREATE FUNCTION fuzz.life_step(seed bigint, i bigint, e int) RETURNS fuzz.out[]
	LANGUAGE plpgsql
	AS $$
DECLARE
	sets text;
	oid bigint;
	k int;
	c record;
	rows fuzz.cand[];
	s0 fuzz.ostate;
	s1 fuzz.ostate;
	got int;
	n int;
	errs text[];
	ok boolean;
	expected text;
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	outs fuzz.out[] := '{}';
	why text;
	eligible int;
	first_dealer int;
	holding int;
	maxcand int;
	pend bigint[];
	maxarg int;
	v_reason text;
	before record;
	after record;
	no_rule boolean := false;
BEGIN
	PERFORM fuzz.life_replenish();
	sets := fuzz.life_gucs();
	IF e = 7 THEN
		RETURN ARRAY[fuzz.life_set()];
	END IF;
	IF e = 1 THEN
		oid := fuzz.order_arg(ARRAY['pending', 'unassignable', 'assigned'], 0.7);
		k := CASE WHEN random() < 0.85 THEN fuzz.ri(1, 20)::int
				  ELSE fuzz.pick(ARRAY[0, -1, 1000, 1001, 2147483647, -2147483648, NULL]) END;
		c := fuzz.call_candidates(oid, k, sets);
		RETURN ARRAY[c.res];
	END IF;
	IF e = 3 THEN
		-- o2o_assign_pending(max): the oldest min(max, pending) pending orders
		n := (SELECT count(*) FROM (SELECT 1 FROM o2o.orders WHERE status = 'pending' LIMIT 31) x);
		maxarg := CASE WHEN random() < 0.85 THEN fuzz.ri(0, 12)::int
					   WHEN n <= 30 THEN fuzz.pick(ARRAY[2147483647, 100, 30])
					   ELSE fuzz.pick(ARRAY[-1, -2147483648]) END;
		pend := ARRAY(SELECT order_id FROM o2o.orders WHERE status = 'pending' ORDER BY order_id LIMIT greatest(maxarg, 0) + 1);
		sql := sets || format('SELECT o2o_assign_pending(%s)', maxarg);
		PERFORM fuzz.trace(sql);
		t0 := clock_timestamp();
		BEGIN
			got := o2o_assign_pending(maxarg);
		EXCEPTION WHEN query_canceled THEN
			RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
		WHEN OTHERS THEN
			st := SQLSTATE; msg := SQLERRM;
		END;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
		IF st IS NULL AND maxarg >= 0 THEN
			SELECT count(*) FILTER (WHERE o.status = 'assigned'), count(*) FILTER (WHERE o.status = 'pending')
			  INTO n, eligible
			  FROM unnest(pend[1:maxarg]) p(id) JOIN o2o.orders o ON o.order_id = p.id;
			ok := got = n AND eligible = 0
				  AND (cardinality(pend) <= maxarg OR (SELECT status FROM o2o.orders WHERE order_id = pend[maxarg + 1]) = 'pending');
			expected := format('the %s oldest pending orders routed, %s of them assigned', least(maxarg, cardinality(pend)), n);
		END IF;
		RETURN ARRAY[fuzz.judge(3, 'life', ms, sql, maxarg >= 0, CASE WHEN maxarg < 0 THEN '{22023}'::text[] END, ok,
								expected, format('%s (%s still pending)', got, eligible), st, msg)];
	END IF;

	-- the single-order steps
	oid := fuzz.order_arg(CASE e WHEN 2 THEN ARRAY['pending', 'pending', 'unassignable', 'assigned']
								 WHEN 4 THEN ARRAY['assigned'] WHEN 5 THEN ARRAY['pending', 'assigned', 'unassignable']
								 ELSE ARRAY['assigned'] END, CASE e WHEN 2 THEN 0.8 ELSE 0.7 END);
	s0 := fuzz.order_state(oid);
	errs := CASE WHEN oid IS NULL THEN CASE WHEN e = 2 THEN NULL ELSE '{22004}' END
				 WHEN s0.status IS NULL THEN '{O2005}'
				 WHEN e = 2 AND s0.status IN ('cancelled', 'completed') THEN '{O2006}'
				 WHEN e IN (4, 6) AND s0.status <> 'assigned' THEN '{O2006}'
				 WHEN e = 5 AND s0.status IN ('cancelled', 'completed') THEN '{O2006}' END;
	BEGIN		-- undone at the end only for o2o_complete without a commission rule
		IF e = 2 AND s0.status IN ('pending', 'unassignable') THEN
			-- what o2o_assign must agree with
			c := fuzz.call_candidates(oid, 1000, sets);
			outs := outs || c.res;
			rows := c.rows;
		END IF;
		IF e = 6 AND errs IS NULL THEN
			SELECT s.on_hand, s.reserved, a.qty, o.unit_price, o.created_at, p.category INTO before
			  FROM o2o.orders o JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state = 'active'
			  JOIN o2o.product p ON p.sku = o.sku
			  LEFT JOIN o2o.stock s ON s.dealer_id = a.dealer_id AND s.sku = o.sku
			 WHERE o.order_id = oid;
			IF random() < 0.1 THEN
				-- no commission rule in force when the order was placed: O2010, nothing changes
				UPDATE o2o.commission_rule SET valid_from = before.created_at + interval '1 second'
				 WHERE category = before.category AND valid_from <= before.created_at
				   AND (valid_to IS NULL OR valid_to > before.created_at + interval '1 second');
				DELETE FROM o2o.commission_rule
				 WHERE category = before.category AND valid_from <= before.created_at
				   AND (valid_to IS NULL OR valid_to > before.created_at);
				no_rule := true;
				errs := '{O2010}';
				sets := sets || format('UPDATE o2o.commission_rule ... (no rule of %s in force at %s); ', before.category, before.created_at);
			END IF;
		END IF;
		v_reason := fuzz.pick(ARRAY['no truck today', NULL, '', repeat('x', 3000), 'it''s "quoted"', E'line\nbreak', '家电']);
		sql := sets || CASE e WHEN 2 THEN format('SELECT o2o_assign(%s)', coalesce(oid::text, 'NULL'))
							  WHEN 4 THEN format('SELECT o2o_decline(%s, %L)', coalesce(oid::text, 'NULL'), v_reason)
							  WHEN 5 THEN format('SELECT o2o_cancel(%s)', coalesce(oid::text, 'NULL'))
							  ELSE format('SELECT o2o_complete(%s)', coalesce(oid::text, 'NULL')) END;
		PERFORM fuzz.trace(sql);
		t0 := clock_timestamp();
		BEGIN
			CASE e
				WHEN 2 THEN got := o2o_assign(oid);
				WHEN 4 THEN got := o2o_decline(oid, v_reason);
				WHEN 5 THEN PERFORM o2o_cancel(oid);
				ELSE PERFORM o2o_complete(oid);
			END CASE;
		EXCEPTION WHEN query_canceled THEN
			RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
		WHEN OTHERS THEN
			st := SQLSTATE; msg := SQLERRM;
		END;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
		s1 := fuzz.order_state(oid);
		ok := true;
		why := NULL;
		IF st IS NOT NULL THEN
			-- a failed step changes nothing
			IF s1 IS DISTINCT FROM s0 THEN
				why := format('the order changed although the call failed: %s -> %s', s0, s1);
			END IF;
		ELSIF oid IS NULL THEN
			why := CASE WHEN got IS NOT NULL THEN 'a result for NULL' END;
		ELSIF e = 2 THEN
			IF s0.status = 'assigned' THEN
				IF got IS DISTINCT FROM s0.active_dealer OR s1 IS DISTINCT FROM s0 THEN
					why := format('an assigned order must keep dealer %s', s0.active_dealer);
				END IF;
			ELSE
				SELECT count(*) FILTER (WHERE x.eligible), min(x.dealer_id) FILTER (WHERE x.rank = 1),
					   count(*) FILTER (WHERE x.reason IS DISTINCT FROM 'no stock')
				  INTO eligible, first_dealer, holding FROM unnest(rows) x;
				maxcand := current_setting('o2o_route.max_candidates')::int;
				IF got IS NOT NULL THEN
					IF s1.status <> 'assigned' OR s1.active_dealer IS DISTINCT FROM got THEN
						why := format('returned dealer %s, but the order is %s with dealer %s', got, s1.status, s1.active_dealer);
					ELSIF rows IS NOT NULL AND NOT EXISTS (SELECT 1 FROM unnest(rows) x WHERE x.eligible AND x.dealer_id = got) THEN
						why := format('dealer %s is not eligible by o2o_candidates', got);
					ELSIF rows IS NOT NULL AND holding <= maxcand AND got <> first_dealer THEN
						why := format('o2o_candidates ranks dealer %s first (%s dealers hold the units, max_candidates %s)',
									  first_dealer, holding, maxcand);
					END IF;
				ELSIF s1.status <> 'unassignable' OR s1.reason IS NULL THEN
					why := format('NULL, but the order is %s (reason %s)', s1.status, s1.reason);
				ELSIF rows IS NOT NULL AND eligible > 0 AND holding <= maxcand THEN
					why := format('NULL, but o2o_candidates has %s eligible dealers, dealer %s first', eligible, first_dealer);
				END IF;
			END IF;
		ELSIF e = 4 THEN
			IF (SELECT a.state || '/' || coalesce(a.reason, '<NULL>') FROM o2o.assignment a WHERE a.assignment_id = s0.active_id)
			   IS DISTINCT FROM 'declined/' || coalesce(v_reason, '<NULL>') THEN
				why := 'the assignment is not declined with the reason given';
			ELSIF got IS NULL AND s1.status <> 'unassignable' THEN
				why := format('NULL, but the order is %s', s1.status);
			ELSIF got IS NOT NULL AND (s1.status <> 'assigned' OR s1.active_dealer IS DISTINCT FROM got) THEN
				why := format('returned dealer %s, but the order is %s with dealer %s', got, s1.status, s1.active_dealer);
			ELSIF got = ANY (s0.declined || s0.active_dealer) THEN
				why := format('dealer %s declined this order before', got);
			END IF;
		ELSIF e = 5 THEN
			IF s1.status <> 'cancelled' OR s1.active_dealer IS NOT NULL
			   OR (s0.active_id IS NOT NULL
				   AND (SELECT a.state FROM o2o.assignment a WHERE a.assignment_id = s0.active_id) <> 'released') THEN
				why := format('after o2o_cancel: %s', s1);
			END IF;
		ELSE
			SELECT s.on_hand, s.reserved,
				   (SELECT sum(amount) FROM o2o.settlement x WHERE x.order_id = oid) AS paid,
				   (SELECT a.state FROM o2o.assignment a WHERE a.assignment_id = s0.active_id) AS astate
			  INTO after
			  FROM o2o.orders o LEFT JOIN o2o.stock s ON s.dealer_id = s0.active_dealer AND s.sku = o.sku
			 WHERE o.order_id = oid;
			IF s1.status <> 'completed' OR after.astate <> 'completed' THEN
				why := format('after o2o_complete: %s, assignment %s', s1, after.astate);
			ELSIF after.paid IS DISTINCT FROM before.unit_price * before.qty THEN
				why := format('the settlement adds up to %s, not %s x %s', after.paid, before.unit_price, before.qty);
			ELSIF after.on_hand <> before.on_hand - before.qty OR after.reserved <> before.reserved - before.qty THEN
				why := format('stock went from %s/%s to %s/%s (on_hand/reserved) for %s units',
							  before.on_hand, before.reserved, after.on_hand, after.reserved, before.qty);
			END IF;
		END IF;
		outs := outs || fuzz.judge(e, 'life', ms, sql, errs IS NULL, errs, why IS NULL,
								   CASE WHEN why IS NOT NULL THEN 'the life cycle of the README' END,
								   coalesce(why, got::text), st, msg);
		IF no_rule THEN
			RAISE SQLSTATE 'FZ002';
		END IF;
	EXCEPTION WHEN SQLSTATE 'FZ002' THEN
		NULL;
	END;
	RETURN outs;
END
$$;
