------------------------------------------------------------------------
-- tracking: time windows, progress, the event outbox, jeopardy, BI
------------------------------------------------------------------------
/*
 * The columns this concern adds, at the end of their tables as ALTER
 * EXTENSION ... UPDATE adds them (0.9.0).
 *
 * Bookings count jobs per time window: each window takes its share of the
 * installer's daily capacity (o2o_time_windows()); the assignment, the hold
 * and the order carry the window.  The order keeps the first promise made,
 * to tell whether it was kept.  The assignment carries the progress of the
 * delivery.  Events are numbered per order (seq) and stamped with the
 * writing transaction (xid), which makes them an outbox a consumer reads
 * exactly once (o2o_events).
 */
ALTER TABLE o2o.installer_day
	ADD COLUMN morning int NOT NULL DEFAULT 0,
	ADD COLUMN afternoon int NOT NULL DEFAULT 0,
	ADD COLUMN evening int NOT NULL DEFAULT 0;
ALTER TABLE o2o.assignment
	ADD COLUMN install_window text,
	ADD COLUMN progress text NOT NULL DEFAULT 'scheduled',
	ADD COLUMN eta_from timestamptz,
	ADD COLUMN eta_to timestamptz,
	ADD COLUMN arrived_at timestamptz,
	ADD COLUMN late boolean,
	ADD COLUMN done_at timestamptz,
	ADD COLUMN attempts int NOT NULL DEFAULT 0;
ALTER TABLE o2o.orders
	ADD COLUMN promised_window text,
	ADD COLUMN first_promised_date date,
	ADD COLUMN first_promised_window text;
ALTER TABLE o2o.hold ADD COLUMN install_window text;
ALTER TABLE o2o.dealer ADD COLUMN contact text;
ALTER TABLE o2o.installer ADD COLUMN contact text;
ALTER TABLE o2o.order_event
	ADD COLUMN seq int,
	ADD COLUMN xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id();

-- @upgrade-data@ (the upgrade script fills the new columns of existing rows here)

ALTER TABLE o2o.order_event ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX order_event_seq_key ON o2o.order_event (order_id, seq);
CREATE INDEX order_event_xid_idx ON o2o.order_event (xid);
ALTER TABLE o2o.installer_day ADD CONSTRAINT installer_day_windows_check
	CHECK (morning >= 0 AND afternoon >= 0 AND evening >= 0);
ALTER TABLE o2o.assignment
	ADD CONSTRAINT assignment_window_check
		CHECK (install_window IN ('morning', 'afternoon', 'evening', 'day')),
	ADD CONSTRAINT assignment_progress_check
		CHECK (progress IN ('scheduled', 'dispatched', 'en_route', 'arrived', 'installed', 'delivered', 'failed')),
	ADD CONSTRAINT assignment_eta_check CHECK (eta_to >= eta_from);
ALTER TABLE o2o.orders ADD CONSTRAINT orders_window_check
	CHECK (promised_window IN ('morning', 'afternoon', 'evening', 'day')
		   AND first_promised_window IN ('morning', 'afternoon', 'evening', 'day'));
CREATE INDEX assignment_installer_active_idx ON o2o.assignment (installer_id, install_day) WHERE state = 'active';

COMMENT ON TABLE o2o.installer_day IS
	'open jobs booked per installer and day, and per time window (morning, afternoon, evening); booked never exceeds the installer''s daily_capacity, nor a window its share';
COMMENT ON TABLE o2o.order_event IS
	'append-only timeline of each order (seq numbers it per order) and the durable outbox of o2o_events (xid: the transaction that wrote it)';

------------------------------------------------------------------------
-- time windows
------------------------------------------------------------------------
CREATE FUNCTION o2o_time_windows()
	RETURNS TABLE (time_window text, starts time, ends time, share text)
	AS 'MODULE_PATHNAME', 'o2o_time_windows'
	LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION o2o_time_windows() IS
	'the time windows of a day (local time) and the share of an installer''s daily capacity each takes; day is a delivery without installation';

CREATE FUNCTION o2o._window_capacity(capacity int, time_window text) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_window_capacity'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o._window_capacity(int, text) IS
	'internal: the jobs an installer of this daily capacity takes in the window; 22023 for an unknown window';

/* the end of a window on a day, in the session's time zone */
CREATE FUNCTION o2o._window_end(day date, time_window text) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'o2o_window_end'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o._window_end(date, text) IS 'internal: when a window of a day ends, in the session''s time zone';

/*
 * Book a job on day in the first of windows that has room, trying the
 * installers in the order given: each under a share lock on its row (an
 * installer being cut or deactivated is waited for), with its capacity of
 * now.  Returns the installer and window, or NULLs when none has room.
 */
CREATE FUNCTION o2o._book_slot(installers int[], p_day date, windows text[],
							   OUT installer_id int, OUT time_window text)
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	j int;
	cap int;
	w text;
BEGIN
	FOREACH j IN ARRAY installers LOOP
		FOREACH w IN ARRAY windows LOOP
			/*
			 * Each attempt in a subtransaction of its own, rolled back when
			 * it does not book: the upsert locks a full day's row all the
			 * same, and a lock kept while the search goes on to other
			 * installers lets two searches in opposite orders deadlock.
			 */
			BEGIN
				SELECT i.daily_capacity INTO cap FROM o2o.installer i WHERE i.installer_id = j AND i.active FOR SHARE;
				IF FOUND AND o2o._window_capacity(cap, w) > 0 THEN
					INSERT INTO o2o.installer_day AS b (installer_id, day, booked, morning, afternoon, evening)
					VALUES (j, p_day, 1, (w = 'morning')::int, (w = 'afternoon')::int, (w = 'evening')::int)
					ON CONFLICT ON CONSTRAINT installer_day_pkey DO UPDATE
					   SET booked = b.booked + 1, morning = b.morning + (w = 'morning')::int,
						   afternoon = b.afternoon + (w = 'afternoon')::int, evening = b.evening + (w = 'evening')::int
					 WHERE b.booked < cap
					   AND CASE w WHEN 'morning' THEN b.morning WHEN 'afternoon' THEN b.afternoon ELSE b.evening END
						   < o2o._window_capacity(cap, w);
					IF FOUND THEN
						installer_id := j;
						time_window := w;
						RETURN;
					END IF;
				END IF;
				RAISE SQLSTATE 'O2X00';		-- not booked: give the locks back
			EXCEPTION WHEN SQLSTATE 'O2X00' THEN
				NULL;
			END;
		END LOOP;
	END LOOP;
