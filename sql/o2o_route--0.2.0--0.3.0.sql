/* o2o_route--0.2.0--0.3.0.sql: assignment engine, installer bookings, life cycle, pricing and settlement */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION o2o_route UPDATE TO '0.3.0'" to load this file. \quit

-- stock rows learn their dealer's grid: o2o_assign finds the dealers of a
-- grid that hold a SKU through one index
ALTER TABLE o2o.stock ADD COLUMN grid_id int;
UPDATE o2o.stock s SET grid_id = d.grid_id FROM o2o.dealer d WHERE d.dealer_id = s.dealer_id;
CREATE INDEX stock_sku_grid_idx ON o2o.stock (sku, grid_id);
DROP TRIGGER stock_region ON o2o.stock;
/* stock rows carry their dealer's region and grid (for the lookups of o2o_assign) */
CREATE FUNCTION o2o._stock_derive() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	SELECT d.region_id, d.grid_id INTO NEW.region_id, NEW.grid_id
	  FROM o2o.dealer d WHERE d.dealer_id = NEW.dealer_id;
	-- an unknown dealer_id keeps NULL here and is then reported by its foreign key
	IF NEW.region_id IS NULL THEN
		NEW.region_id := 0;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION o2o._stock_derive() IS 'internal trigger: region_id and grid_id of a stock row are its dealer''s';

CREATE TRIGGER stock_derive BEFORE INSERT OR UPDATE OF dealer_id ON o2o.stock
	FOR EACH ROW EXECUTE FUNCTION o2o._stock_derive();

DROP TRIGGER dealer_region_moved ON o2o.dealer;
DROP FUNCTION o2o._dealer_region_moved();
CREATE FUNCTION o2o._dealer_region_moved() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	UPDATE o2o.stock SET region_id = NEW.region_id, grid_id = NEW.grid_id WHERE dealer_id = NEW.dealer_id;
	UPDATE o2o.installer SET region_id = NEW.region_id WHERE dealer_id = NEW.dealer_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION o2o._dealer_region_moved() IS 'internal trigger: keep region_id (and grid_id) of stock and installers equal to their dealer''s';

CREATE TRIGGER dealer_region_moved
	AFTER UPDATE OF grid_id, region_id ON o2o.dealer
	FOR EACH ROW WHEN (OLD.region_id IS DISTINCT FROM NEW.region_id OR OLD.grid_id IS DISTINCT FROM NEW.grid_id)
	EXECUTE FUNCTION o2o._dealer_region_moved();

ALTER TABLE o2o.assignment
	ADD COLUMN install_day date,
	ADD COLUMN qty int NOT NULL DEFAULT 1,
	ADD CONSTRAINT assignment_qty_check CHECK (qty > 0);

------------------------------------------------------------------------
-- installer bookings: jobs per installer per day, never past capacity
------------------------------------------------------------------------
CREATE TABLE o2o.installer_day (
	installer_id int NOT NULL REFERENCES o2o.installer,
	day			date NOT NULL,
	booked		int NOT NULL DEFAULT 0,
	region_id	int,
	PRIMARY KEY (installer_id, day),
	CONSTRAINT installer_day_booked_check CHECK (booked >= 0)
);
COMMENT ON TABLE o2o.installer_day IS 'open jobs booked per installer and day; booked never exceeds the installer''s daily_capacity';

CREATE FUNCTION o2o._installer_day_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
DECLARE
	cap int;
BEGIN
	SELECT i.daily_capacity, d.region_id INTO cap, NEW.region_id
	  FROM o2o.installer i JOIN o2o.dealer d USING (dealer_id)
	 WHERE i.installer_id = NEW.installer_id;
	IF NEW.booked > cap THEN
		RAISE EXCEPTION 'installer booked past capacity'
			USING ERRCODE = 'O2004',
				  DETAIL = format('Installer %s can take %s jobs a day; %s were booked on %s.',
								  NEW.installer_id, cap, NEW.booked, NEW.day);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION o2o._installer_day_check() IS 'internal trigger: refuse bookings past an installer''s daily capacity; region from the dealer';

