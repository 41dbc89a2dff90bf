/*
 * test/fuzz/tracking.sql -- family "tracking": the tracking of 0.9.0,
 * o2o_progress, o2o_track, o2o_events, o2o_time_windows (with
 * o2o._window_capacity) and the jeopardy triggers (installers cut,
 * deactivated or stripped of a skill, dealers closed), on the generated
 * world with a few hundred orders assigned first.
 *
 * Arguments: assigned orders (mostly), orders of every other status,
 * unknown ids and NULL; each step, mostly one the delivery's progress
 * allows, else any, a misspelt one or NULL; ETAs right, inverted, half
 * NULL or infinite; reasons, blank or NULL; days from the past to far
 * beyond the promise horizon, infinite or NULL; windows right, wrong for
 * the product, unknown or NULL; arguments a step does not take.  Snapshots
 * current, kept from earlier calls, made up around the current xids,
 * swapped, or NULL.
 *
 * Oracles, besides the SQLSTATE of each bad argument, in the order
 * o2o_progress checks them (22004 NULL order or step, O2005 unknown order,
 * O2006 not assigned or a step the progress does not allow, 22023 unknown
 * step, an argument the step does not take, a bad ETA, reason, day or
 * window, O2013 no free slot):
 *  - o2o_progress returns the next seq of the order's timeline, moves the
 *    progress as the README's steps say, stamps what the step stamps (ETA,
 *    arrival and lateness, attempts, the new day and window of a
 *    reschedule); a reschedule of an installation fails with O2013 exactly
 *    when no skilled active installer of the dealer has room that day (in
 *    that window); a failed call changes nothing;
 *  - o2o_track: NULL for NULL, O2005 for an unknown order, else the order's
 *    status, progress, window and every event of its timeline in seq order;
 *    it changes nothing;
 *  - o2o_events(since, upto): exactly the events whose xid upto sees and
 *    since does not (visibility computed from xmin, xmax and xip), in
 *    event_id order;
 *  - o2o_time_windows: the four windows; o2o._window_capacity(cap, w): the
 *    three shares ceil(cap/3), floor((cap+1)/3), floor(cap/3) (which add
 *    up to cap), day the whole cap, 22023 for an unknown window;
 *  - a jeopardy change (capacity cut, deactivation, a skill removed, a
 *    dealer closed): no active assignment or held hold is left on a slot
 *    that no longer exists, every job taken off one was moved (same day
 *    and window, event moved) or re-routed (event jeopardy), and
 *    o2o.invariant_violations is empty right after the change;
 *  - after each statement, o2o.invariant_violations is empty.
 */

CREATE TABLE fuzz.track_snap (snap_id serial PRIMARY KEY, s pg_snapshot NOT NULL);
CREATE TYPE fuzz.track_job AS (assignment_id bigint, order_id bigint, installer_id int, install_day date, install_window text);

CREATE FUNCTION fuzz.prepare_tracking() RETURNS void
	LANGUAGE sql
	AS $$ SELECT $$;

-- in the tracking database: orders by status quickly, a few hundred assigned
CREATE FUNCTION fuzz.prepare_tracking_family() RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	CREATE INDEX fuzz_orders_status ON o2o.orders (status, order_id);
	PERFORM o2o_assign_pending(400);
	INSERT INTO fuzz.track_snap (s) VALUES (pg_current_snapshot());
	ANALYZE o2o.orders, o2o.assignment, o2o.order_event, o2o.installer_day;
END
$$;

CREATE FUNCTION fuzz.track_steps() RETURNS text[]
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT '{dispatched,en_route,arrived,installed,delivered,failed,rescheduled}'::text[] $$;