END
$$;
COMMENT ON FUNCTION o2o._book_slot(int[], date, text[]) IS
	'internal: book a job on a day in the first window with room, trying the installers in order (share-locked, capacity of now)';

/* give a job's place back: the day's count and its window's */
CREATE FUNCTION o2o._unbook_slot(p_installer int, p_day date, p_window text) RETURNS void
	LANGUAGE sql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	UPDATE o2o.installer_day b
	   SET booked = b.booked - 1,
		   morning = b.morning - (p_window IS NOT DISTINCT FROM 'morning')::int,
		   afternoon = b.afternoon - (p_window IS NOT DISTINCT FROM 'afternoon')::int,
		   evening = b.evening - (p_window IS NOT DISTINCT FROM 'evening')::int
	 WHERE b.installer_id = p_installer AND b.day = p_day
$$;
COMMENT ON FUNCTION o2o._unbook_slot(int, date, text) IS 'internal: free a job''s place on its installer''s day and window';

------------------------------------------------------------------------
-- progress
------------------------------------------------------------------------
CREATE FUNCTION o2o._progress_step(order_id bigint, progress text, step text, needs_install boolean) RETURNS text
	AS 'MODULE_PATHNAME', 'o2o_progress_step'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o._progress_step(bigint, text, text, boolean) IS
	'internal: the progress of a delivery after a step; O2006 when the step is not allowed now, 22023 for an unknown step';

/*
 * Move an assignment's job to another day (and window): the day's bookings
 * of the dealer's skilled installers locked in key order (two reschedules
 * swapping days wait for each other instead of deadlocking), the old place
 * given back, the same installer tried first.  O2013 when nobody is free.
 */
CREATE FUNCTION o2o._reschedule(a o2o.assignment, p o2o.product, p_day date, p_window text) RETURNS jsonb
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	horizon int := current_setting('o2o_route.promise_horizon_days')::int;
	installers int[];
	slot record;
BEGIN
	IF p_day IS NULL OR p_day <= current_date OR p_day > current_date + horizon THEN
		RAISE EXCEPTION 'o2o_progress: rescheduled needs a day after today, within the promise horizon'
			USING ERRCODE = '22023',
				  DETAIL = format('The day given is %s; it must be from %s to %s.', coalesce(p_day::text, 'NULL'),
								  current_date + 1, current_date + horizon);
	END IF;
	IF NOT p.needs_install THEN
		IF p_window IS NOT NULL AND p_window <> 'day' THEN
			RAISE EXCEPTION 'o2o_progress: a delivery without installation is promised a whole day'
				USING ERRCODE = '22023', DETAIL = format('The window given is %s; give day, or no window.', p_window);
		END IF;
		UPDATE o2o.assignment x SET install_day = NULL, install_window = 'day' WHERE x.assignment_id = a.assignment_id;
		RETURN jsonb_build_object('from_day', (SELECT o.promised_date FROM o2o.orders o WHERE o.order_id = a.order_id),
								  'day', p_day, 'time_window', 'day');
	END IF;
	IF p_window IS NOT NULL AND (o2o._window_capacity(1, p_window) IS NULL OR p_window = 'day') THEN
		RAISE EXCEPTION 'o2o_progress: an installation is booked in the morning, afternoon or evening'
			USING ERRCODE = '22023', DETAIL = format('The window given is %s.', p_window);
	END IF;
	PERFORM 1 FROM o2o.dealer d WHERE d.dealer_id = a.dealer_id AND d.active FOR SHARE;
	installers := ARRAY(SELECT i.installer_id FROM o2o.installer i
						 WHERE i.dealer_id = a.dealer_id AND i.active AND p.category = ANY (i.skills)
						 ORDER BY i.installer_id IS DISTINCT FROM a.installer_id, i.installer_id);
	/*
	 * The installers first, in key order, then their days, as a booking
	 * does: an installer being deactivated or cut holds its row while it
	 * gives back its jobs' places, so taking a day's row before waiting for
	 * the installer's deadlocks with it.
	 */
	PERFORM 1 FROM o2o.installer i
	 WHERE i.installer_id = ANY (installers) OR i.installer_id = a.installer_id
	 ORDER BY i.installer_id
	   FOR SHARE;
	PERFORM 1 FROM o2o.installer_day b
	 WHERE (b.installer_id = ANY (installers) AND b.day = p_day)
		OR (b.installer_id = a.installer_id AND b.day = a.install_day)
	 ORDER BY b.installer_id, b.day
	   FOR NO KEY UPDATE;
	PERFORM o2o._unbook_slot(a.installer_id, a.install_day, a.install_window);
	slot := o2o._book_slot(installers, p_day,
						   CASE WHEN p_window IS NULL THEN ARRAY['morning', 'afternoon', 'evening'] ELSE ARRAY[p_window] END);
	IF slot.installer_id IS NULL THEN
		RAISE EXCEPTION 'no installer of dealer % is free then', a.dealer_id
			USING ERRCODE = 'O2013',
				  DETAIL = format('No skilled installer of dealer %s has room on %s in %s.', a.dealer_id, p_day,
								  coalesce(p_window, 'any window'));
	END IF;
	UPDATE o2o.assignment x SET installer_id = slot.installer_id, install_day = p_day, install_window = slot.time_window
	 WHERE x.assignment_id = a.assignment_id;
	RETURN jsonb_build_object('from_day', a.install_day, 'from_window', a.install_window,
							  'from_installer_id', a.installer_id, 'day', p_day,
							  'time_window', slot.time_window, 'installer_id', slot.installer_id);
END
$$;
COMMENT ON FUNCTION o2o._reschedule(o2o.assignment, o2o.product, date, text) IS
	'internal: move a job to another day and window of its dealer (same installer first); O2013 when nobody is free';

/*
 * One step of a delivery: checked against the assignment's progress
 * (src/tracking.c), stamped, and appended to the order's timeline.
 * Returns the step's number in that timeline.
 */
CREATE FUNCTION o2o_progress(order_id bigint, step text, eta_from timestamptz DEFAULT NULL,
							 eta_to timestamptz DEFAULT NULL, reason text DEFAULT NULL,
							 day date DEFAULT NULL, time_window text DEFAULT NULL,
							 dealer_id int DEFAULT NULL) RETURNS int
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_progress.order_id, 'o2o_progress');
	a o2o.assignment;
	p o2o.product;
	next text;
	ends timestamptz;
	d jsonb;
	n int;
