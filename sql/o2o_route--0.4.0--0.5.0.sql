/* o2o_route 0.4.0 -> 0.5.0: one cache-invalidation trigger, the order's life cycle in one place, derived columns in C */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION o2o_route UPDATE TO '0.5.0'" to load this file. \quit

-- o2o.grid uses the trigger every other cached table uses; its own copy goes
DROP TRIGGER grid_changed ON o2o.grid;
-- any change to o2o.grid makes every backend rebuild its grid index
CREATE TRIGGER grid_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.grid
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._table_changed();
DROP FUNCTION o2o._grid_changed();

-- the life-cycle functions ask src/orderstate.c whether a step is allowed
CREATE FUNCTION o2o._order_step(order_id bigint, status text, step text) RETURNS text
	AS 'MODULE_PATHNAME', 'o2o_order_step'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o._order_step(bigint, text, text) IS
	'internal: the status of an order after a life-cycle step (o2o_assign, o2o_decline, o2o_cancel, o2o_complete); O2006 when the step is not allowed';

/* The active assignment of an assigned order; that it has one is an invariant. */
CREATE FUNCTION o2o._active_assignment(o o2o.orders) RETURNS o2o.assignment
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
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

CREATE OR REPLACE FUNCTION o2o_decline(order_id bigint, reason text) RETURNS int
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path FROM CURRENT
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_decline.order_id, 'o2o_decline');
	next_status text := o2o._order_step(o.order_id, o.status, 'o2o_decline');
	a o2o.assignment := o2o._active_assignment(o);
BEGIN
	PERFORM o2o._release(a, 'declined', o2o_decline.reason, false);
	UPDATE o2o.orders x SET status = next_status, promised_date = NULL WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'declined', next_status,
			jsonb_build_object('dealer_id', a.dealer_id, 'reason', o2o_decline.reason));
	RETURN o2o_assign(o.order_id);
END
$$;

CREATE OR REPLACE FUNCTION o2o_cancel(order_id bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path FROM CURRENT
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
	UPDATE o2o.orders x SET status = next_status, promised_date = NULL WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'cancelled', next_status, jsonb_build_object('dealer_id', a.dealer_id));
END
$$;

CREATE OR REPLACE FUNCTION o2o_complete(order_id bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path FROM CURRENT
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_complete.order_id, 'o2o_complete');
	next_status text := o2o._order_step(o.order_id, o.status, 'o2o_complete');
	a o2o.assignment := o2o._active_assignment(o);
BEGIN
	PERFORM o2o._release(a, 'completed', NULL, true);
	PERFORM o2o._settle(o, a);
	UPDATE o2o.orders x SET status = next_status WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'completed', next_status,
			jsonb_build_object('dealer_id', a.dealer_id, 'installer_id', a.installer_id));
END
$$;

-- every derived column in C (src/triggers.c); a dealer's stock and
-- installers follow its grid and region whatever the UPDATE set
CREATE OR REPLACE FUNCTION o2o._dealer_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_dealer_derive'
	LANGUAGE C;
CREATE OR REPLACE FUNCTION o2o._order_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_order_derive'
	LANGUAGE C;
CREATE OR REPLACE FUNCTION o2o._dealer_region_moved() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_dealer_moved'
	LANGUAGE C;
DROP TRIGGER dealer_region_moved ON o2o.dealer;
-- no column list: a move sets only location, and the grid and region follow
CREATE TRIGGER dealer_region_moved
	AFTER UPDATE ON o2o.dealer
	FOR EACH ROW WHEN (OLD.region_id IS DISTINCT FROM NEW.region_id OR OLD.grid_id IS DISTINCT FROM NEW.grid_id)
	EXECUTE FUNCTION o2o._dealer_region_moved();