-- whether a step is allowed after a progress (the README's table), for a product
CREATE FUNCTION fuzz.track_allowed(progress text, step text, needs_install boolean) RETURNS boolean
	LANGUAGE sql IMMUTABLE
	AS $$
	SELECT CASE step
		WHEN 'dispatched' THEN progress = 'scheduled'
		WHEN 'en_route' THEN progress IN ('dispatched', 'en_route')
		WHEN 'arrived' THEN progress IN ('dispatched', 'en_route')
		WHEN 'installed' THEN progress = 'arrived' AND needs_install
		WHEN 'delivered' THEN progress = 'arrived' AND NOT needs_install
		WHEN 'failed' THEN progress IN ('dispatched', 'en_route', 'arrived')
		WHEN 'rescheduled' THEN progress IN ('scheduled', 'failed')
		ELSE false END
$$;

CREATE FUNCTION fuzz.track_next(step text) RETURNS text
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE step WHEN 'rescheduled' THEN 'scheduled' ELSE step END $$;

-- the share of a window of an installer of capacity cap (0 morning, 1 afternoon, 2 evening)
CREATE FUNCTION fuzz.track_share(cap bigint, k int) RETURNS bigint
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT (cap + 2 - k) / 3 $$;

-- whether snapshot s sees xid x, from its xmin, xmax and xip (NULL for a NULL snapshot)
CREATE FUNCTION fuzz.track_sees(s pg_snapshot, x xid8) RETURNS boolean
	LANGUAGE sql IMMUTABLE
	AS $$
	SELECT CASE WHEN s IS NULL THEN NULL
				ELSE x < pg_snapshot_xmin(s)
					 OR x < pg_snapshot_xmax(s) AND x NOT IN (SELECT pg_snapshot_xip(s)) END
$$;

-- keep the world moving: orders assigned and completed, units for dealers
CREATE FUNCTION fuzz.track_replenish() RETURNS void
	LANGUAGE plpgsql
	AS $$
DECLARE
	oid bigint;
BEGIN
	IF random() < 0.08 OR NOT EXISTS (SELECT 1 FROM o2o.orders WHERE status = 'assigned' LIMIT 1) THEN
		PERFORM o2o_assign_pending(fuzz.ri(1, 6)::int);
	END IF;
	IF random() < 0.15 THEN
		SELECT a.order_id INTO oid FROM o2o.assignment a
		 WHERE a.state = 'active' AND a.progress IN ('installed', 'delivered') ORDER BY random() LIMIT 1;
		IF oid IS NOT NULL THEN
			PERFORM o2o_complete(oid);
		END IF;
	END IF;
	IF random() < 0.05 THEN
		UPDATE o2o.stock SET on_hand = on_hand + fuzz.ri(1, 4)::int
		 WHERE (dealer_id, sku) = (SELECT s.dealer_id, s.sku FROM o2o.stock s
									WHERE s.dealer_id >= fuzz.ri(1, (SELECT max(dealer_id) FROM o2o.dealer))
									ORDER BY s.dealer_id, s.sku LIMIT 1);
	END IF;
END
$$;

-- an order: mostly one with an active assignment, else any, unknown or NULL
CREATE FUNCTION fuzz.track_order(OUT oid bigint, OUT kind text)
	LANGUAGE plpgsql
	AS $$
DECLARE
	r float8 := random();
	mx bigint := (SELECT max(order_id) FROM o2o.orders);
BEGIN
	IF r < 0.75 THEN
		kind := 'assigned';
		SELECT a.order_id INTO oid FROM o2o.assignment a
		 WHERE a.state = 'active' AND a.assignment_id >= fuzz.ri(1, (SELECT max(assignment_id) FROM o2o.assignment))
		 ORDER BY a.assignment_id LIMIT 1;
	END IF;
	IF oid IS NULL AND r < 0.9 THEN
		kind := 'any';
		oid := fuzz.ri(1, mx);
	ELSIF oid IS NULL AND r < 0.97 THEN
		kind := 'unknown';
		oid := fuzz.pick(ARRAY[0, -1, mx + fuzz.ri(1, 1000), 9223372036854775807, -9223372036854775808]);
	ELSIF oid IS NULL THEN
		kind := 'null';
	END IF;
END
$$;

/*
 * One call of o2o_progress: the order, step and arguments drawn, the
 * outcome judged against the state before.
 */
CREATE FUNCTION fuzz.track_progress(seed bigint, i bigint) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	pick record;
	oid bigint;
	o o2o.orders;
	a o2o.assignment;
	a1 o2o.assignment;
	o1 o2o.orders;
	p o2o.product;
	step text;
	ef timestamptz;
	et timestamptz;
	reason text;
	v_day date;
	win text;
	allowed text[];
	horizon int := current_setting('o2o_route.promise_horizon_days')::int;
	exp text;
	maybe text[];
	room boolean;
	seq0 int;
	nev0 bigint;
	got int;
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
	ends timestamptz;
	e record;
BEGIN
	pick := fuzz.track_order();
	oid := pick.oid;
	SELECT * INTO o FROM o2o.orders x WHERE x.order_id = oid;
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = oid AND x.state = 'active';
	SELECT * INTO p FROM o2o.product x WHERE x.sku = o.sku;
	-- the step
	allowed := ARRAY(SELECT s FROM unnest(fuzz.track_steps()) s WHERE fuzz.track_allowed(a.progress, s, p.needs_install));
	step := CASE WHEN random() < 0.65 AND cardinality(allowed) > 0 THEN fuzz.pick(allowed)
				 WHEN random() < 0.85 THEN fuzz.pick(fuzz.track_steps())
				 WHEN random() < 0.9 THEN fuzz.pick(ARRAY['', 'DISPATCHED', 'scheduled', 'completed', 'en route',
														  'installed ', 'assigned', 'cancelled', E'arrived\n'])
			END;
	-- its arguments: mostly what it takes, now and then wrong ones
	IF step = 'en_route' OR random() < 0.04 THEN
		IF random() < 0.8 THEN
			ef := now() + make_interval(mins => fuzz.ri(-120, 600)::int);
			et := ef + make_interval(mins => fuzz.ri(0, 240)::int);
		ELSE
			ef := fuzz.pick(ARRAY[NULL, now(), now() + interval '1 hour', 'infinity', '-infinity',
								  '4713-01-01 BC', '294276-12-31']::timestamptz[]);
			et := fuzz.pick(ARRAY[NULL, now(), now() - interval '1 hour', 'infinity', '-infinity', ef]::timestamptz[]);
		END IF;
	END IF;
	IF step = 'failed' OR random() < 0.04 THEN
		reason := CASE WHEN random() < 0.8 THEN fuzz.pick(ARRAY['nobody home', 'wrong address', 'damaged', 'refused', '不在家'])
					   ELSE fuzz.pick(ARRAY[NULL, '', ' ', '   ', E'\t', E'\n', repeat('x', 3000)]) END;
	END IF;
	IF step = 'rescheduled' OR random() < 0.04 THEN
		v_day := CASE WHEN random() < 0.75 THEN current_date + fuzz.ri(1, horizon)::int
					  ELSE fuzz.pick(ARRAY[NULL, current_date, current_date - 1, current_date - fuzz.ri(2, 400)::int,
										   current_date + horizon, current_date + horizon + 1, current_date + 5000,
										   'infinity', '-infinity', '5874897-12-31', '4713-01-01 BC']::date[]) END;
		win := CASE WHEN random() < 0.7 THEN
						CASE WHEN p.needs_install THEN fuzz.pick(ARRAY[NULL, 'morning', 'afternoon', 'evening'])
							 ELSE fuzz.pick(ARRAY[NULL, 'day']) END
					ELSE fuzz.pick(ARRAY['morning', 'afternoon', 'evening', 'day', 'night', 'Morning', '', ' day', NULL]) END;
	END IF;
	sql := format('SELECT o2o_progress(%s, %L, %L, %L, %L, %L, %L) -- %s', coalesce(oid::text, 'NULL'), step, ef, et,
				  reason, v_day, win, pick.kind);
	-- what must happen, in the order o2o_progress checks
	IF oid IS NULL THEN
		exp := '22004';
	ELSIF o.order_id IS NULL THEN
		exp := 'O2005';
	ELSIF step IS NULL THEN
		exp := '22004';
	ELSIF o.status <> 'assigned' THEN
		exp := 'O2006';
	ELSIF step <> ALL (fuzz.track_steps()) THEN
		exp := '22023';
	ELSIF NOT fuzz.track_allowed(a.progress, step, p.needs_install) THEN
		exp := 'O2006';
	ELSIF (ef IS NOT NULL OR et IS NOT NULL) AND step <> 'en_route' OR reason IS NOT NULL AND step <> 'failed'
		  OR (v_day IS NOT NULL OR win IS NOT NULL) AND step <> 'rescheduled' THEN
		exp := '22023';
	ELSIF step = 'en_route' AND (ef IS NULL OR et IS NULL OR et < ef) THEN
		exp := '22023';
	ELSIF step = 'failed' AND (reason IS NULL OR btrim(reason) = '') THEN
		exp := '22023';
	ELSIF step = 'rescheduled' THEN
		IF v_day IS NULL OR v_day <= current_date OR v_day > current_date + horizon THEN
			exp := '22023';
		ELSIF NOT p.needs_install AND win IS NOT NULL AND win <> 'day' THEN
			exp := '22023';
		ELSIF p.needs_install AND win IS NOT NULL AND win NOT IN ('morning', 'afternoon', 'evening') THEN
			exp := '22023';
		ELSIF p.needs_install THEN
			-- room: a skilled active installer of the dealer with a place that
			-- day (in that window), its own place given back first
			room := EXISTS (
				SELECT 1 FROM o2o.installer j
				  LEFT JOIN o2o.installer_day b ON b.installer_id = j.installer_id AND b.day = v_day
				 CROSS JOIN (VALUES ('morning', 0), ('afternoon', 1), ('evening', 2)) w (name, k)
				 WHERE j.dealer_id = a.dealer_id AND j.active AND p.category = ANY (j.skills)
				   AND (win IS NULL OR w.name = win)
				   AND coalesce(b.booked, 0) - (j.installer_id = a.installer_id AND a.install_day = v_day)::int
					   < j.daily_capacity
				   AND coalesce(CASE w.name WHEN 'morning' THEN b.morning WHEN 'afternoon' THEN b.afternoon
											ELSE b.evening END, 0)
					   - (j.installer_id = a.installer_id AND a.install_day = v_day AND a.install_window = w.name)::int
					   < fuzz.track_share(j.daily_capacity, w.k));
			IF NOT room THEN
				exp := 'O2013';
			END IF;
		END IF;
	END IF;
	seq0 := (SELECT max(x.seq) FROM o2o.order_event x WHERE x.order_id = oid);
	nev0 := (SELECT count(*) FROM o2o.order_event x WHERE x.order_id = oid);
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		got := o2o_progress(oid, step, ef, et, reason, v_day, win);
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	SELECT * INTO a1 FROM o2o.assignment x WHERE x.assignment_id = a.assignment_id;
	SELECT * INTO o1 FROM o2o.orders x WHERE x.order_id = oid;
	IF st IS NOT NULL THEN
		IF a1 IS DISTINCT FROM a OR o1 IS DISTINCT FROM o
		   OR (SELECT count(*) FROM o2o.order_event x WHERE x.order_id = oid) <> nev0 THEN
			why := 'the order, its assignment or its timeline changed although the call failed';
		END IF;
	ELSE
		SELECT * INTO e FROM o2o.order_event x WHERE x.order_id = oid AND x.seq = got;
		ends := (SELECT (o.promised_date + w.ends)::timestamptz FROM o2o_time_windows() w
				  WHERE w.time_window = coalesce(o.promised_window, 'day'));
		IF got IS DISTINCT FROM coalesce(seq0, 0) + 1 THEN
			why := format('returned %s, the timeline ended at %s', got, seq0);
		ELSIF e.event IS DISTINCT FROM step OR e.detail->>'progress' IS DISTINCT FROM fuzz.track_next(step)
			  OR (e.detail->>'dealer_id')::int IS DISTINCT FROM a.dealer_id THEN
			why := format('event %s: %s %s', got, e.event, e.detail);
		ELSIF a1.progress IS DISTINCT FROM fuzz.track_next(step) OR a1.state <> 'active' THEN
			why := format('the assignment is %s, %s', a1.state, a1.progress);
		ELSIF step = 'en_route' AND (a1.eta_from, a1.eta_to) IS DISTINCT FROM (ef, et) THEN
			why := format('ETA %s - %s stored as %s - %s', ef, et, a1.eta_from, a1.eta_to);
		ELSIF step = 'arrived' AND (a1.arrived_at IS DISTINCT FROM now() OR a1.late IS DISTINCT FROM (now() > ends)) THEN
			why := format('arrived at %s, late %s; the window ends %s', a1.arrived_at, a1.late, ends);
		ELSIF step = 'failed' AND (a1.attempts IS DISTINCT FROM a.attempts + 1 OR a1.eta_from IS NOT NULL) THEN
			why := format('attempts %s -> %s', a.attempts, a1.attempts);
		ELSIF step IN ('installed', 'delivered') AND a1.done_at IS NULL THEN
			why := 'done_at not stamped';
		ELSIF step = 'rescheduled' AND p.needs_install
			  AND (a1.install_day IS DISTINCT FROM v_day OR o1.promised_date IS DISTINCT FROM v_day
				   OR o1.promised_window IS DISTINCT FROM a1.install_window
				   OR a1.install_window NOT IN ('morning', 'afternoon', 'evening')
				   OR win IS NOT NULL AND a1.install_window <> win
				   OR a1.arrived_at IS NOT NULL OR a1.eta_from IS NOT NULL) THEN
			why := format('rescheduled to %s %s: the job is on %s %s with installer %s, the promise %s %s', v_day, win,
						  a1.install_day, a1.install_window, a1.installer_id, o1.promised_date, o1.promised_window);
		ELSIF step = 'rescheduled' AND NOT p.needs_install
			  AND (a1.install_day IS NOT NULL OR a1.install_window <> 'day' OR o1.promised_date IS DISTINCT FROM v_day
				   OR o1.promised_window <> 'day') THEN
			why := format('a delivery rescheduled to %s: the job is on %s %s, the promise %s %s', v_day,
						  a1.install_day, a1.install_window, o1.promised_date, o1.promised_window);
		ELSIF o1.first_promised_date IS DISTINCT FROM o.first_promised_date
			  OR o1.first_promised_window IS DISTINCT FROM o.first_promised_window THEN
			why := 'the first promise changed';
		END IF;
	END IF;
	RETURN fuzz.judge(1, 'tracking', ms, sql, exp IS NULL, CASE WHEN exp IS NOT NULL THEN ARRAY[exp] END,
					  why IS NULL, coalesce('step ' || fuzz.track_next(step), 'success'), coalesce(why, got::text), st, msg);
END
$$;

-- one call of o2o_track
CREATE FUNCTION fuzz.track_track(seed bigint, i bigint) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	pick record := fuzz.track_order();
	oid bigint := pick.oid;
	o o2o.orders;
	a o2o.assignment;
	j jsonb;
	want jsonb;
	sql text := format('SELECT o2o_track(%s) -- %s', coalesce(pick.oid::text, 'NULL'), pick.kind);
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
	n0 bigint;
BEGIN
	SELECT * INTO o FROM o2o.orders x WHERE x.order_id = oid;
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = oid AND x.state IN ('active', 'completed')
	 ORDER BY x.state = 'active' DESC, x.assignment_id DESC LIMIT 1;
	n0 := (SELECT count(*) FROM o2o.order_event);
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		j := o2o_track(oid);
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	IF st IS NULL THEN
		IF oid IS NULL THEN
			why := CASE WHEN j IS NOT NULL THEN 'a page for NULL' END;
		ELSE
			want := (SELECT coalesce(jsonb_agg(jsonb_build_array(e.seq, e.event) ORDER BY e.seq), '[]')
					   FROM o2o.order_event e WHERE e.order_id = oid);
			IF (j->>'order_id')::bigint IS DISTINCT FROM oid OR j->>'status' IS DISTINCT FROM o.status
			   OR j->>'progress' IS DISTINCT FROM a.progress OR j->>'promised_window' IS DISTINCT FROM o.promised_window
			   OR (j->>'promised_date')::date IS DISTINCT FROM o.promised_date
			   OR (j->>'attempts')::int IS DISTINCT FROM a.attempts
			   OR (j->'installer'->>'installer_id')::int IS DISTINCT FROM a.installer_id
			   OR (j->'dealer'->>'dealer_id')::int IS DISTINCT FROM a.dealer_id THEN
				why := format('the page says %s', j - 'steps');
			ELSIF (SELECT coalesce(jsonb_agg(jsonb_build_array(s->'seq', s->'event') ORDER BY k), '[]')
					 FROM jsonb_array_elements(j->'steps') WITH ORDINALITY t (s, k)) IS DISTINCT FROM want THEN
				why := format('the steps differ from the timeline %s', want);
			ELSIF o.promised_window IS NOT NULL
				  AND NOT (j->>'window_starts')::timestamptz < (j->>'window_ends')::timestamptz THEN
				why := format('window %s - %s', j->>'window_starts', j->>'window_ends');
			END IF;
		END IF;
	END IF;
	IF why IS NULL AND (SELECT count(*) FROM o2o.order_event) <> n0 THEN
		why := 'o2o_track wrote events';
	END IF;
	RETURN fuzz.judge(2, 'tracking', ms, sql, oid IS NULL OR o.order_id IS NOT NULL,
					  CASE WHEN oid IS NOT NULL AND o.order_id IS NULL THEN '{O2005}'::text[] END,
					  why IS NULL, 'the order''s page', coalesce(why, left(j::text, 300)), st, msg);
END
$$;

-- a snapshot: the current one, one kept, one made up around the current xids, or NULL
CREATE FUNCTION fuzz.track_snapshot() RETURNS pg_snapshot
	LANGUAGE plpgsql
	AS $$
DECLARE
	r float8 := random();
	cur pg_snapshot := pg_current_snapshot();
	xmin bigint;
	xmax bigint;
BEGIN
	IF r < 0.25 THEN
		RETURN cur;
	ELSIF r < 0.6 THEN
		RETURN (SELECT s FROM fuzz.track_snap WHERE snap_id >= fuzz.ri(1, (SELECT max(snap_id) FROM fuzz.track_snap))
				 ORDER BY snap_id LIMIT 1);
	ELSIF r < 0.92 THEN
		xmin := greatest(1, pg_snapshot_xmin(cur)::text::bigint + fuzz.ri(-300, 5));
		xmax := xmin + fuzz.ri(0, 40);
		RETURN format('%s:%s:%s', xmin, xmax,
					  (SELECT coalesce(string_agg(x::text, ',' ORDER BY x), '')
						 FROM (SELECT DISTINCT fuzz.ri(xmin, greatest(xmin, xmax - 1)) AS x
								 FROM generate_series(1, CASE WHEN xmax > xmin THEN fuzz.ri(0, 4)::int ELSE 0 END)) y))::pg_snapshot;
	END IF;
	RETURN NULL;
END
$$;

-- one call of o2o_events
CREATE FUNCTION fuzz.track_events(seed bigint, i bigint) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	since pg_snapshot := fuzz.track_snapshot();
	upto pg_snapshot := fuzz.track_snapshot();
	dflt boolean := random() < 0.3;
	got bigint[];
	want bigint[];
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
BEGIN
	IF random() < 0.3 THEN
		INSERT INTO fuzz.track_snap (s) VALUES (pg_current_snapshot());
	END IF;
	IF dflt THEN
		upto := pg_current_snapshot();
		sql := format('SELECT event_id FROM o2o_events(%L)', since);
	ELSE
		sql := format('SELECT event_id FROM o2o_events(%L, %L)', since, upto);
	END IF;
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		IF dflt THEN
			got := ARRAY(SELECT e.event_id FROM o2o_events(since) e);
		ELSE
			got := ARRAY(SELECT e.event_id FROM o2o_events(since, upto) e);
		END IF;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	IF st IS NULL THEN
		want := ARRAY(SELECT e.event_id FROM o2o.order_event e
					   WHERE fuzz.track_sees(upto, e.xid) AND (since IS NULL OR NOT fuzz.track_sees(since, e.xid))
					   ORDER BY e.event_id);
		IF got IS DISTINCT FROM want THEN
			why := format('%s events, expected %s; first difference at event %s', cardinality(got), cardinality(want),
						  (SELECT min(x) FROM (SELECT unnest(got) EXCEPT SELECT unnest(want)
											   UNION ALL (SELECT unnest(want) EXCEPT SELECT unnest(got))) d (x)));
		END IF;
	END IF;
	RETURN fuzz.judge(3, 'tracking', ms, sql, true, NULL, why IS NULL, 'the events upto sees and since does not',
					  coalesce(why, cardinality(got)::text), st, msg);
END
$$;

-- one call of o2o_time_windows and o2o._window_capacity
CREATE FUNCTION fuzz.track_windows(seed bigint, i bigint) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	cap int := CASE WHEN random() < 0.7 THEN fuzz.ri(1, 60)::int
					ELSE fuzz.pick(ARRAY[NULL, 0, -1, -2, -3, 100000, 2147483645, 2147483646, 2147483647, -2147483648]) END;
	win text := CASE WHEN random() < 0.8 THEN fuzz.pick(ARRAY['morning', 'afternoon', 'evening', 'day'])
					 ELSE fuzz.pick(ARRAY[NULL, '', 'night', 'Morning', 'morning ', 'DAY']) END;
	got int;
	rows text;
	shares int[];
	k int := array_position(ARRAY['morning', 'afternoon', 'evening'], win) - 1;
	want int;
	sql text := format('SELECT o2o._window_capacity(%s, %L), (SELECT string_agg(w::text, '';'') FROM o2o_time_windows() w)',
					   coalesce(cap::text, 'NULL'), win);
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
	bad boolean := win IS NOT NULL AND cap IS NOT NULL AND win NOT IN ('morning', 'afternoon', 'evening', 'day');
BEGIN
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		rows := (SELECT string_agg(format('%s %s-%s', w.time_window, w.starts, w.ends), ';') FROM o2o_time_windows() w);
		got := o2o._window_capacity(cap, win);
		IF cap >= 0 THEN
			shares := ARRAY[o2o._window_capacity(cap, 'morning'), o2o._window_capacity(cap, 'afternoon'),
							o2o._window_capacity(cap, 'evening')];
		END IF;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	want := CASE WHEN win = 'day' THEN cap WHEN k >= 0 THEN fuzz.track_share(cap, k) END;
	IF st IS NULL THEN
		IF rows IS DISTINCT FROM 'morning 08:00:00-12:00:00;afternoon 12:00:00-17:00:00;evening 17:00:00-21:00:00;day 08:00:00-21:00:00' THEN
			why := format('o2o_time_windows: %s', rows);
		ELSIF cap IS NULL OR win IS NULL THEN
			why := CASE WHEN got IS NOT NULL THEN 'a result for NULL' END;
		ELSIF cap >= 0 AND got IS DISTINCT FROM want THEN
			why := format('%s of %s is %s, expected %s', win, cap, got, want);
		ELSIF cap >= 0 AND (shares[1] + shares[2]::bigint + shares[3] <> cap OR shares[1] < shares[3]) THEN
			why := format('the shares of %s are %s', cap, shares);
		END IF;
	END IF;
	RETURN fuzz.judge(4, 'tracking', ms, sql, NOT bad, CASE WHEN bad THEN '{22023}'::text[] END, why IS NULL,
					  coalesce(want::text, 'NULL'), coalesce(why, got::text), st, msg);
END
$$;

/*
 * One jeopardy change: an installer with jobs cut, deactivated or
 * stripped of the skill of one of its jobs, or a dealer with jobs closed;
 * now and then the world is given back what it lost (installers and
 * dealers reopened, capacity raised), which is only required to succeed.
 */
CREATE FUNCTION fuzz.track_jeopardy(seed bigint, i bigint) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	kind text := fuzz.pick(ARRAY['cut', 'cut', 'deactivate', 'skill', 'close', 'restore', 'restore']);
	j o2o.installer;
	d int;
	a record;
	cat text;
	newcap int;
	ev0 bigint := (SELECT coalesce(max(event_id), 0) FROM o2o.order_event);
	jobs fuzz.track_job[];
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
BEGIN
	IF kind <> 'restore' THEN
		SELECT x.order_id, x.installer_id, x.dealer_id, p.category INTO a
		  FROM o2o.assignment x JOIN o2o.orders o USING (order_id) JOIN o2o.product p USING (sku)
		 WHERE x.state = 'active' AND x.installer_id IS NOT NULL
		   AND x.assignment_id >= fuzz.ri(1, (SELECT max(assignment_id) FROM o2o.assignment))
		 ORDER BY x.assignment_id LIMIT 1;
		IF a.order_id IS NULL THEN
			kind := 'restore';
		END IF;
	END IF;
	IF kind IN ('cut', 'deactivate', 'skill') THEN
		SELECT * INTO j FROM o2o.installer x WHERE x.installer_id = a.installer_id;
		IF kind = 'cut' AND j.daily_capacity = 1 THEN
			kind := 'deactivate';
		END IF;
	END IF;
	CASE kind
		WHEN 'cut' THEN
			newcap := CASE WHEN random() < 0.4 THEN 1 ELSE fuzz.ri(1, j.daily_capacity - 1)::int END;
			sql := format('UPDATE o2o.installer SET daily_capacity = %s WHERE installer_id = %s -- cut from %s',
						  newcap, j.installer_id, j.daily_capacity);
		WHEN 'deactivate' THEN
			sql := format('UPDATE o2o.installer SET active = false WHERE installer_id = %s -- deactivate', j.installer_id);
		WHEN 'skill' THEN
			cat := a.category;
			sql := format('UPDATE o2o.installer SET skills = %L WHERE installer_id = %s -- skill %s removed',
						  CASE WHEN cardinality(j.skills) > 1 THEN array_remove(j.skills, cat)
							   ELSE ARRAY[(SELECT s FROM unnest('{fridge,washer,ac,water_heater,range_hood,purifier}'::text[]) s
											WHERE s <> cat ORDER BY random() LIMIT 1)] END,
						  j.installer_id, cat);
		WHEN 'close' THEN
			d := a.dealer_id;
			sql := format('UPDATE o2o.dealer SET active = false WHERE dealer_id = %s -- close', d);
		ELSE
			sql := fuzz.pick(ARRAY[
				'UPDATE o2o.installer SET active = true WHERE installer_id IN (SELECT installer_id FROM o2o.installer WHERE NOT active ORDER BY random() LIMIT 3) -- restore',
				'UPDATE o2o.dealer SET active = true WHERE dealer_id IN (SELECT dealer_id FROM o2o.dealer WHERE NOT active ORDER BY random() LIMIT 2) -- restore',
				'UPDATE o2o.installer SET daily_capacity = daily_capacity + 2 WHERE installer_id IN (SELECT installer_id FROM o2o.installer ORDER BY random() LIMIT 5) -- restore']);
	END CASE;
	-- the jobs on the subject before the change
	jobs := ARRAY(SELECT ROW(x.assignment_id, x.order_id, x.installer_id, x.install_day, x.install_window)::fuzz.track_job
					FROM o2o.assignment x
				   WHERE x.state = 'active' AND (x.installer_id = j.installer_id OR x.dealer_id = d));
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		EXECUTE sql;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	IF st IS NULL AND kind <> 'restore' THEN
		-- nothing left on a slot that is gone
		SELECT string_agg(w, '; ') INTO why FROM (
			SELECT format('%s %s still on %s', x.job, x.id, x.what) AS w FROM (
				SELECT 'assignment' AS job, x.assignment_id AS id, x.installer_id, x.dealer_id, x.install_day,
					   x.install_window, p.category, 'the slot' AS what
				  FROM o2o.assignment x JOIN o2o.orders o USING (order_id) JOIN o2o.product p USING (sku)
				 WHERE x.state = 'active' AND (x.installer_id = j.installer_id OR x.dealer_id = d)
				UNION ALL
				SELECT 'hold', h.hold_id, h.installer_id, h.dealer_id, h.install_day, h.install_window, p.category, 'the slot'
				  FROM o2o.hold h JOIN o2o.product p USING (sku)
				 WHERE h.state = 'held' AND (h.installer_id = j.installer_id OR h.dealer_id = d)) x
			 WHERE kind IN ('deactivate', 'close')
				OR kind = 'skill' AND x.category = cat AND x.installer_id = j.installer_id
			UNION ALL
			SELECT format('installer %s has %s jobs on %s in the %s (share %s of %s)', j.installer_id, n, y.install_day,
						  y.install_window, fuzz.track_share(newcap, y.k), newcap)
			  FROM (SELECT z.install_day, z.install_window, count(*) AS n,
						   array_position(ARRAY['morning', 'afternoon', 'evening'], z.install_window) - 1 AS k
					  FROM (SELECT x.install_day, x.install_window FROM o2o.assignment x
							 WHERE x.state = 'active' AND x.installer_id = j.installer_id
							UNION ALL
							SELECT h.install_day, h.install_window FROM o2o.hold h
							 WHERE h.state = 'held' AND h.installer_id = j.installer_id) z
					 GROUP BY 1, 2) y
			 WHERE kind = 'cut' AND y.k >= 0 AND y.n > fuzz.track_share(newcap, y.k)) v;
		-- each job taken off was moved or re-routed
		IF why IS NULL THEN
			SELECT string_agg(format('order %s left installer %s without an event', (x.f).order_id, (x.f).installer_id), '; ') INTO why
			  FROM (SELECT unnest(jobs) AS f) x
			  JOIN o2o.assignment y ON y.assignment_id = (x.f).assignment_id
			 WHERE (y.state <> 'active' OR y.installer_id IS DISTINCT FROM (x.f).installer_id)
			   AND NOT EXISTS (SELECT 1 FROM o2o.order_event e
								WHERE e.order_id = (x.f).order_id AND e.event_id > ev0 AND e.event IN ('moved', 'jeopardy'));
		END IF;
		IF why IS NULL THEN
			SELECT string_agg(format('order %s moved off its day or window', (x.f).order_id), '; ') INTO why
			  FROM (SELECT unnest(jobs) AS f) x
			  JOIN o2o.assignment y ON y.assignment_id = (x.f).assignment_id
			 WHERE y.state = 'active' AND y.installer_id IS DISTINCT FROM (x.f).installer_id
			   AND (y.install_day IS DISTINCT FROM (x.f).install_day OR y.install_window IS DISTINCT FROM (x.f).install_window);
		END IF;
	END IF;
	IF st IS NULL AND why IS NULL THEN
		SELECT string_agg(format('%s: %s', v.invariant, v.subject), '; ') INTO why
		  FROM (SELECT * FROM o2o.invariant_violations LIMIT 10) v;
	END IF;
	RETURN fuzz.judge(5, 'tracking', ms, sql, true, NULL, why IS NULL,
					  'no job left on a slot that is gone, invariants kept', coalesce(why, 'ok'), st, msg);
END
$$;

CREATE FUNCTION fuzz.tracking_step(seed bigint, i bigint, e int) RETURNS fuzz.out[]
	LANGUAGE plpgsql
	AS $$
BEGIN
	PERFORM fuzz.track_replenish();
	RETURN ARRAY[CASE e WHEN 1 THEN fuzz.track_progress(seed, i)
						WHEN 2 THEN fuzz.track_track(seed, i)
						WHEN 3 THEN fuzz.track_events(seed, i)
						WHEN 4 THEN fuzz.track_windows(seed, i)
						ELSE fuzz.track_jeopardy(seed, i) END];
END
$$;

-- after each statement: o2o.invariant_violations is empty
CREATE FUNCTION fuzz.tracking_end(seed bigint, i bigint) RETURNS void
	LANGUAGE sql
	AS $$ SELECT fuzz.invariants_hold('tracking', 6, seed, i) $$;
