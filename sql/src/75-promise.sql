------------------------------------------------------------------------
-- the delivery promise and the checkout hold (src/promise.c)
------------------------------------------------------------------------
/*
 * A checkout's hold: the units and the installer slot that the promise
 * found, reserved for a short time.  An order placed with its hold_id takes
 * them over (o2o_assign); an expired hold is released by o2o_expire_holds().
 * Lives in its dealer's region, as its reservation does.
 */
CREATE TABLE o2o.hold (
	hold_id		bigserial PRIMARY KEY,
	region_id	int NOT NULL,
	sku			text NOT NULL,
	qty			int NOT NULL,
	location	geometry(Point, 4326) NOT NULL,
	grid_id		int NOT NULL,
	dealer_id	int NOT NULL,
	installer_id int,
	install_day	date,
	promised_date date NOT NULL,
	same_grid	boolean NOT NULL,
	distance_m	float8 NOT NULL,
	score		float8 NOT NULL,
	detail		jsonb NOT NULL,
	state		text NOT NULL DEFAULT 'held',
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	expires_at	timestamptz NOT NULL,
	ended_at	timestamptz,
	end_reason	text,
	order_id	bigint,
	CONSTRAINT hold_qty_check CHECK (qty OPERATOR(pg_catalog.>) 0),
	CONSTRAINT hold_state_check CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['held', 'taken', 'released', 'expired']::text[]))
);
CREATE INDEX hold_expiry_idx ON o2o.hold (expires_at) WHERE state = 'held';
CREATE INDEX hold_stock_idx ON o2o.hold (dealer_id, sku) WHERE state = 'held';
COMMENT ON TABLE o2o.hold IS
	'checkout holds: units and an installer slot reserved for a short time (o2o_hold); an order placed with hold_id takes them (o2o_assign); state held, taken, released or expired';

/* an order placed at the end of a checkout names its hold */
ALTER TABLE o2o.orders ADD COLUMN hold_id bigint;
COMMENT ON TABLE o2o.orders IS
	'online orders; grid_id and region_id are derived from the delivery location (NULL outside every grid); hold_id: the checkout hold o2o_assign takes';

/*
 * End a hold that is still held: give its units and its slot back, with
 * the ledger's release entry.  Without wait, the stock row and the booking
 * are locked only if nobody holds them (NOWAIT, in a subtransaction that
 * gives back what it took) and false is returned otherwise -- also when,
 * under REPEATABLE READ, they changed after the snapshot: the sweep of
 * expired holds never waits, so it deadlocks with nobody.  A stock row or
 * booking that is gone has nothing to give back.  The caller holds the
 * hold's row lock.
 */
CREATE FUNCTION o2o._hold_end(h o2o.hold, new_state text, why text, wait boolean) RETURNS boolean
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF NOT wait THEN
		BEGIN
			PERFORM 1 FROM o2o.stock s WHERE s.dealer_id = h.dealer_id AND s.sku = h.sku
			   FOR NO KEY UPDATE NOWAIT;
			IF h.installer_id IS NOT NULL THEN
				PERFORM 1 FROM o2o.installer_day b WHERE b.installer_id = h.installer_id AND b.day = h.install_day
				   FOR NO KEY UPDATE NOWAIT;
			END IF;
			PERFORM o2o._hold_give_back(h, new_state, why);
		EXCEPTION WHEN lock_not_available OR serialization_failure THEN
			RETURN false;
		END;
		RETURN true;
	END IF;
	PERFORM o2o._hold_give_back(h, new_state, why);
	RETURN true;
END
$$;
COMMENT ON FUNCTION o2o._hold_end(o2o.hold, text, text, boolean) IS
	'internal: give back a held hold''s units and slot (release entry in the ledger); without wait only if their rows are free now';