BEGIN
	IF step IS NULL THEN
		RAISE EXCEPTION 'o2o_progress: step must not be NULL' USING ERRCODE = '22004';
	END IF;
	IF o.status <> 'assigned' THEN
		RAISE EXCEPTION 'order % is %, not assigned', o.order_id, o.status
			USING ERRCODE = 'O2006', DETAIL = 'Progress is reported between o2o_assign and o2o_complete.';
	END IF;
	a := o2o._active_assignment(o);
	-- a dealer's app names itself: a step meant for an assignment declined meanwhile is refused
	IF o2o_progress.dealer_id IS NOT NULL AND o2o_progress.dealer_id <> a.dealer_id THEN
		RAISE EXCEPTION 'order % is with dealer %, not dealer %', o.order_id, a.dealer_id, o2o_progress.dealer_id
			USING ERRCODE = 'O2006', DETAIL = 'The order was declined or re-routed since dealer ' || o2o_progress.dealer_id || ' had it.';
	END IF;
	SELECT * INTO p FROM o2o.product x WHERE x.sku = o.sku;
	next := o2o._progress_step(o.order_id, a.progress, step, p.needs_install);
	IF (eta_from IS NOT NULL OR eta_to IS NOT NULL) AND step <> 'en_route'
	   OR reason IS NOT NULL AND step <> 'failed'
	   OR (day IS NOT NULL OR time_window IS NOT NULL) AND step <> 'rescheduled' THEN
		RAISE EXCEPTION 'o2o_progress: an argument step % does not take', step
			USING ERRCODE = '22023',
				  HINT = 'eta_from and eta_to go with en_route, reason with failed, day and time_window with rescheduled.';
	END IF;
	ends := o2o._window_end(o.promised_date, coalesce(o.promised_window, 'day'));
	CASE step
		WHEN 'dispatched' THEN
			d := jsonb_build_object('installer_id', a.installer_id);
		WHEN 'en_route' THEN
			IF eta_from IS NULL OR eta_to IS NULL OR eta_to < eta_from THEN
				RAISE EXCEPTION 'o2o_progress: en_route needs an ETA window'
					USING ERRCODE = '22023',
						  DETAIL = format('eta_from is %s and eta_to is %s; give both, eta_from first.',
										  coalesce(eta_from::text, 'NULL'), coalesce(eta_to::text, 'NULL'));
			END IF;
			d := jsonb_build_object('eta_from', eta_from, 'eta_to', eta_to, 'eta_after_window', eta_to > ends);
		WHEN 'arrived' THEN
			d := jsonb_build_object('late', now() > ends,
									'minutes_late', greatest(0, ceil(extract(epoch FROM now() - ends) / 60))::int);
		WHEN 'installed', 'delivered' THEN
			d := jsonb_build_object('kept', now() <= o2o._window_end(o.first_promised_date,
																	   coalesce(o.first_promised_window, 'day')));
		WHEN 'failed' THEN
			IF reason IS NULL OR btrim(reason) = '' THEN
				RAISE EXCEPTION 'o2o_progress: failed needs a reason' USING ERRCODE = '22023';
			END IF;
			d := jsonb_build_object('reason', reason, 'installer_id', a.installer_id, 'day', a.install_day,
									'time_window', a.install_window);
		WHEN 'rescheduled' THEN
			d := o2o._reschedule(a, p, day, time_window);
			UPDATE o2o.orders x SET promised_date = o2o_progress.day, promised_window = d->>'time_window'
			 WHERE x.order_id = o.order_id;
	END CASE;
	-- one update of the assignment per step (a second would check its foreign keys again)
	UPDATE o2o.assignment x
	   SET progress = next,
		   eta_from = CASE step WHEN 'en_route' THEN o2o_progress.eta_from WHEN 'failed' THEN NULL
								WHEN 'rescheduled' THEN NULL ELSE x.eta_from END,
		   eta_to = CASE step WHEN 'en_route' THEN o2o_progress.eta_to WHEN 'failed' THEN NULL
							  WHEN 'rescheduled' THEN NULL ELSE x.eta_to END,
		   arrived_at = CASE step WHEN 'arrived' THEN now() WHEN 'rescheduled' THEN NULL ELSE x.arrived_at END,
		   late = CASE step WHEN 'arrived' THEN now() > ends WHEN 'rescheduled' THEN NULL ELSE x.late END,
		   done_at = CASE WHEN step IN ('installed', 'delivered') THEN now() ELSE x.done_at END,
		   attempts = x.attempts + (step = 'failed')::int
	 WHERE x.assignment_id = a.assignment_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, step, 'assigned', d || jsonb_build_object('progress', next, 'dealer_id', a.dealer_id))
	RETURNING seq INTO n;
	RETURN n;
END
$$;
COMMENT ON FUNCTION o2o_progress(bigint, text, timestamptz, timestamptz, text, date, text, int) IS
	'report a step of an assigned order''s delivery (dispatched, en_route with an ETA, arrived, installed or delivered, failed with a reason, rescheduled to a day and window), by the dealer named if one is; checked, stamped and appended to its timeline; returns the step''s number there';

/* What a tracking page shows, as jsonb; O2005 for an unknown order. */
CREATE FUNCTION o2o_track(order_id bigint) RETURNS jsonb
	LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders;
	a o2o.assignment;
	w record;
BEGIN
	SELECT * INTO o FROM o2o.orders x WHERE x.order_id = o2o_track.order_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown order'
			USING ERRCODE = 'O2005', DETAIL = format('No row of o2o.orders has order_id %s.', o2o_track.order_id);
	END IF;
	SELECT * INTO a FROM o2o.assignment x
	 WHERE x.order_id = o.order_id AND x.state IN ('active', 'completed')
	 ORDER BY x.state = 'active' DESC, x.assignment_id DESC LIMIT 1;
	SELECT * INTO w FROM @extschema@.o2o_time_windows() t WHERE t.time_window = o.promised_window;
	RETURN jsonb_build_object(
		'order_id', o.order_id, 'status', o.status, 'status_reason', o.status_reason,
		'sku', o.sku, 'qty', o.qty, 'progress', a.progress,
		'promised_date', o.promised_date, 'promised_window', o.promised_window,
		'window_starts', (o.promised_date + w.starts)::timestamptz,
		'window_ends', (o.promised_date + w.ends)::timestamptz,
		'first_promised_date', o.first_promised_date, 'first_promised_window', o.first_promised_window,
		'eta_from', a.eta_from, 'eta_to', a.eta_to, 'arrived_at', a.arrived_at, 'late', a.late,
		'attempts', a.attempts,
		'dealer', (SELECT jsonb_build_object('dealer_id', d.dealer_id, 'name', d.name, 'contact', d.contact)
					 FROM o2o.dealer d WHERE d.dealer_id = a.dealer_id),
		'installer', (SELECT jsonb_build_object('installer_id', i.installer_id, 'name', i.name, 'contact', i.contact)
						FROM o2o.installer i WHERE i.installer_id = a.installer_id),
		'steps', coalesce((SELECT jsonb_agg(jsonb_build_object('seq', e.seq, 'event', e.event, 'status', e.status,
															   'at', e.at, 'detail', e.detail) ORDER BY e.seq)
							 FROM o2o.order_event e WHERE e.order_id = o.order_id), '[]'::jsonb));