CREATE TRIGGER installer_day_check BEFORE INSERT OR UPDATE ON o2o.installer_day
	FOR EACH ROW EXECUTE FUNCTION o2o._installer_day_check();

------------------------------------------------------------------------
-- assignment and its life cycle
------------------------------------------------------------------------
CREATE FUNCTION o2o_assign(order_id bigint) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_assign'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION o2o_assign(bigint) IS
	'choose dealer and installer, reserve stock and a slot, record why; returns the dealer, or NULL (order unassignable, reason recorded); idempotent';

CREATE FUNCTION o2o_candidates(order_id bigint, k int DEFAULT 10)
	RETURNS TABLE (rank int, dealer_id int, grid_id int, same_grid boolean, distance_m float8,
				   available int, installer_id int, install_day date, load float8, score float8,
				   score_distance float8, score_stock float8, score_load float8,
				   cross_grid_penalty float8, eligible boolean, reason text)
	AS 'MODULE_PATHNAME', 'o2o_candidates'
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 20;
COMMENT ON FUNCTION o2o_candidates(bigint, int) IS
	'the k best eligible dealers for an order with the parts of their scores, then every dealer filtered out and why; reads only';

CREATE FUNCTION o2o_assign_pending(max int) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_assign_pending'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION o2o_assign_pending(int) IS
	'assign up to max pending orders, oldest first, skipping orders other sessions hold; returns how many were assigned';

/* Give back what an assignment holds: the reservation (or consume it) and the slot. */
CREATE FUNCTION o2o._release(a o2o.assignment, new_state text, why text, consume boolean)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	UPDATE o2o.stock s
	   SET reserved = s.reserved - a.qty,
		   on_hand = s.on_hand - CASE WHEN consume THEN a.qty ELSE 0 END,
		   updated_at = now()
	  FROM o2o.orders o
	 WHERE o.order_id = a.order_id AND s.dealer_id = a.dealer_id AND s.sku = o.sku;
	IF a.installer_id IS NOT NULL THEN
		UPDATE o2o.installer_day SET booked = booked - 1
		 WHERE installer_id = a.installer_id AND day = a.install_day;
	END IF;
	UPDATE o2o.assignment SET state = new_state, ended_at = now(), reason = why
	 WHERE assignment_id = a.assignment_id;
END
$$;
COMMENT ON FUNCTION o2o._release(o2o.assignment, text, text, boolean) IS
	'internal: release (or consume) an assignment''s stock and free its installer slot';

/* Lock an order for a life-cycle step; unknown orders are an error. */
CREATE FUNCTION o2o._lock_order(p_order_id bigint, step text) RETURNS o2o.orders
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
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

CREATE FUNCTION o2o_decline(order_id bigint, reason text) RETURNS int
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path FROM CURRENT
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_decline.order_id, 'o2o_decline');
	a o2o.assignment;
BEGIN
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = o.order_id AND x.state = 'active';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'order % has no active assignment to decline', o.order_id
			USING ERRCODE = 'O2006', DETAIL = format('The order is %s.', o.status);
	END IF;
	PERFORM o2o._release(a, 'declined', o2o_decline.reason, false);
	UPDATE o2o.orders x SET status = 'pending', promised_date = NULL WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'declined', 'pending',
			jsonb_build_object('dealer_id', a.dealer_id, 'reason', o2o_decline.reason));
	RETURN o2o_assign(o.order_id);
END
$$;
COMMENT ON FUNCTION o2o_decline(bigint, text) IS
	'the dealer refuses the order: release its stock and slot, never offer it this order again, assign the next best (returns it, or NULL)';

CREATE FUNCTION o2o_cancel(order_id bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path FROM CURRENT
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_cancel.order_id, 'o2o_cancel');
	a o2o.assignment;
