/* Give back what an assignment holds: the reservation (or consume it) and the slot. */
CREATE FUNCTION o2o._release(a o2o.assignment, new_state text, why text, consume boolean)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	PERFORM o2o._ledger_note(CASE WHEN consume THEN 'consume' ELSE 'release' END, why, NULL, a.order_id);
	UPDATE o2o.stock s
	   SET reserved = s.reserved - a.qty,
		   on_hand = s.on_hand - CASE WHEN consume THEN a.qty ELSE 0 END,
		   last_consumed_at = CASE WHEN consume THEN pg_catalog.clock_timestamp() ELSE s.last_consumed_at END,
		   updated_at = now()
	  FROM o2o.orders o
	 WHERE o.order_id = a.order_id AND s.dealer_id = a.dealer_id AND s.sku = o.sku;
	PERFORM o2o._ledger_note(NULL, NULL, NULL, NULL);
	IF a.installer_id IS NOT NULL THEN
		PERFORM o2o._unbook_slot(a.installer_id, a.install_day, a.install_window);
	END IF;
	UPDATE o2o.assignment SET state = new_state, ended_at = now(), reason = why
	 WHERE assignment_id = a.assignment_id;
END
$$;
COMMENT ON FUNCTION o2o._release(o2o.assignment, text, text, boolean) IS
	'internal: release (or consume) an assignment''s stock and free its installer slot';

/*
 * The order's life cycle lives in one place, src/orderstate.c: the status
 * after a step, or O2006 when the step is not allowed in the status.
 */
CREATE FUNCTION o2o._order_step(order_id bigint, status text, step text) RETURNS text
	AS 'MODULE_PATHNAME', 'o2o_order_step'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o._order_step(bigint, text, text) IS
	'internal: the status of an order after a life-cycle step (o2o_assign, o2o_decline, o2o_cancel, o2o_complete); O2006 when the step is not allowed';

/* Lock an order for a life-cycle step; unknown orders are an error. */
CREATE FUNCTION o2o._lock_order(p_order_id bigint, step text) RETURNS o2o.orders
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders;
BEGIN
	IF p_order_id IS NULL THEN
		RAISE EXCEPTION '%: order_id must not be NULL', step USING ERRCODE = '22004';
	END IF;
	SELECT * INTO o FROM o2o.orders WHERE order_id = p_order_id FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown order'
			USING ERRCODE = 'O2005', DETAIL = format('No row of o2o.orders has order_id %s.', p_order_id);
	END IF;
	RETURN o;
END
$$;
COMMENT ON FUNCTION o2o._lock_order(bigint, text) IS 'internal: lock an order row for a life-cycle step';

/* The active assignment of an assigned order; that it has one is an invariant. */
CREATE FUNCTION o2o._active_assignment(o o2o.orders) RETURNS o2o.assignment
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	a o2o.assignment;
BEGIN
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = o.order_id AND x.state = 'active';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'order % is % but has no active assignment', o.order_id, o.status
			USING ERRCODE = 'XX000';
	END IF;
	RETURN a;
END
$$;
COMMENT ON FUNCTION o2o._active_assignment(o2o.orders) IS
	'internal: the active assignment of an assigned order (an internal error if the invariant is broken)';

CREATE FUNCTION o2o_decline(order_id bigint, reason text) RETURNS int
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_decline.order_id, 'o2o_decline');
	next_status text := o2o._order_step(o.order_id, o.status, 'o2o_decline');
	a o2o.assignment := o2o._active_assignment(o);
BEGIN
	IF a.progress NOT IN ('scheduled', 'failed') THEN
		RAISE EXCEPTION 'order % is %; a dealer declines before dispatch', o.order_id, a.progress
			USING ERRCODE = 'O2006', DETAIL = 'A dispatched delivery ends with o2o_complete, a failed attempt or o2o_cancel.';
	END IF;
	PERFORM o2o._release(a, 'declined', o2o_decline.reason, false);
	UPDATE o2o.orders x SET status = next_status, promised_date = NULL, promised_window = NULL
	 WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'declined', next_status,
			jsonb_build_object('dealer_id', a.dealer_id, 'reason', o2o_decline.reason));
	RETURN @extschema@.o2o_assign(o.order_id);
END
$$;
COMMENT ON FUNCTION o2o_decline(bigint, text) IS
	'the dealer refuses the order: release its stock and slot, never offer it this order again, assign the next best (returns it, or NULL)';

CREATE FUNCTION o2o_cancel(order_id bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_cancel.order_id, 'o2o_cancel');
	next_status text := o2o._order_step(o.order_id, o.status, 'o2o_cancel');
	a o2o.assignment;
BEGIN
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = o.order_id AND x.state = 'active';
	IF FOUND THEN
		PERFORM o2o._release(a, 'released', 'order cancelled', false);
	END IF;
	UPDATE o2o.orders x SET status = next_status, promised_date = NULL, promised_window = NULL
	 WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'cancelled', next_status, jsonb_build_object('dealer_id', a.dealer_id));
END
$$;
COMMENT ON FUNCTION o2o_cancel(bigint) IS 'cancel an order: release its stock reservation and installer slot';

CREATE FUNCTION o2o_complete(order_id bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_complete.order_id, 'o2o_complete');
	next_status text := o2o._order_step(o.order_id, o.status, 'o2o_complete');
	a o2o.assignment := o2o._active_assignment(o);
BEGIN
	IF a.progress = 'failed' THEN
		RAISE EXCEPTION 'order % failed its last attempt', o.order_id
			USING ERRCODE = 'O2006', HINT = 'Reschedule it first: o2o_progress(order_id, ''rescheduled'', day => ...).';
	END IF;
	UPDATE o2o.assignment x SET done_at = coalesce(x.done_at, now()) WHERE x.assignment_id = a.assignment_id;
	PERFORM o2o._release(a, 'completed', NULL, true);
	PERFORM o2o._settle(o, a);
	UPDATE o2o.orders x SET status = next_status WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'completed', next_status,
			jsonb_build_object('dealer_id', a.dealer_id, 'installer_id', a.installer_id));
END
$$;
COMMENT ON FUNCTION o2o_complete(bigint) IS
	'delivery and installation done: the reserved units leave stock (on_hand and reserved drop), the slot is freed, the settlement is written';