END
$$;
COMMENT ON FUNCTION o2o_track(bigint) IS
	'what a tracking page shows: status, progress, promised day and window, ETA, dealer and installer with contacts, and every step with its time (jsonb)';

------------------------------------------------------------------------
-- the outbox: one NOTIFY per committing transaction, events read by snapshot
------------------------------------------------------------------------
/*
 * Notifications with the same channel and payload in one transaction are
 * delivered once, at commit: one per transaction that wrote events, none
 * for one that rolled back.  o2o_route.notify_events = off skips it in a
 * transaction that will be prepared (PREPARE TRANSACTION refuses NOTIFY).
 */
CREATE FUNCTION o2o._event_notify() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_event_notify'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._event_notify() IS 'internal trigger: wake the listeners of channel o2o_events once per committing transaction';

CREATE TRIGGER order_event_notify AFTER INSERT ON o2o.order_event
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._event_notify();

/*
 * The events of the transactions that committed after snapshot since and
 * by snapshot upto (pg_current_snapshot() of the caller), in event_id
 * order; since NULL: from the first.  A consumer keeps upto as its cursor:
 * every event comes in exactly one call, those of one order in their
 * order, whatever order transactions took their event ids and committed
 * in -- which reading by event_id > last would lose events to.
 */
CREATE FUNCTION o2o_events(since pg_snapshot, upto pg_snapshot DEFAULT pg_catalog.pg_current_snapshot())
	RETURNS TABLE (event_id bigint, order_id bigint, seq int, event text, status text, detail jsonb,
				   at timestamptz, region_id int)
	LANGUAGE sql STABLE PARALLEL RESTRICTED
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT e.event_id, e.order_id, e.seq, e.event, e.status, e.detail, e.at, e.region_id
	  FROM o2o.order_event e
	 WHERE e.xid >= coalesce(pg_snapshot_xmin(since), '0'::xid8)
	   AND (since IS NULL OR NOT pg_visible_in_snapshot(e.xid, since))
	   AND pg_visible_in_snapshot(e.xid, upto)
	 ORDER BY e.event_id
$$;
COMMENT ON FUNCTION o2o_events(pg_snapshot, pg_snapshot) IS
	'the events committed after snapshot since and by snapshot upto (default: now), in order; a consumer passes its last upto as since: each event exactly once';

------------------------------------------------------------------------
-- jeopardy: a slot that no longer exists
------------------------------------------------------------------------
/*
 * Run a locking statement (FOR ... NOWAIT) again every 10 ms while its rows
 * are locked by others, for up to 2 s, then give up with 55P03 and message
 * busy.  The jeopardy trigger holds the lock of an installer or dealer row
 * that a booking may be waiting for, while that booking holds its order and
 * stock rows: waiting for them could deadlock, so it never waits.
 */
CREATE FUNCTION o2o._lock_nowait(statement text, busy text) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	FOR attempt IN 1 .. 200 LOOP
		BEGIN
			EXECUTE statement;
			RETURN;
		EXCEPTION WHEN lock_not_available THEN
			PERFORM pg_sleep(0.01);
		END;
	END LOOP;
	RAISE EXCEPTION '%', busy USING ERRCODE = '55P03', HINT = 'Try again: nothing was changed.';
END
$$;
COMMENT ON FUNCTION o2o._lock_nowait(text, text) IS
	'internal: run a FOR ... NOWAIT statement, again every 10 ms for up to 2 s while its rows are locked, then 55P03';

/*
 * The jobs on a slot that no longer exists after a change of the dealer
 * (p_dealer: closed) or installer (p_installer: deactivated, moved to
 * another dealer, skill removed, capacity cut): every one of a closed
 * dealer, or of an inactive installer or one that left the job's dealer;
 * for a cut, those beyond each window's new share, the dispatched kept
 * and the newest moved first.  Holds count before assignments in a window
 * and go first.
 */
CREATE FUNCTION o2o._dead_jobs(p_dealer int, p_installer int, OUT kind text, OUT id bigint, OUT order_id bigint)
	RETURNS SETOF record
	LANGUAGE sql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH i AS (SELECT * FROM o2o.installer i WHERE i.installer_id = p_installer),
	jobs AS (
		SELECT 'assignment'::text AS kind, a.assignment_id AS id, a.order_id, a.dealer_id, a.installer_id,
			   a.install_day, a.install_window, p.category, a.progress <> 'scheduled' AS started, a.created_at
		  FROM o2o.assignment a JOIN o2o.orders o ON o.order_id = a.order_id JOIN o2o.product p ON p.sku = o.sku
		 WHERE a.state = 'active' AND (a.dealer_id = p_dealer OR a.installer_id = p_installer)
		UNION ALL
		SELECT 'hold', h.hold_id, NULL, h.dealer_id, h.installer_id, h.install_day, h.install_window, p.category,
			   false, h.created_at
		  FROM o2o.hold h JOIN o2o.product p ON p.sku = h.sku
		 WHERE h.state = 'held' AND (h.dealer_id = p_dealer OR h.installer_id = p_installer)),
	ranked AS (
		SELECT j.*, row_number() OVER (PARTITION BY j.install_day, j.install_window
									   ORDER BY j.started DESC, j.kind = 'assignment' DESC, j.created_at, j.id) AS r
		  FROM jobs j)
	SELECT r.kind, r.id, r.order_id
	  FROM ranked r LEFT JOIN i ON true
	 WHERE p_dealer IS NOT NULL
		OR NOT i.active
		OR r.dealer_id <> i.dealer_id
		OR NOT r.category = ANY (i.skills)
		OR r.install_window <> 'day' AND r.r > o2o._window_capacity(i.daily_capacity, r.install_window)
	 ORDER BY r.kind = 'hold' DESC, r.order_id, r.id