BEGIN
	IF o.status IN ('cancelled', 'completed') THEN
		RAISE EXCEPTION 'order % is already %', o.order_id, o.status
			USING ERRCODE = 'O2006', DETAIL = 'Only a pending, unassignable or assigned order can be cancelled.';
	END IF;
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = o.order_id AND x.state = 'active';
	IF FOUND THEN
		PERFORM o2o._release(a, 'released', 'order cancelled', false);
	END IF;
	UPDATE o2o.orders x SET status = 'cancelled', promised_date = NULL WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'cancelled', 'cancelled', jsonb_build_object('dealer_id', a.dealer_id));
END
$$;
COMMENT ON FUNCTION o2o_cancel(bigint) IS 'cancel an order: release its stock reservation and installer slot';

CREATE FUNCTION o2o_complete(order_id bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path FROM CURRENT
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_complete.order_id, 'o2o_complete');
	a o2o.assignment;
BEGIN
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = o.order_id AND x.state = 'active';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'order % is %, not assigned', o.order_id, o.status
			USING ERRCODE = 'O2006', DETAIL = 'Only an assigned order can be completed.';
	END IF;
	PERFORM o2o._release(a, 'completed', NULL, true);
	PERFORM o2o._settle(o, a);
	UPDATE o2o.orders x SET status = 'completed' WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'completed', 'completed',
			jsonb_build_object('dealer_id', a.dealer_id, 'installer_id', a.installer_id));
END
$$;
COMMENT ON FUNCTION o2o_complete(bigint) IS
	'delivery and installation done: the reserved units leave stock (on_hand and reserved drop), the slot is freed, the settlement is written';

------------------------------------------------------------------------
-- one national price, commissions and settlement
------------------------------------------------------------------------
CREATE FUNCTION o2o_national_price(sku text, at timestamptz DEFAULT now()) RETURNS numeric
	AS 'MODULE_PATHNAME', 'o2o_national_price'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_national_price(text, timestamptz) IS
	'the one online price of a SKU in force at a time (default now); NULL when none is; errors (O2003) for an unknown SKU';

CREATE FUNCTION o2o._table_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_table_changed'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._table_changed() IS
	'internal trigger: any change to a cached table makes every backend rebuild its cache';

-- o2o_assign caches every dealer per backend
CREATE TRIGGER dealer_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.dealer
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._table_changed();

CREATE TRIGGER national_price_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.national_price
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._table_changed();

CREATE FUNCTION o2o._orders_price_guard() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_orders_price_guard'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._orders_price_guard() IS
	'internal trigger: an order costs the national price in force at its created_at (filled in when NULL, O2008 when different) and keeps it (O2009)';

-- each order names the price period it was priced under: the period cannot
-- vanish from under it, and pg_dump restores prices before orders
ALTER TABLE o2o.orders ADD COLUMN price_from timestamptz;
ALTER TABLE o2o.orders ADD CONSTRAINT orders_price_period_fkey
	FOREIGN KEY (sku, price_from) REFERENCES o2o.national_price (sku, valid_from);
COMMENT ON COLUMN o2o.orders.price_from IS 'valid_from of the national price period that priced the order (set by the price guard)';

CREATE TRIGGER orders_price_guard
	BEFORE INSERT OR UPDATE OF unit_price, sku, created_at, price_from ON o2o.orders
	FOR EACH ROW EXECUTE FUNCTION o2o._orders_price_guard();

/*
 * The value chain, by category and period: shares of the amount paid for
 * the fulfilling dealer (goods and delivery), the installer (models that
 * need installing) and the store whose QR code brought the order.  The
 * manufacturer keeps the rest.
 */