/* the writes of ending a hold; its rows locked or waited for by the caller */
CREATE FUNCTION o2o._hold_give_back(h o2o.hold, new_state text, why text) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	PERFORM o2o._ledger_note('release', why, NULL, NULL, h.hold_id);
	UPDATE o2o.stock s SET reserved = s.reserved - h.qty, updated_at = now()
	 WHERE s.dealer_id = h.dealer_id AND s.sku = h.sku;
	PERFORM o2o._ledger_note(NULL, NULL, NULL, NULL);
	IF h.installer_id IS NOT NULL THEN
		PERFORM o2o._unbook_slot(h.installer_id, h.install_day, h.install_window);
	END IF;
	UPDATE o2o.hold x SET state = new_state, ended_at = clock_timestamp(), end_reason = why
	 WHERE x.hold_id = h.hold_id;
END
$$;
COMMENT ON FUNCTION o2o._hold_give_back(o2o.hold, text, text) IS
	'internal: the writes that end a hold: its units and slot back, the ledger''s release entry, its state';

CREATE FUNCTION o2o._ledger_note(kind text, reason text, ref text, order_id bigint, hold_id bigint) RETURNS void
	AS 'MODULE_PATHNAME', 'o2o_ledger_note'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION o2o._ledger_note(text, text, text, bigint, bigint) IS
	'internal: what the caller''s next write of o2o.stock is, for the ledger, with the checkout hold it is for';

/*
 * An order placed with a hold, locked by o2o_assign.  A hold that is not
 * held any more -- expired and released, taken, released, or gone -- is
 * 'ended': the order is routed as any other.  A hold still held must be
 * for this order (same SKU, quantity and grid; else O2012, or 'mismatch'
 * without wait); if it expired, it is released here ('ended'); if not, its
 * reservation and booking become the order's assignment ('taken').
 * Without wait (o2o_assign_pending, which holds other orders' rows), a hold
 * or stock row another transaction holds makes the order 'busy' rather
 * than waited for.
 */
CREATE FUNCTION o2o._hold_take(p_hold bigint, p_order bigint, p_sku text, p_qty int, p_grid int, p_wait boolean)
	RETURNS TABLE (outcome text, dealer_id int, reason text)
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	h o2o.hold;
	why text;