$$;
COMMENT ON FUNCTION o2o._dead_jobs(int, int) IS
	'internal: the holds and active assignments left on a slot that no longer exists after a dealer or installer change';

/* the assignment on the same day and window with another installer of its dealer, if one has room */
CREATE FUNCTION o2o._move_job(a o2o.assignment, why text) RETURNS boolean
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	slot record;
BEGIN
	IF a.installer_id IS NULL OR NOT EXISTS (SELECT 1 FROM o2o.dealer d WHERE d.dealer_id = a.dealer_id AND d.active) THEN
		RETURN false;
	END IF;
	/*
	 * An installer another transaction is changing is skipped, not waited
	 * for: that change may be waiting for this one's installer, to move
	 * its own jobs here.
	 */
	slot := o2o._book_slot(ARRAY(SELECT i.installer_id FROM o2o.installer i JOIN o2o.orders o ON o.order_id = a.order_id
								   JOIN o2o.product p ON p.sku = o.sku
								  WHERE i.dealer_id = a.dealer_id AND i.active AND p.category = ANY (i.skills)
									AND i.installer_id <> a.installer_id
								  ORDER BY i.installer_id
									FOR SHARE OF i SKIP LOCKED),
						   a.install_day, ARRAY[a.install_window]);
	IF slot.installer_id IS NULL THEN
		RETURN false;
	END IF;
	PERFORM o2o._unbook_slot(a.installer_id, a.install_day, a.install_window);
	UPDATE o2o.assignment x SET installer_id = slot.installer_id WHERE x.assignment_id = a.assignment_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (a.order_id, 'moved', 'assigned',
			jsonb_build_object('reason', why, 'dealer_id', a.dealer_id, 'from_installer_id', a.installer_id,
							   'installer_id', slot.installer_id, 'day', a.install_day, 'time_window', a.install_window));
	RETURN true;
END
$$;
COMMENT ON FUNCTION o2o._move_job(o2o.assignment, text) IS
	'internal: move a job to another installer of its dealer on the same day and window (the promise unchanged), if one has room';

/*
 * o2o_assign that does not wait for a row lock (see _reroute): a re-route
 * runs inside an installer or dealer change, which holds that row and new
 * bookings; a routing call waiting on those while holding a stock row must
 * not meet the change waiting on it.  (1 ms is lock_timeout's least: a
 * cycle can exist for that long at most.  0.9.0 waited up to 200 ms, long
 * enough for the other side's deadlock check to see the cycle.)
 */
CREATE FUNCTION o2o._assign_bounded(p_order bigint) RETURNS int
	LANGUAGE sql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp SET lock_timeout = 1
	AS $$ SELECT @extschema@.o2o_assign(p_order) $$;
COMMENT ON FUNCTION o2o._assign_bounded(bigint) IS 'internal: o2o_assign that gives up on a row lock held by another transaction (lock_timeout 1 ms)';

/*
 * Give the assignment up and route the order again: back to pending with a
 * jeopardy event, then o2o_assign.  If routing would wait on a lock for
 * long, the order stays pending (o2o.orders_at_risk shows it) for the next
 * o2o_assign_pending.
 */
CREATE FUNCTION o2o._reroute(a o2o.assignment, why text) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders;
BEGIN
	SELECT * INTO o FROM o2o.orders x WHERE x.order_id = a.order_id;
	PERFORM o2o._release(a, 'released', why, false);
	UPDATE o2o.orders x
	   SET status = o2o._order_step(o.order_id, o.status, 'o2o_jeopardy'), status_reason = why,
		   promised_date = NULL, promised_window = NULL
	 WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'jeopardy', 'pending',
			jsonb_build_object('reason', why, 'dealer_id', a.dealer_id, 'installer_id', a.installer_id,
							   'day', a.install_day, 'time_window', a.install_window));
	BEGIN
		PERFORM o2o._assign_bounded(o.order_id);
	EXCEPTION WHEN lock_not_available THEN
		NULL;
	END;
END
$$;
COMMENT ON FUNCTION o2o._reroute(o2o.assignment, text) IS
	'internal: release an assignment whose slot is gone and route its order again (left pending if that would wait)';

/*
 * After a dealer closed or an installer was deactivated, lost a skill or
 * had its capacity cut: release the holds on slots that no longer exist,
 * move each such assignment to another installer of its dealer on the same
 * day and window, else re-route it.  READ COMMITTED only: the bookings
 * that committed while this change waited for their share locks must be
 * seen, which a REPEATABLE READ snapshot would not.  Returns how many
 * holds and assignments it dealt with.
 */
CREATE FUNCTION o2o._jeopardy(p_dealer int, p_installer int, why text) RETURNS int
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	j record;
	s record;
	h o2o.hold;
	a o2o.assignment;
	n int := 0;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM o2o._dead_jobs(p_dealer, p_installer)) THEN
		RETURN 0;
	END IF;
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION '%: jobs on it must move, which needs READ COMMITTED', why
			USING ERRCODE = '0A000',
				  HINT = 'Close dealers and deactivate or cut installers in a READ COMMITTED transaction.';
	END IF;
	-- the orders, lowest id first
	FOR s IN SELECT DISTINCT x.order_id FROM o2o._dead_jobs(p_dealer, p_installer) x
			  WHERE x.order_id IS NOT NULL ORDER BY 1 LOOP
		PERFORM o2o._lock_nowait(
			format('SELECT 1 FROM o2o.orders WHERE order_id = %s FOR NO KEY UPDATE NOWAIT', s.order_id),
			format('%s: order %s is being changed by another transaction', why, s.order_id));
	END LOOP;
	/*
	 * The stock rows that releasing those jobs gives units back to: a
	 * booking reserves its stock before it share-locks the installer, so it
	 * may hold one of them while it waits for this change.
	 */
	FOR s IN SELECT DISTINCT coalesce(xa.dealer_id, xh.dealer_id) AS dealer_id, coalesce(xo.sku, xh.sku) AS sku
			   FROM o2o._dead_jobs(p_dealer, p_installer) x
			   LEFT JOIN o2o.assignment xa ON x.kind = 'assignment' AND xa.assignment_id = x.id
			   LEFT JOIN o2o.orders xo ON xo.order_id = xa.order_id
			   LEFT JOIN o2o.hold xh ON x.kind = 'hold' AND xh.hold_id = x.id
			  ORDER BY 1, 2 LOOP
		PERFORM o2o._lock_nowait(
			format('SELECT 1 FROM o2o.stock WHERE dealer_id = %s AND sku = %L FOR NO KEY UPDATE NOWAIT', s.dealer_id, s.sku),
			format('%s: stock of sku %s at dealer %s is being changed by another transaction', why, s.sku, s.dealer_id));
	END LOOP;
	FOR j IN SELECT * FROM o2o._dead_jobs(p_dealer, p_installer) LOOP
		n := n + 1;
		IF j.kind = 'hold' THEN
			PERFORM o2o._lock_nowait(format('SELECT 1 FROM o2o.hold WHERE hold_id = %s FOR UPDATE NOWAIT', j.id),
									 format('%s: hold %s is being taken by another transaction', why, j.id));
			SELECT * INTO h FROM o2o.hold x WHERE x.hold_id = j.id AND x.state = 'held';
			IF h.hold_id IS NOT NULL THEN
				PERFORM o2o._hold_end(h, 'released', why, true);
			END IF;
		ELSE
			SELECT * INTO a FROM o2o.assignment x WHERE x.assignment_id = j.id AND x.state = 'active';
			CONTINUE WHEN NOT FOUND;
			IF NOT o2o._move_job(a, why) THEN
				PERFORM o2o._reroute(a, why);
			END IF;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION o2o._jeopardy(int, int, text) IS
	'internal: after a dealer or installer change, release the holds and move or re-route the assignments on slots that no longer exist';