CREATE TABLE o2o.commission_rule (
	category	text NOT NULL,
	valid_from	timestamptz NOT NULL,
	valid_to	timestamptz,
	dealer_share numeric(6, 4) NOT NULL,
	installer_share numeric(6, 4) NOT NULL DEFAULT 0,
	origin_share numeric(6, 4) NOT NULL DEFAULT 0,
	PRIMARY KEY (category, valid_from),
	CONSTRAINT commission_rule_category_check CHECK (category IN ('fridge', 'washer', 'ac', 'water_heater',
																  'range_hood', 'purifier')),
	CONSTRAINT commission_rule_shares_check CHECK (dealer_share >= 0 AND installer_share >= 0 AND origin_share >= 0
												   AND dealer_share + installer_share + origin_share <= 1),
	CONSTRAINT commission_rule_period_check CHECK (valid_to IS NULL OR valid_to > valid_from),
	CONSTRAINT commission_rule_no_overlap
		EXCLUDE USING gist (category WITH =, tstzrange(valid_from, valid_to, '[)') WITH &&)
);
COMMENT ON TABLE o2o.commission_rule IS 'shares of the amount paid per category and period: fulfilling dealer, installer, origin store; the manufacturer keeps the rest';

CREATE TABLE o2o.settlement (
	settlement_id bigserial PRIMARY KEY,
	order_id	bigint NOT NULL REFERENCES o2o.orders,
	party		text NOT NULL,
	dealer_id	int REFERENCES o2o.dealer,
	installer_id int REFERENCES o2o.installer,
	amount		numeric(12, 2) NOT NULL,
	region_id	int,
	settled_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT settlement_party_check CHECK (party IN ('fulfilling_dealer', 'installer', 'origin_store', 'manufacturer')),
	CONSTRAINT settlement_amount_check CHECK (amount >= 0),
	CONSTRAINT settlement_one_per_party UNIQUE (order_id, party)
);
CREATE INDEX settlement_dealer_idx ON o2o.settlement (dealer_id, settled_at);
COMMENT ON TABLE o2o.settlement IS 'what each party earns from a completed order; the parts add up exactly to the amount paid';

/*
 * Split the amount paid for a completed order: each party's part is its
 * share of the amount, rounded down to the fen; the manufacturer receives
 * the rest, so the parts add up exactly to the amount paid.  The rule is
 * the one in force when the order was placed.
 */
CREATE FUNCTION o2o._settle(o o2o.orders, a o2o.assignment) RETURNS void
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
DECLARE
	cat text;
	r o2o.commission_rule;
	paid numeric(12, 2);
	to_dealer numeric(12, 2) := 0;
	to_installer numeric(12, 2) := 0;
	to_origin numeric(12, 2) := 0;
BEGIN
	SELECT p.category INTO cat FROM o2o.product p WHERE p.sku = o.sku;
	SELECT * INTO r FROM o2o.commission_rule c
	 WHERE c.category = cat AND c.valid_from <= o.created_at
	   AND (c.valid_to IS NULL OR o.created_at < c.valid_to);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no commission rule in force'
			USING ERRCODE = 'O2010',
				  DETAIL = format('Category %s has no commission rule at %s (order %s).', cat, o.created_at, o.order_id);
	END IF;
	IF o.unit_price IS NULL THEN
		RAISE EXCEPTION 'order % has no unit price', o.order_id USING ERRCODE = 'O2007';
	END IF;
	paid := o.unit_price * a.qty;
	to_dealer := trunc(paid * r.dealer_share, 2);
	IF a.installer_id IS NOT NULL THEN
		to_installer := trunc(paid * r.installer_share, 2);
	END IF;
	IF o.origin_dealer_id IS NOT NULL THEN
		to_origin := trunc(paid * r.origin_share, 2);
	END IF;
	INSERT INTO o2o.settlement (order_id, party, dealer_id, installer_id, amount, region_id)
	VALUES (o.order_id, 'fulfilling_dealer', a.dealer_id, NULL, to_dealer, a.region_id);
	IF a.installer_id IS NOT NULL THEN
		INSERT INTO o2o.settlement (order_id, party, dealer_id, installer_id, amount, region_id)
		VALUES (o.order_id, 'installer', a.dealer_id, a.installer_id, to_installer, a.region_id);
	END IF;
	IF o.origin_dealer_id IS NOT NULL THEN
		INSERT INTO o2o.settlement (order_id, party, dealer_id, installer_id, amount, region_id)
		VALUES (o.order_id, 'origin_store', o.origin_dealer_id, NULL, to_origin, a.region_id);
	END IF;
	INSERT INTO o2o.settlement (order_id, party, dealer_id, installer_id, amount, region_id)
	VALUES (o.order_id, 'manufacturer', NULL, NULL, paid - to_dealer - to_installer - to_origin, a.region_id);