BEGIN
	IF p_wait THEN
		SELECT * INTO h FROM o2o.hold x WHERE x.hold_id = p_hold FOR UPDATE;
	ELSE
		SELECT * INTO h FROM o2o.hold x WHERE x.hold_id = p_hold FOR UPDATE SKIP LOCKED;
		IF NOT FOUND AND EXISTS (SELECT 1 FROM o2o.hold x WHERE x.hold_id = p_hold) THEN
			RETURN QUERY SELECT 'busy', NULL::int, NULL::text;
			RETURN;
		END IF;
	END IF;
	IF h.hold_id IS NULL OR h.state <> 'held' THEN
		RETURN QUERY SELECT 'ended', NULL::int, NULL::text;
		RETURN;
	END IF;
	IF h.sku IS DISTINCT FROM p_sku OR h.qty IS DISTINCT FROM p_qty OR h.grid_id IS DISTINCT FROM p_grid THEN
		why := format('order does not match its hold: order %s is %s x %s to grid %s; hold %s is %s x %s to grid %s',
					  p_order, p_qty, p_sku, coalesce(p_grid::text, 'none'), p_hold, h.qty, h.sku, h.grid_id);
		IF NOT p_wait THEN
			RETURN QUERY SELECT 'mismatch', NULL::int, why;
			RETURN;
		END IF;
		RAISE EXCEPTION 'order does not match its hold'
			USING ERRCODE = 'O2012',
				  DETAIL = format('Order %s is %s x %s to grid %s; hold %s is %s x %s to grid %s.',
								  p_order, p_qty, p_sku, coalesce(p_grid::text, 'none'),
								  p_hold, h.qty, h.sku, h.grid_id);
	END IF;
	IF h.expires_at <= now() THEN
		IF NOT o2o._hold_end(h, 'expired', 'hold expired', p_wait) THEN
			RETURN QUERY SELECT 'busy', NULL::int, NULL::text;
			RETURN;
		END IF;
		RETURN QUERY SELECT 'ended', NULL::int, NULL::text;
		RETURN;
	END IF;
	IF NOT p_wait THEN
		BEGIN
			PERFORM 1 FROM o2o.stock s WHERE s.dealer_id = h.dealer_id AND s.sku = h.sku FOR NO KEY UPDATE NOWAIT;
		EXCEPTION WHEN lock_not_available THEN
			RETURN QUERY SELECT 'busy', NULL::int, NULL::text;
			RETURN;
		END;
	END IF;

	-- the hold's reservation becomes the order's, entry by entry
	why := format('hold %s taken by order %s', h.hold_id, p_order);
	PERFORM o2o._ledger_note('release', why, NULL, p_order, h.hold_id);
	UPDATE o2o.stock s SET reserved = s.reserved - h.qty WHERE s.dealer_id = h.dealer_id AND s.sku = h.sku;
	PERFORM o2o._ledger_note('reserve', why, NULL, p_order, h.hold_id);
	UPDATE o2o.stock s SET reserved = s.reserved + h.qty, updated_at = now()
	 WHERE s.dealer_id = h.dealer_id AND s.sku = h.sku;
	PERFORM o2o._ledger_note(NULL, NULL, NULL, NULL);
	UPDATE o2o.hold x SET state = 'taken', ended_at = clock_timestamp(), end_reason = why, order_id = p_order
	 WHERE x.hold_id = h.hold_id;

	-- the booking stays; the assignment, the order and its event
	INSERT INTO o2o.assignment (order_id, dealer_id, installer_id, grid_id, cross_grid, distance_m, score,
								detail, install_day, qty, region_id, install_window)
	VALUES (p_order, h.dealer_id, h.installer_id, h.grid_id, NOT h.same_grid, h.distance_m, h.score,
			h.detail || jsonb_build_object('hold_id', h.hold_id), h.install_day, h.qty, h.region_id,
			h.install_window);
	UPDATE o2o.orders o SET status = 'assigned', status_reason = NULL, grid_id = h.grid_id,
		   region_id = (SELECT g.region_id FROM o2o.grid g WHERE g.grid_id = h.grid_id),
		   promised_date = h.promised_date, promised_window = h.install_window,
		   first_promised_date = coalesce(o.first_promised_date, h.promised_date),
		   first_promised_window = coalesce(o.first_promised_window, h.install_window)
	 WHERE o.order_id = p_order;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (p_order, 'assigned', 'assigned',
			jsonb_build_object('dealer_id', h.dealer_id, 'installer_id', h.installer_id,
							   'cross_grid', NOT h.same_grid, 'hold_id', h.hold_id));
	RETURN QUERY SELECT 'taken', h.dealer_id, NULL::text;
END
$$;
COMMENT ON FUNCTION o2o._hold_take(bigint, bigint, text, int, int, boolean) IS
	'internal: o2o_assign of an order placed with a hold: take the hold''s reservation and slot if still held';

/*
 * Release up to max expired holds, each in a subtransaction that locks its
 * rows without waiting (see _hold_end); a hold another transaction holds,
 * or that changed after a REPEATABLE READ snapshot, is left for next time.
 */
CREATE FUNCTION o2o._expire_holds(max int) RETURNS int
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	id bigint;
	h o2o.hold;
	n int := 0;