CREATE FUNCTION o2o._installer_changed() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	PERFORM o2o._jeopardy(NULL, NEW.installer_id,
		CASE WHEN NOT NEW.active THEN format('installer %s deactivated', NEW.installer_id)
			 WHEN NEW.dealer_id <> OLD.dealer_id
			 THEN format('installer %s moved from dealer %s to %s', NEW.installer_id, OLD.dealer_id, NEW.dealer_id)
			 WHEN NEW.daily_capacity < OLD.daily_capacity
			 THEN format('installer %s cut from %s to %s jobs a day', NEW.installer_id, OLD.daily_capacity, NEW.daily_capacity)
			 ELSE format('installer %s lost a skill', NEW.installer_id) END);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION o2o._installer_changed() IS
	'internal trigger: an installer deactivated, cut, moved to another dealer or stripped of a skill: its jobs beyond what it can take move or are re-routed';

CREATE TRIGGER installer_jeopardy AFTER UPDATE ON o2o.installer
	FOR EACH ROW WHEN (OLD.active AND NOT NEW.active OR NEW.daily_capacity < OLD.daily_capacity
					   OR NEW.dealer_id <> OLD.dealer_id OR NOT NEW.skills OPERATOR(pg_catalog.@>) OLD.skills)
	EXECUTE FUNCTION o2o._installer_changed();

CREATE FUNCTION o2o._dealer_closed() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	PERFORM o2o._jeopardy(NEW.dealer_id, NULL, format('dealer %s closed', NEW.dealer_id));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION o2o._dealer_closed() IS 'internal trigger: a dealer closed: its holds are released and its orders re-routed';

CREATE TRIGGER dealer_jeopardy AFTER UPDATE ON o2o.dealer
	FOR EACH ROW WHEN (OLD.active AND NOT NEW.active)
	EXECUTE FUNCTION o2o._dealer_closed();