END
$$;
COMMENT ON FUNCTION o2o._settle(o2o.orders, o2o.assignment) IS
	'internal: write the settlement of a completed order (parts rounded down to the fen, the manufacturer keeps the rest)';

CREATE VIEW o2o.dealer_earnings_monthly AS
SELECT s.dealer_id, date_trunc('month', s.settled_at)::date AS month,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'fulfilling_dealer'), 0) AS as_fulfiller,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'installer'), 0) AS as_installer,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'origin_store'), 0) AS as_origin_store,
	   sum(s.amount) AS total,
	   count(DISTINCT s.order_id) AS orders
  FROM o2o.settlement s
 WHERE s.dealer_id IS NOT NULL
 GROUP BY s.dealer_id, date_trunc('month', s.settled_at)::date;
COMMENT ON VIEW o2o.dealer_earnings_monthly IS
	'per dealer and month: earnings as fulfilling dealer, from its installers'' fees, as the origin store of orders, in total';

CREATE VIEW o2o.price_history AS
SELECT n.sku, p.name, p.category, n.valid_from, n.valid_to, n.price,
	   lag(n.price) OVER w AS previous_price,
	   round(100 * (n.price - lag(n.price) OVER w) / lag(n.price) OVER w, 2) AS change_pct
  FROM o2o.national_price n JOIN o2o.product p USING (sku)
WINDOW w AS (PARTITION BY n.sku ORDER BY n.valid_from);
COMMENT ON VIEW o2o.price_history IS 'the national price of each SKU over time, with the change from the previous period';

------------------------------------------------------------------------
-- set-wise ranking and balance, as parallel-safe C aggregates (src/agg.c)
------------------------------------------------------------------------
--
-- Parallel-safe routing aggregates (internal state, with combine and
-- serialize/deserialize support so they can run as partial aggregates).
--
-- The transition and combine functions are not STRICT: with an "internal"
-- state they must create the state themselves and see NULL inputs.  Final,
-- serialize and deserialize functions are STRICT: a NULL state means
-- "no rows" and maps to a NULL result.
--

-- o2o_best(id, score): id with the highest score