BEGIN
	IF max < 0 THEN
		RAISE EXCEPTION 'o2o_expire_holds: max must be 0 or more'
			USING ERRCODE = '22023', DETAIL = format('max is %s.', max);
	END IF;
	FOR id IN SELECT x.hold_id FROM o2o.hold x WHERE x.state = 'held' AND x.expires_at <= now()
			   ORDER BY x.expires_at, x.hold_id LIMIT max
	LOOP
		BEGIN
			SELECT * INTO h FROM o2o.hold x WHERE x.hold_id = id AND x.state = 'held' AND x.expires_at <= now()
			   FOR UPDATE NOWAIT;
			IF FOUND AND o2o._hold_end(h, 'expired', 'hold expired', false) THEN
				n := n + 1;
			END IF;
		EXCEPTION WHEN lock_not_available OR serialization_failure THEN
			NULL;
		END;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION o2o._expire_holds(int) IS
	'internal: release up to max expired holds, skipping any whose rows another transaction holds';

CREATE FUNCTION o2o_promise(sku text, location geometry, qty int DEFAULT 1,
							OUT deliverable boolean, OUT promised_date date, OUT grid_id int,
							OUT same_grid boolean, OUT dealer_id int, OUT distance_m float8, OUT reason text,
							OUT promised_window text)
	AS 'MODULE_PATHNAME', 'o2o_promise'
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION o2o_promise(text, geometry, int) IS
	'would an order of qty units of sku to location placed now be served: by which dealer, from which grid, on what day and in what time window (what o2o_assign would do), or why not; reads only';

CREATE FUNCTION o2o_promise_skus(location geometry, skus text[], qtys int[] DEFAULT NULL)
	RETURNS TABLE (line int, sku text, qty int, deliverable boolean, promised_date date, grid_id int,
				   same_grid boolean, dealer_id int, distance_m float8, reason text, promised_window text)
	AS 'MODULE_PATHNAME', 'o2o_promise_skus'
	LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 20;
COMMENT ON FUNCTION o2o_promise_skus(geometry, text[], int[]) IS
	'o2o_promise for each line of a cart or listing to one address (qtys NULL: 1 each); reads only';

CREATE FUNCTION o2o_promise_places(sku text, locations geometry[], qty int DEFAULT 1)
	RETURNS TABLE (place int, deliverable boolean, promised_date date, grid_id int,
				   same_grid boolean, dealer_id int, distance_m float8, reason text, promised_window text)
	AS 'MODULE_PATHNAME', 'o2o_promise_places'
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 1000;
COMMENT ON FUNCTION o2o_promise_places(text, geometry[], int) IS
	'o2o_promise of one SKU for each delivery point (place = its position in the array), for BI; reads only';

CREATE FUNCTION o2o_hold(sku text, location geometry, qty int DEFAULT 1, ttl interval DEFAULT '15 minutes')
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'o2o_hold'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION o2o_hold(text, geometry, int, interval) IS
	'reserve the units and installer slot o2o_promise finds, for ttl (at most 1 day); the hold''s id, NULL when nothing can be held; an order placed with hold_id takes it';

CREATE FUNCTION o2o_release_hold(hold_id bigint) RETURNS boolean
	LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	h o2o.hold;
BEGIN
	SELECT * INTO h FROM o2o.hold x WHERE x.hold_id = o2o_release_hold.hold_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown hold'
			USING ERRCODE = 'O2012',
				  DETAIL = format('No row of o2o.hold has hold_id %s.', o2o_release_hold.hold_id);
	END IF;
	IF h.state <> 'held' THEN
		RETURN false;
	END IF;
	RETURN o2o._hold_end(h, 'released', 'hold released', true);
END
$$;
COMMENT ON FUNCTION o2o_release_hold(bigint) IS
	'give a hold''s units and slot back now (an abandoned checkout); false when it had already ended';

CREATE FUNCTION o2o_expire_holds(max int DEFAULT 1000) RETURNS int
	LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$ SELECT o2o._expire_holds(max) $$;
COMMENT ON FUNCTION o2o_expire_holds(int) IS
	'release up to max expired holds (also done on the way by o2o_hold and o2o_assign_pending); never waits for a row another transaction holds; returns how many';