------------------------------------------------------------------------
-- the invariants (0.8.0's, with windows and live slots)
------------------------------------------------------------------------
/*
 * What must always hold between stock, bookings, assignments, holds and the
 * ledger; a row for each violation (none in a healthy database).  For DBAs
 * and monitoring: it reads every row of those tables, in aggregates joined
 * by hash (a few seconds for the demo world's 200,000 orders).
 */
CREATE VIEW o2o.invariant_violations AS
SELECT 'reserved differs from active assignments and holds'::text AS invariant,
	   pg_catalog.format('dealer %s, sku %s', s.dealer_id, s.sku) AS subject,
	   s.reserved::bigint AS actual, coalesce(a.qty, 0) + coalesce(h.qty, 0) AS expected
  FROM o2o.stock s
  LEFT JOIN (SELECT x.dealer_id, o.sku, pg_catalog.sum(x.qty) AS qty FROM o2o.assignment x JOIN o2o.orders o USING (order_id)
			  WHERE x.state = 'active' GROUP BY 1, 2) a USING (dealer_id, sku)
  LEFT JOIN (SELECT x.dealer_id, x.sku, pg_catalog.sum(x.qty) AS qty FROM o2o.hold x WHERE x.state = 'held' GROUP BY 1, 2) h
	   USING (dealer_id, sku)
 WHERE s.reserved <> coalesce(a.qty, 0) + coalesce(h.qty, 0)
UNION ALL
SELECT 'reserved outside 0 .. on_hand', pg_catalog.format('dealer %s, sku %s', s.dealer_id, s.sku), s.reserved, s.on_hand
  FROM o2o.stock s WHERE s.reserved < 0 OR s.reserved > s.on_hand
UNION ALL
SELECT 'stock differs from its ledger', pg_catalog.format('dealer %s, sku %s', s.dealer_id, s.sku),
	   s.on_hand::bigint * 1000000 + s.reserved, coalesce(l.on_hand, 0) * 1000000 + coalesce(l.reserved, 0)
  FROM o2o.stock s
  LEFT JOIN (SELECT dealer_id, sku, pg_catalog.sum(d_on_hand) AS on_hand, pg_catalog.sum(d_reserved) AS reserved
			   FROM o2o.stock_ledger GROUP BY 1, 2) l USING (dealer_id, sku)
 WHERE s.on_hand <> coalesce(l.on_hand, 0) OR s.reserved <> coalesce(l.reserved, 0)
UNION ALL
SELECT 'booked differs from active assignments and holds',
	   pg_catalog.format('installer %s, %s', b.installer_id, b.day), b.booked::bigint,
	   coalesce(a.n, 0) + coalesce(h.n, 0)
  FROM o2o.installer_day b
  LEFT JOIN (SELECT x.installer_id, x.install_day, pg_catalog.count(*) AS n FROM o2o.assignment x
			  WHERE x.state = 'active' AND x.installer_id IS NOT NULL GROUP BY 1, 2) a
	   ON a.installer_id = b.installer_id AND a.install_day = b.day
  LEFT JOIN (SELECT x.installer_id, x.install_day, pg_catalog.count(*) AS n FROM o2o.hold x
			  WHERE x.state = 'held' AND x.installer_id IS NOT NULL GROUP BY 1, 2) h
	   ON h.installer_id = b.installer_id AND h.install_day = b.day
 WHERE b.booked <> coalesce(a.n, 0) + coalesce(h.n, 0)
UNION ALL
SELECT 'booked beyond capacity', pg_catalog.format('installer %s, %s', b.installer_id, b.day), b.booked, i.daily_capacity
  FROM o2o.installer_day b JOIN o2o.installer i USING (installer_id)
 WHERE b.booked > i.daily_capacity
UNION ALL
SELECT 'more than one active assignment', pg_catalog.format('order %s', order_id), pg_catalog.count(*), 1
  FROM o2o.assignment WHERE state = 'active' GROUP BY order_id HAVING pg_catalog.count(*) > 1
UNION ALL
SELECT 'assigned without an active assignment, or the reverse', pg_catalog.format('order %s', o.order_id),
	   (o.status = 'assigned')::int, 1 - (o.status = 'assigned')::int
  FROM o2o.orders o
  LEFT JOIN (SELECT DISTINCT x.order_id FROM o2o.assignment x WHERE x.state = 'active') a USING (order_id)
 WHERE (o.status = 'assigned') <> (a.order_id IS NOT NULL)
UNION ALL
SELECT 'booked differs from its windows', pg_catalog.format('installer %s, %s', b.installer_id, b.day),
	   b.booked::bigint, (b.morning + b.afternoon + b.evening)::bigint
  FROM o2o.installer_day b WHERE b.booked <> b.morning + b.afternoon + b.evening
UNION ALL
SELECT 'window booked differs from its jobs',
	   pg_catalog.format('installer %s, %s %s', b.installer_id, b.day, w.time_window), w.booked::bigint, coalesce(j.n, 0)
  FROM o2o.installer_day b
 CROSS JOIN LATERAL (VALUES ('morning', b.morning), ('afternoon', b.afternoon), ('evening', b.evening)) w (time_window, booked)
  LEFT JOIN (SELECT x.installer_id, x.install_day, x.install_window, pg_catalog.count(*) AS n
			   FROM (SELECT y.installer_id, y.install_day, y.install_window FROM o2o.assignment y
					  WHERE y.state = 'active' AND y.installer_id IS NOT NULL
					 UNION ALL
					 SELECT y.installer_id, y.install_day, y.install_window FROM o2o.hold y
					  WHERE y.state = 'held' AND y.installer_id IS NOT NULL) x
			  GROUP BY 1, 2, 3) j
	   ON j.installer_id = b.installer_id AND j.install_day = b.day AND j.install_window = w.time_window
 WHERE w.booked <> coalesce(j.n, 0)
UNION ALL
SELECT 'window booked beyond its share', pg_catalog.format('installer %s, %s %s', b.installer_id, b.day, w.time_window),
	   w.booked::bigint, w.share
  FROM o2o.installer_day b JOIN o2o.installer i USING (installer_id)
 -- each window's share as o2o._window_capacity computes it (O2oWindowCapacity,
 -- src/tracking.h), written out: a monitoring role reads this view without
 -- EXECUTE on the internal functions
 CROSS JOIN LATERAL (VALUES ('morning', b.morning, (i.daily_capacity::bigint + 2) / 3),
							('afternoon', b.afternoon, (i.daily_capacity::bigint + 1) / 3),
							('evening', b.evening, i.daily_capacity::bigint / 3)) w (time_window, booked, share)
 WHERE w.booked > w.share
UNION ALL
SELECT 'active assignment on an inactive installer', pg_catalog.format('order %s, installer %s', x.order_id, x.installer_id), 1, 0
  FROM o2o.assignment x JOIN o2o.installer i USING (installer_id) WHERE x.state = 'active' AND NOT i.active
UNION ALL
SELECT 'active assignment with another dealer''s installer', pg_catalog.format('order %s, installer %s', x.order_id, x.installer_id), 1, 0
  FROM o2o.assignment x JOIN o2o.installer i USING (installer_id) WHERE x.state = 'active' AND i.dealer_id <> x.dealer_id
UNION ALL
SELECT 'active assignment on an installer without the skill', pg_catalog.format('order %s, installer %s', x.order_id, x.installer_id), 1, 0
  FROM o2o.assignment x JOIN o2o.installer i USING (installer_id) JOIN o2o.orders o USING (order_id)
  JOIN o2o.product p USING (sku)
 WHERE x.state = 'active' AND NOT p.category OPERATOR(pg_catalog.=) ANY (i.skills)
UNION ALL
SELECT 'active assignment at a closed dealer', pg_catalog.format('order %s, dealer %s', x.order_id, x.dealer_id), 1, 0
  FROM o2o.assignment x JOIN o2o.dealer d USING (dealer_id) WHERE x.state = 'active' AND NOT d.active
UNION ALL
SELECT 'held hold on a removed slot', pg_catalog.format('hold %s', h.hold_id), 1, 0
  FROM o2o.hold h JOIN o2o.dealer d USING (dealer_id) LEFT JOIN o2o.installer i ON i.installer_id = h.installer_id
 WHERE h.state = 'held' AND (NOT d.active OR NOT i.active)
UNION ALL
SELECT 'assigned without a promised window', pg_catalog.format('order %s', o.order_id), 0, 1
  FROM o2o.orders o WHERE o.status = 'assigned' AND o.promised_window IS NULL;
COMMENT ON VIEW o2o.invariant_violations IS
	'one row per broken invariant of stock, bookings and their windows, assignments on live slots, holds and the ledger; empty in a healthy database (reads every row: for checks, not dashboards)';

------------------------------------------------------------------------
-- views: at risk, and how deliveries went
------------------------------------------------------------------------
/*
 * Orders whose promise can no longer be met as made: the window passed
 * before arrival, the ETA is past the window, an attempt failed and waits
 * for a new day, the promise moved later than first made, or a promised
 * order lost its slot and waits to be routed again.
 */