CREATE FUNCTION o2o._best_transfn(internal, bigint, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_best_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._best_finalfn(internal)
RETURNS bigint
AS 'MODULE_PATHNAME', 'o2o_best_finalfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._best_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_best_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._best_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'o2o_best_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._best_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_best_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE o2o_best(id bigint, score double precision) (
	SFUNC = o2o._best_transfn,
	STYPE = internal,
	FINALFUNC = o2o._best_finalfn,
	COMBINEFUNC = o2o._best_combinefn,
	SERIALFUNC = o2o._best_serialfn,
	DESERIALFUNC = o2o._best_deserialfn,
	PARALLEL = SAFE
);

COMMENT ON FUNCTION o2o._best_transfn(internal, bigint, double precision) IS
'transition function for o2o_best';
COMMENT ON FUNCTION o2o._best_finalfn(internal) IS
'final function for o2o_best';
COMMENT ON FUNCTION o2o._best_combinefn(internal, internal) IS
'combine function for o2o_best (parallel aggregation)';
COMMENT ON FUNCTION o2o._best_serialfn(internal) IS
'serialize function for o2o_best (parallel aggregation)';
COMMENT ON FUNCTION o2o._best_deserialfn(bytea, internal) IS
'deserialize function for o2o_best (parallel aggregation)';
COMMENT ON AGGREGATE o2o_best(bigint, double precision) IS
'id with the highest score; ties go to the smallest id; rows with NULL id or score are ignored; NULL if no rows; a NaN score is an error';

-- o2o_topk(id, score, k): ids of the k highest scores, best first

CREATE FUNCTION o2o._topk_transfn(internal, bigint, double precision, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_topk_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._topk_finalfn(internal)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'o2o_topk_finalfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._topk_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_topk_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._topk_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'o2o_topk_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._topk_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_topk_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE o2o_topk(id bigint, score double precision, k integer) (
	SFUNC = o2o._topk_transfn,
	STYPE = internal,
	FINALFUNC = o2o._topk_finalfn,
	COMBINEFUNC = o2o._topk_combinefn,
	SERIALFUNC = o2o._topk_serialfn,
	DESERIALFUNC = o2o._topk_deserialfn,
	PARALLEL = SAFE
);

COMMENT ON FUNCTION o2o._topk_transfn(internal, bigint, double precision, integer) IS
'transition function for o2o_topk';
COMMENT ON FUNCTION o2o._topk_finalfn(internal) IS
'final function for o2o_topk';
COMMENT ON FUNCTION o2o._topk_combinefn(internal, internal) IS
'combine function for o2o_topk (parallel aggregation)';
COMMENT ON FUNCTION o2o._topk_serialfn(internal) IS
'serialize function for o2o_topk (parallel aggregation)';
COMMENT ON FUNCTION o2o._topk_deserialfn(bytea, internal) IS
'deserialize function for o2o_topk (parallel aggregation)';
COMMENT ON AGGREGATE o2o_topk(bigint, double precision, integer) IS
'ids of the k highest scores, best first (score desc, id asc); rows with NULL id or score are ignored; k must be 1..10000 and equal on every row of a group; NULL if no rows; a NaN score is an error';

-- o2o_fairness(load): Jain's fairness index

CREATE FUNCTION o2o._fairness_transfn(internal, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_fairness_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._fairness_finalfn(internal)
RETURNS double precision
AS 'MODULE_PATHNAME', 'o2o_fairness_finalfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._fairness_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_fairness_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._fairness_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'o2o_fairness_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._fairness_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_fairness_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE o2o_fairness(load double precision) (
	SFUNC = o2o._fairness_transfn,
	STYPE = internal,
	FINALFUNC = o2o._fairness_finalfn,
	COMBINEFUNC = o2o._fairness_combinefn,
	SERIALFUNC = o2o._fairness_serialfn,
	DESERIALFUNC = o2o._fairness_deserialfn,
	PARALLEL = SAFE
);

COMMENT ON FUNCTION o2o._fairness_transfn(internal, double precision) IS
'transition function for o2o_fairness';
COMMENT ON FUNCTION o2o._fairness_finalfn(internal) IS
'final function for o2o_fairness';
COMMENT ON FUNCTION o2o._fairness_combinefn(internal, internal) IS
'combine function for o2o_fairness (parallel aggregation)';
COMMENT ON FUNCTION o2o._fairness_serialfn(internal) IS
'serialize function for o2o_fairness (parallel aggregation)';
COMMENT ON FUNCTION o2o._fairness_deserialfn(bytea, internal) IS
'deserialize function for o2o_fairness (parallel aggregation)';
COMMENT ON AGGREGATE o2o_fairness(double precision) IS
'Jain''s fairness index (sum x)^2 / (n * sum x^2) over non-NULL loads; 1.0 if all loads are zero; NULL if no rows; a negative, NaN or infinite load is an error';

SELECT pg_catalog.pg_extension_config_dump('o2o.installer_day', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.commission_rule', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.settlement', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.settlement_settlement_id_seq', '');