CREATE VIEW o2o.orders_at_risk AS
SELECT o.order_id, o.status, a.progress, a.dealer_id, a.installer_id,
	   o.first_promised_date, o.first_promised_window, o.promised_date, o.promised_window,
	   (o.promised_date + w.ends)::timestamptz AS window_ends, a.eta_to,
	   CASE WHEN o.status <> 'assigned' THEN 'waiting for a new slot'
			WHEN a.progress = 'failed' THEN 'failed attempt'
			WHEN a.progress IN ('scheduled', 'dispatched', 'en_route')
				 AND (o.promised_date + w.ends)::timestamptz < now() THEN 'window passed'
			WHEN a.progress = 'en_route' AND a.eta_to > (o.promised_date + w.ends)::timestamptz THEN 'eta after window'
			ELSE 'promise moved later' END AS risk,
	   o.status_reason
  FROM o2o.orders o
  LEFT JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state = 'active'
  LEFT JOIN @extschema@.o2o_time_windows() w ON w.time_window = o.promised_window
 WHERE o.first_promised_date IS NOT NULL
   AND (o.status IN ('pending', 'unassignable')
		OR o.status = 'assigned'
		   AND (a.progress = 'failed'
				OR a.progress IN ('scheduled', 'dispatched', 'en_route') AND (o.promised_date + w.ends)::timestamptz < now()
				OR a.progress = 'en_route' AND a.eta_to > (o.promised_date + w.ends)::timestamptz
				OR o.promised_date > o.first_promised_date));
COMMENT ON VIEW o2o.orders_at_risk IS
	'orders whose promised day or window can no longer be met as first promised, and why (risk)';

/* one row per completed order: its first promise, when it was done, how long it took */
CREATE VIEW o2o.delivery_outcomes AS
SELECT o.order_id, a.dealer_id, a.installer_id, o.grid_id, g.province, g.city, o.created_at,
	   o.first_promised_date, o.first_promised_window,
	   (o.first_promised_date + w.ends)::timestamptz AS promised_by,
	   coalesce(a.done_at, a.ended_at) AS done_at,
	   coalesce(a.done_at, a.ended_at)::date - o.created_at::date AS days_to_install,
	   coalesce(a.done_at, a.ended_at) <= (o.first_promised_date + w.ends)::timestamptz AS promise_kept,
	   (SELECT pg_catalog.count(*) FROM o2o.order_event e WHERE e.order_id = o.order_id AND e.event = 'failed') AS failed_attempts
  FROM o2o.orders o
  JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state = 'completed'
  LEFT JOIN o2o.grid g ON g.grid_id = o.grid_id
  LEFT JOIN @extschema@.o2o_time_windows() w ON w.time_window = o.first_promised_window
 WHERE o.status = 'completed';
COMMENT ON VIEW o2o.delivery_outcomes IS
	'one row per completed order: first promise, when it was installed or delivered, days from order, whether the promise was kept';

CREATE VIEW o2o.promises_kept AS
SELECT d.province, pg_catalog.count(*) AS orders,
	   pg_catalog.count(*) FILTER (WHERE d.promise_kept) AS kept,
	   round(pg_catalog.count(*) FILTER (WHERE d.promise_kept)::numeric / pg_catalog.count(*)::numeric, 4) AS kept_share,
	   round(pg_catalog.count(*) FILTER (WHERE d.days_to_install <= 3)::numeric / pg_catalog.count(*)::numeric, 4) AS within_3_days_share
  FROM o2o.delivery_outcomes d
 GROUP BY GROUPING SETS ((d.province), ());
COMMENT ON VIEW o2o.promises_kept IS
	'completed orders per province (NULL: all): how many were done by the end of the window first promised, and the share within 3 days of the order';

CREATE VIEW o2o.days_to_install AS
SELECT d.days_to_install AS days, pg_catalog.count(*) AS orders,
	   round(pg_catalog.count(*)::numeric / pg_catalog.sum(pg_catalog.count(*)) OVER (), 4) AS share,
	   round(pg_catalog.sum(pg_catalog.count(*)) OVER (ORDER BY d.days_to_install)
			 / pg_catalog.sum(pg_catalog.count(*)) OVER (), 4) AS cumulative_share
  FROM o2o.delivery_outcomes d
 GROUP BY d.days_to_install;
COMMENT ON VIEW o2o.days_to_install IS
	'the distribution of days from order to installation or delivery (cumulative_share at 3: the share within 3 days)';

/* every arrival, with whether it was after its window */
CREATE VIEW o2o.arrivals AS
SELECT e.event_id, e.order_id, (e.detail->>'dealer_id')::int AS dealer_id, o.grid_id, e.at,
	   (e.detail->>'late')::boolean AS late, (e.detail->>'minutes_late')::int AS minutes_late
  FROM o2o.order_event e JOIN o2o.orders o ON o.order_id = e.order_id
 WHERE e.event = 'arrived';
COMMENT ON VIEW o2o.arrivals IS 'every arrival at a buyer''s door: dealer, grid, whether after the window and by how many minutes';

CREATE VIEW o2o.late_arrivals_by_dealer AS
SELECT r.dealer_id, pg_catalog.count(*) AS arrivals, pg_catalog.count(*) FILTER (WHERE r.late) AS late,
	   round(pg_catalog.count(*) FILTER (WHERE r.late)::numeric / pg_catalog.count(*)::numeric, 4) AS late_share,
	   pg_catalog.max(r.minutes_late) AS worst_minutes_late
  FROM o2o.arrivals r GROUP BY r.dealer_id;
COMMENT ON VIEW o2o.late_arrivals_by_dealer IS 'arrivals per dealer and how many came after their window';

CREATE VIEW o2o.late_arrivals_by_grid AS
SELECT r.grid_id, g.province, g.city, pg_catalog.count(*) AS arrivals, pg_catalog.count(*) FILTER (WHERE r.late) AS late,
	   round(pg_catalog.count(*) FILTER (WHERE r.late)::numeric / pg_catalog.count(*)::numeric, 4) AS late_share,
	   pg_catalog.max(r.minutes_late) AS worst_minutes_late
  FROM o2o.arrivals r LEFT JOIN o2o.grid g ON g.grid_id = r.grid_id
 GROUP BY r.grid_id, g.province, g.city;
COMMENT ON VIEW o2o.late_arrivals_by_grid IS 'arrivals per grid and how many came after their window';

CREATE VIEW o2o.failed_attempts AS
SELECT e.detail->>'reason' AS reason, pg_catalog.count(*) AS attempts,
	   pg_catalog.count(DISTINCT e.order_id) AS orders, pg_catalog.max(e.at) AS last_at
  FROM o2o.order_event e
 WHERE e.event = 'failed'
 GROUP BY e.detail->>'reason';
COMMENT ON VIEW o2o.failed_attempts IS 'failed delivery attempts by reason';
