------------------------------------------------------------------------
-- inventory: the stock ledger, counts from the stores, safety stock,
-- freshness, dealer-scoped access (src/ledger.c; README, Inventory)
------------------------------------------------------------------------
/*
 * Every change of o2o.stock's on_hand or reserved is appended to
 * o2o.stock_ledger by one AFTER ROW trigger (src/ledger.c), whoever made it
 * and by whichever path, so that the stock is always the ledger's running
 * sum.  The writer's note (o2o._ledger_note) says what the change is; a
 * write without one (a DBA's UPDATE) is an adjustment.
 */
CREATE TABLE o2o.stock_ledger (
	entry_id	bigserial PRIMARY KEY,
	region_id	int NOT NULL,
	dealer_id	int NOT NULL,
	sku			text NOT NULL,
	kind		text NOT NULL,
	d_on_hand	int NOT NULL,
	d_reserved	int NOT NULL,
	on_hand		int NOT NULL,
	reserved	int NOT NULL,
	order_id	bigint,
	reason		text,
	ref			text,
	counted_at	timestamptz,
	actor		name NOT NULL,
	at			timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	hold_id		bigint,
	CONSTRAINT stock_ledger_kind_check CHECK (kind IN ('opening', 'count', 'adjust', 'reserve', 'release', 'consume'))
);
CREATE INDEX stock_ledger_row_idx ON o2o.stock_ledger (dealer_id, sku, entry_id);
CREATE INDEX stock_ledger_consume_idx ON o2o.stock_ledger (dealer_id, sku, at) WHERE kind = 'consume';
COMMENT ON TABLE o2o.stock_ledger IS
	'append-only: every change of o2o.stock.on_hand and reserved (opening, count, adjust, reserve, release, consume) with its document (order, checkout hold, count), role and time; o2o.stock is its running sum';

CREATE FUNCTION o2o._stock_ledger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_stock_ledger'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._stock_ledger() IS
	'internal trigger: append every change of o2o.stock.on_hand and reserved to o2o.stock_ledger';

/*
 * Rows restored from a dump bring their history with them (o2o.stock_ledger
 * is dumped too): pg_dump's scripts run with check_function_bodies off, and
 * then a row inserted without a note is not entered again.
 */
CREATE TRIGGER stock_ledger AFTER INSERT OR UPDATE OF on_hand, reserved OR DELETE ON o2o.stock
	FOR EACH ROW EXECUTE FUNCTION o2o._stock_ledger();

/*
 * TRUNCATE fires no row trigger: each row's balance is entered as taken
 * out first, so that the ledger's running sum stays equal to the (now
 * empty) table, history kept.  Also when o2o.stock is truncated by CASCADE.
 */
CREATE FUNCTION o2o._stock_truncated() RETURNS trigger
	LANGUAGE plpgsql
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	INSERT INTO o2o.stock_ledger (region_id, dealer_id, sku, kind, d_on_hand, d_reserved, on_hand, reserved,
								  reason, actor)
	SELECT s.region_id, s.dealer_id, s.sku, 'adjust', -s.on_hand, -s.reserved, 0, 0, 'table truncated',
		   (SELECT r.rolname FROM pg_roles r WHERE r.oid = o2o._caller())
	  FROM o2o.stock s
	 WHERE s.on_hand <> 0 OR s.reserved <> 0
	 ORDER BY s.dealer_id, s.sku;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION o2o._stock_truncated() IS
	'internal trigger: before TRUNCATE o2o.stock, enter every row''s balance as taken out, so that the ledger still sums to the table';

CREATE TRIGGER stock_ledger_truncate BEFORE TRUNCATE ON o2o.stock
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._stock_truncated();

CREATE FUNCTION o2o._ledger_append_only() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	RAISE EXCEPTION 'o2o.stock_ledger is append-only'
		USING ERRCODE = 'O2002',
			  DETAIL = format('%s of ledger entry %s was refused; correct a count with a new count or an adjustment.',
							  TG_OP, OLD.entry_id);
END
$$;
COMMENT ON FUNCTION o2o._ledger_append_only() IS 'internal trigger: refuse UPDATE and DELETE on o2o.stock_ledger';

CREATE TRIGGER stock_ledger_append_only BEFORE UPDATE OR DELETE ON o2o.stock_ledger
	FOR EACH ROW EXECUTE FUNCTION o2o._ledger_append_only();

CREATE FUNCTION o2o._ledger_note(kind text, reason text, ref text, order_id bigint) RETURNS void
	AS 'MODULE_PATHNAME', 'o2o_ledger_note'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION o2o._ledger_note(text, text, text, bigint) IS
	'internal: what the caller''s next writes of o2o.stock are, for their ledger entries; a NULL kind clears the note';

CREATE FUNCTION o2o._caller() RETURNS oid
	AS 'MODULE_PATHNAME', 'o2o_caller'
	LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION o2o._caller() IS
	'internal: the role in effect outside any SECURITY DEFINER function (whom a definer function works for)';

/* units consumed (completed orders) at a dealer since a moment: a count taken then still held them */
CREATE FUNCTION o2o._consumed_since(p_dealer int, p_sku text, p_at timestamptz) RETURNS int
	LANGUAGE sql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT coalesce(-sum(l.d_on_hand), 0)::int FROM o2o.stock_ledger l
	 WHERE l.dealer_id = p_dealer AND l.sku = p_sku AND l.kind = 'consume' AND l.at > p_at
$$;
COMMENT ON FUNCTION o2o._consumed_since(int, text, timestamptz) IS
	'internal: units of a SKU consumed at a dealer after a moment (from the ledger); VOLATILE, so that it sees what committed after the row was locked';

------------------------------------------------------------------------
-- who may sync which dealer; each dealer's last count
------------------------------------------------------------------------
CREATE TABLE o2o.dealer_login (
	role		regrole NOT NULL,
	dealer_id	int NOT NULL REFERENCES o2o.dealer,
	PRIMARY KEY (role, dealer_id)
);
CREATE INDEX dealer_login_dealer_idx ON o2o.dealer_login (dealer_id);
COMMENT ON TABLE o2o.dealer_login IS
	'which roles act for which dealers: a member of role may sync, and read, only the stock of dealer_id';

CREATE TABLE o2o.dealer_sync (
	dealer_id	int PRIMARY KEY REFERENCES o2o.dealer,
	region_id	int NOT NULL,
	counted_at	timestamptz NOT NULL,
	synced_at	timestamptz NOT NULL,
	source		text,
	full_sync	boolean NOT NULL,
	full_counted_at timestamptz
);
COMMENT ON TABLE o2o.dealer_sync IS
	'each dealer''s latest count: counted_at (the newest applied), when it last synced, from which source, whether in full; full_counted_at: its newest full count';

/*
 * May this role sync this dealer's stock?  Roles with UPDATE on o2o.stock
 * (the manufacturer's integrations) may sync any dealer; other roles only
 * the dealers o2o.dealer_login maps them to.
 */
CREATE FUNCTION o2o._may_sync(p_role oid, p_dealer int) RETURNS boolean
	LANGUAGE sql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.has_table_privilege(p_role, 'o2o.stock'::regclass, 'UPDATE')
		OR EXISTS (SELECT 1 FROM o2o.dealer_login l
					WHERE l.dealer_id = p_dealer AND pg_catalog.pg_has_role(p_role, l.role, 'MEMBER'))
$$;
COMMENT ON FUNCTION o2o._may_sync(oid, int) IS
	'internal: whether a role may sync a dealer''s stock (UPDATE on o2o.stock, or a mapping in o2o.dealer_login)';

------------------------------------------------------------------------
-- applying counts: one core for the per-store call and the feed
------------------------------------------------------------------------
/* a count to apply: item (the position in the call, or the feed row) and what it says */
CREATE TYPE o2o.stock_count AS (
	item		bigint,
	dealer_id	int,
	sku			text,
	on_hand		numeric,
	safety		numeric,
	counted_at	timestamptz,
	source		text,
	fed_by		oid,
	reject		text
);
COMMENT ON TYPE o2o.stock_count IS 'internal: one count to apply (reject: why it is refused, once checked)';

/* what became of a count */
CREATE TYPE o2o.stock_outcome AS (
	item		bigint,
	dealer_id	int,
	sku			text,
	outcome		text,
	reason		text,
	on_hand_before int,
	on_hand		int,
	reserved	int,
	consumed_since int,
	released_orders bigint[]
);
COMMENT ON TYPE o2o.stock_outcome IS
	'what became of one count: applied, unchanged, stale or rejected (with reason), the row before and after, the orders released';

/* Check counts; each comes back with reject set when it cannot be applied. */
CREATE FUNCTION o2o._stock_check(p_rows o2o.stock_count[]) RETURNS o2o.stock_count[]
	LANGUAGE sql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH r AS (SELECT u.*, count(*) OVER (PARTITION BY u.dealer_id, u.sku, u.counted_at) AS dup FROM unnest(p_rows) u),
	perm AS (SELECT p.fed_by, p.dealer_id, o2o._may_sync(p.fed_by, p.dealer_id) AS ok
			   FROM (SELECT DISTINCT fed_by, dealer_id FROM r WHERE dealer_id IS NOT NULL) p)
	SELECT coalesce(array_agg(ROW(r.item, r.dealer_id, r.sku, r.on_hand, r.safety, r.counted_at, r.source, r.fed_by,
		CASE
			WHEN r.reject IS NOT NULL THEN r.reject
			WHEN r.dealer_id IS NULL THEN 'dealer_id is missing'
			WHEN d.dealer_id IS NULL THEN format('unknown dealer %s', r.dealer_id)
			WHEN NOT perm.ok THEN format('permission denied to sync the stock of dealer %s', r.dealer_id)
			WHEN r.sku IS NULL THEN 'sku is missing'
			WHEN p.sku IS NULL THEN format('unknown SKU %s', r.sku)
			WHEN r.on_hand IS NULL THEN 'on_hand is missing'
			WHEN r.on_hand <> trunc(r.on_hand) THEN format('on_hand %s is not an integer', r.on_hand)
			WHEN r.on_hand < numeric '0' THEN format('on_hand %s is negative', r.on_hand)
			WHEN r.on_hand > numeric '2147483647' THEN format('on_hand %s is too large', r.on_hand)
			WHEN r.safety <> trunc(r.safety) OR r.safety < numeric '0' OR r.safety > numeric '2147483647'
				THEN format('safety %s is not a non-negative integer', r.safety)
			WHEN r.counted_at IS NULL THEN 'counted_at is missing'
			WHEN r.counted_at > clock_timestamp() THEN format('counted_at %s is in the future', r.counted_at)
			WHEN r.dup > 1
				THEN format('SKU %s is listed more than once for dealer %s at one counted_at', r.sku, r.dealer_id)
		END)::o2o.stock_count ORDER BY r.item), '{}')
	  FROM r
	  LEFT JOIN o2o.dealer d ON d.dealer_id = r.dealer_id
	  LEFT JOIN o2o.product p ON p.sku = r.sku
	  LEFT JOIN perm ON perm.fed_by IS NOT DISTINCT FROM r.fed_by AND perm.dealer_id = r.dealer_id
$$;
COMMENT ON FUNCTION o2o._stock_check(o2o.stock_count[]) IS
	'internal: the counts with the reason each one cannot be applied (unknown dealer or SKU, no permission, bad number, duplicate, future)';

/*
 * Release the newest checkout holds, then the newest active reservations
 * of a stock row, until at most p_keep units stay reserved, the row being
 * locked by the caller.  An
 * order another transaction holds right now (it is being cancelled,
 * completed or declined) is skipped rather than waited for: waiting while
 * holding the stock row could deadlock with that transaction, which waits
 * for the row.  Released orders go back to pending; the next
 * o2o_assign_pending (or o2o_assign) routes them.  Returns their ids.
 */
CREATE FUNCTION o2o._stock_shortfall(p_dealer int, p_sku text, p_keep int) RETURNS bigint[]
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
	AS $$
DECLARE
	why text := format('stock shortfall at dealer %s', p_dealer);
	need int;
	a o2o.assignment;
	o o2o.orders;
	chosen o2o.assignment[] := '{}';
	h o2o.hold;
	holds o2o.hold[] := '{}';
BEGIN
	SELECT s.reserved - p_keep INTO need FROM o2o.stock s WHERE s.dealer_id = p_dealer AND s.sku = p_sku;
	-- checkout holds go first, newest first, those no one else holds now
	FOR h IN SELECT x.* FROM o2o.hold x WHERE x.dealer_id = p_dealer AND x.sku = p_sku AND x.state = 'held'
			  ORDER BY x.created_at DESC, x.hold_id DESC
	LOOP
		EXIT WHEN need <= 0;
		SELECT * INTO h FROM o2o.hold x WHERE x.hold_id = h.hold_id AND x.state = 'held' FOR UPDATE SKIP LOCKED;
		CONTINUE WHEN NOT FOUND;
		holds := holds || h;
		need := need - h.qty;
	END LOOP;
	-- then the newest reservations whose orders no one else holds now
	FOR a IN SELECT x.* FROM o2o.assignment x JOIN o2o.orders y ON y.order_id = x.order_id
			  WHERE x.dealer_id = p_dealer AND y.sku = p_sku AND x.state = 'active'
			  ORDER BY x.created_at DESC, x.assignment_id DESC
	LOOP
		EXIT WHEN need <= 0;
		PERFORM 1 FROM o2o.orders y WHERE y.order_id = a.order_id AND y.status = 'assigned'
		   FOR NO KEY UPDATE SKIP LOCKED;
		CONTINUE WHEN NOT FOUND;
		-- under the order's lock: is that reservation still there?
		SELECT * INTO a FROM o2o.assignment x WHERE x.assignment_id = a.assignment_id AND x.state = 'active';
		CONTINUE WHEN NOT FOUND;
		chosen := chosen || a;
		need := need - a.qty;
	END LOOP;
	-- their bookings, locked in key order as everyone else books them
	PERFORM 1 FROM o2o.installer_day b
	  JOIN (SELECT c.installer_id, c.install_day FROM unnest(chosen) c
			UNION SELECT x.installer_id, x.install_day FROM unnest(holds) x) c
		ON c.installer_id = b.installer_id AND c.install_day = b.day
	 ORDER BY b.installer_id, b.day
	   FOR NO KEY UPDATE OF b;
	FOR h IN SELECT * FROM unnest(holds) LOOP
		PERFORM o2o._hold_end(h, 'released', why, true);
	END LOOP;
	FOR a IN SELECT * FROM unnest(chosen) LOOP
		SELECT * INTO o FROM o2o.orders y WHERE y.order_id = a.order_id;
		PERFORM o2o._release(a, 'released', why, false);
		UPDATE o2o.orders y
		   SET status = o2o._order_step(o.order_id, o.status, 'o2o_stock_sync'), status_reason = why,
			   promised_date = NULL, promised_window = NULL
		 WHERE y.order_id = o.order_id;
		INSERT INTO o2o.order_event (order_id, event, status, detail)
		VALUES (o.order_id, 'released', 'pending',
				jsonb_build_object('dealer_id', p_dealer, 'sku', p_sku, 'qty', a.qty, 'reason', why));
	END LOOP;
	RETURN ARRAY(SELECT c.order_id FROM unnest(chosen) c);
END
$$;
COMMENT ON FUNCTION o2o._stock_shortfall(int, text, int) IS
	'internal: a count below reservations: release the newest checkout holds, then the newest active reservations of the row (orders back to pending), until the count covers the rest';

/*
 * What counts make of their existing rows: stale (a later count of the row,
 * or of the whole store, was applied), a shortfall (below what is
 * reserved), unchanged or applied; the new on_hand, as of counted_at (units
 * consumed since subtracted).  VOLATILE: each call reads what committed
 * before it, also after the caller locked the rows.
 */
CREATE FUNCTION o2o._stock_plan(p_rows o2o.stock_count[]) RETURNS o2o.stock_outcome[]
	LANGUAGE sql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT coalesce(array_agg(ROW(NULL, q.dealer_id, q.sku,
			CASE WHEN q.last_counted > q.counted_at THEN 'stale'
				 WHEN q.target < q.reserved THEN 'shortfall'
				 WHEN q.target = q.before AND (q.safety IS NULL OR q.safety::int = q.old_safety) THEN 'unchanged'
				 ELSE 'applied' END,
			CASE WHEN q.last_counted > q.counted_at
				 THEN format('a later count (at %s) was applied already', q.last_counted) END,
			q.before, CASE WHEN q.last_counted > q.counted_at THEN q.before ELSE q.target END,
			q.reserved, q.consumed, '{}')::o2o.stock_outcome), '{}')
	  FROM (SELECT x.dealer_id, x.sku, x.counted_at, x.safety, s.on_hand AS before, s.reserved,
				   s.safety AS old_safety, greatest(s.counted_at, y.full_counted_at) AS last_counted, c.consumed,
				   greatest(x.on_hand::int - c.consumed, 0) AS target
			  FROM unnest(p_rows) x
			  JOIN o2o.stock s ON s.dealer_id = x.dealer_id AND s.sku = x.sku
			  LEFT JOIN o2o.dealer_sync y ON y.dealer_id = x.dealer_id
			  CROSS JOIN LATERAL (SELECT CASE WHEN s.last_consumed_at + interval '1 second' > x.counted_at
											  THEN o2o._consumed_since(x.dealer_id, x.sku, x.counted_at)
											  ELSE 0 END AS consumed) c) q
$$;
COMMENT ON FUNCTION o2o._stock_plan(o2o.stock_count[]) IS
	'internal: what counts make of their existing stock rows (stale, shortfall, unchanged, applied) and the new on_hand, as of counted_at';

/*
 * Apply counts (checked here) and, in full mode, zero what each dealer of
 * p_full did not list.  Its statements join arrays of a few to thousands
 * of counts: planned for the arrays at hand (plan_cache_mode), since a
 * generic plan guesses ten elements and nests loops over thousands.  Locks stock rows in (dealer_id, sku) order, and
 * only then reads what to subtract, so that a completion cannot slip in
 * between.  Writes each dealer's last count.  Returns an outcome per count.
 */
CREATE FUNCTION o2o._stock_apply(p_rows o2o.stock_count[], p_full o2o.stock_count[], p_all_or_nothing boolean)
	RETURNS SETOF o2o.stock_outcome
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
	AS $$
DECLARE
	v o2o.stock_count[] := o2o._stock_check(p_rows);
	superseded o2o.stock_outcome[];
	stale_new o2o.stock_outcome[];
	full_dealers int[];
	actor name := (SELECT r.rolname FROM pg_roles r WHERE r.oid = o2o._caller());
	bad o2o.stock_count;
	nbad int;
	inserted o2o.stock_outcome[];
	res o2o.stock_outcome[];
	r o2o.stock_outcome;
	cur o2o.stock;
BEGIN
	SELECT count(*) INTO nbad FROM unnest(v) x WHERE x.reject IS NOT NULL;
	IF nbad > 0 AND p_all_or_nothing THEN
		SELECT * INTO bad FROM unnest(v) x WHERE x.reject IS NOT NULL ORDER BY x.item LIMIT 1;
		RAISE EXCEPTION 'stock sync refused: % of % counts cannot be applied', nbad, cardinality(v)
			USING ERRCODE = 'O2011',
				  DETAIL = format('Item %s (dealer %s, SKU %s): %s.', bad.item, bad.dealer_id, bad.sku, bad.reject),
				  HINT = 'Nothing was applied.  Without all_or_nothing, the good counts apply and each bad one is rejected with its reason.';
	END IF;

	-- full mode, for the stores the caller may sync (checked once here), as
	-- of a time that has come (a count from the future is rejected, and so
	-- zeroes nothing)
	p_full := ARRAY(SELECT f FROM unnest(p_full) f
					 WHERE f.dealer_id IS NOT NULL AND f.counted_at <= clock_timestamp()
					   AND o2o._may_sync(f.fed_by, f.dealer_id));
	full_dealers := ARRAY(SELECT f.dealer_id FROM unnest(p_full) f);

	-- a batch (a feed) may hold several counts of one row: the latest applies
	WITH c AS (SELECT x, max(x.counted_at) FILTER (WHERE x.reject IS NULL)
							OVER (PARTITION BY x.dealer_id, x.sku) AS latest
				 FROM unnest(v) x)
	SELECT coalesce(array_agg(c.x ORDER BY (c.x).item) FILTER (WHERE (c.x).reject IS NOT NULL OR (c.x).counted_at = c.latest), '{}'),
		   coalesce(array_agg(ROW((c.x).item, (c.x).dealer_id, (c.x).sku, 'stale',
								  format('a later count (at %s) of this row is in the same batch', c.latest),
								  NULL, NULL, NULL, NULL, '{}')::o2o.stock_outcome)
					FILTER (WHERE (c.x).reject IS NULL AND (c.x).counted_at < c.latest), '{}')
	  INTO v, superseded
	  FROM c;

	-- one sync of a store at a time: a full count must see what a partial one
	-- wrote, and releases of two syncs must not cross (key O2OS, dealer_id)
	PERFORM pg_advisory_xact_lock(1328697171, d.dealer_id)
	   FROM (SELECT x.dealer_id FROM unnest(v) x WHERE x.reject IS NULL
			 UNION SELECT f.dealer_id FROM unnest(p_full) f) d
	  ORDER BY d.dealer_id;

	-- a row the store did not have, counted before its last full count: that
	-- count said 0 later
	SELECT coalesce(array_agg(ROW(x.item, x.dealer_id, x.sku, 'stale',
								  format('a later full count (at %s) of this store was applied already', y.full_counted_at),
								  NULL, NULL, NULL, NULL, '{}')::o2o.stock_outcome), '{}')
	  INTO stale_new
	  FROM unnest(v) x JOIN o2o.dealer_sync y ON y.dealer_id = x.dealer_id AND y.full_counted_at > x.counted_at
	 WHERE x.reject IS NULL
	   AND NOT EXISTS (SELECT 1 FROM o2o.stock s WHERE s.dealer_id = x.dealer_id AND s.sku = x.sku);
	IF cardinality(stale_new) > 0 THEN
		v := ARRAY(SELECT x FROM unnest(v) x
					WHERE NOT EXISTS (SELECT 1 FROM unnest(stale_new) n WHERE n.item IS NOT DISTINCT FROM x.item
										AND n.dealer_id = x.dealer_id AND n.sku = x.sku));
		superseded := superseded || stale_new;
	END IF;

	-- full mode: what a dealer did not list is zero, as of its count
	IF cardinality(p_full) > 0 THEN
		v := v || ARRAY(
			SELECT ROW(NULL, s.dealer_id, s.sku, numeric '0', NULL, f.counted_at, f.source, f.fed_by, NULL)::o2o.stock_count
			  FROM unnest(p_full) f
			  JOIN o2o.stock s ON s.dealer_id = f.dealer_id
			 WHERE NOT EXISTS (SELECT 1 FROM unnest(p_rows) x WHERE x.dealer_id = s.dealer_id AND x.sku = s.sku)
			 ORDER BY s.dealer_id, s.sku);
	END IF;

	-- rows the dealer has not had: inserted as counted
	PERFORM o2o._ledger_note('count', NULL, NULL, NULL);
	WITH ins AS (
		INSERT INTO o2o.stock AS s (dealer_id, sku, on_hand, safety, region_id, counted_at, count_source)
		SELECT x.dealer_id, x.sku, x.on_hand::int, coalesce(x.safety::int, 0), d.region_id, x.counted_at, x.source
		  FROM unnest(v) x JOIN o2o.dealer d ON d.dealer_id = x.dealer_id
		 WHERE x.reject IS NULL
		   AND NOT EXISTS (SELECT 1 FROM o2o.stock y WHERE y.dealer_id = x.dealer_id AND y.sku = x.sku)
		 ORDER BY x.dealer_id, x.sku
		ON CONFLICT (dealer_id, sku) DO NOTHING
		RETURNING s.dealer_id, s.sku, s.on_hand, s.reserved)
	SELECT coalesce(array_agg(ROW(NULL, i.dealer_id, i.sku, 'applied', NULL, NULL, i.on_hand, i.reserved, 0,
								  '{}')::o2o.stock_outcome), '{}')
	  INTO inserted FROM ins i;
	PERFORM o2o._ledger_note(NULL, NULL, NULL, NULL);

	-- what each count makes of its row, read without locks: a count that
	-- changes nothing needs none (on_hand moves only with a count, which waits
	-- for this one, or with a completion, which the count subtracts as well)
	res := o2o._stock_plan(ARRAY(
		SELECT x FROM unnest(v) x
		 WHERE x.reject IS NULL
		   AND NOT EXISTS (SELECT 1 FROM unnest(inserted) i WHERE i.dealer_id = x.dealer_id AND i.sku = x.sku)));
	-- the rows it changes: locked in key order, then read again under the locks
	PERFORM 1 FROM o2o.stock s JOIN unnest(res) o ON o.dealer_id = s.dealer_id AND o.sku = s.sku
	 WHERE o.outcome IN ('applied', 'shortfall')
	 ORDER BY s.dealer_id, s.sku
	   FOR NO KEY UPDATE OF s;
	res := ARRAY(SELECT o FROM unnest(res) o WHERE o.outcome NOT IN ('applied', 'shortfall'))
		|| o2o._stock_plan(ARRAY(
			SELECT x FROM unnest(v) x JOIN unnest(res) o ON o.dealer_id = x.dealer_id AND o.sku = x.sku
			 WHERE x.reject IS NULL AND o.outcome IN ('applied', 'shortfall')));

	-- the counts that change their rows, and their ledger entries in one
	-- INSERT (the rows are locked: the balance before is exact)
	PERFORM o2o._ledger_note('written', NULL, NULL, NULL);
	WITH u AS (
		UPDATE o2o.stock s
		   SET on_hand = o.on_hand, safety = coalesce(x.safety::int, s.safety), counted_at = x.counted_at,
			   count_source = x.source, updated_at = now()
		  FROM unnest(res) o JOIN unnest(v) x ON x.dealer_id = o.dealer_id AND x.sku = o.sku AND x.reject IS NULL
		 WHERE s.dealer_id = o.dealer_id AND s.sku = o.sku AND o.outcome = 'applied'
		RETURNING s.region_id, s.dealer_id, s.sku, s.on_hand, s.reserved, s.counted_at, s.count_source,
				  o.on_hand_before)
	INSERT INTO o2o.stock_ledger (region_id, dealer_id, sku, kind, d_on_hand, d_reserved, on_hand, reserved,
								  ref, counted_at, actor)
	SELECT u.region_id, u.dealer_id, u.sku, 'count', u.on_hand - u.on_hand_before, 0, u.on_hand, u.reserved,
		   u.count_source, u.counted_at, actor
	  FROM u
	 WHERE u.on_hand <> u.on_hand_before
	 ORDER BY u.dealer_id, u.sku;
	PERFORM o2o._ledger_note(NULL, NULL, NULL, NULL);
	-- unchanged by a partial count: only the count's time and source (a full
	-- count's time is the store's, dealer_sync.full_counted_at: its unchanged
	-- rows are neither written nor locked)
	IF EXISTS (SELECT 1 FROM unnest(res) o WHERE o.outcome = 'unchanged' AND o.dealer_id <> ALL (full_dealers)) THEN
		UPDATE o2o.stock s
		   SET counted_at = x.counted_at, count_source = x.source
		  FROM unnest(res) o JOIN unnest(v) x ON x.dealer_id = o.dealer_id AND x.sku = o.sku AND x.reject IS NULL
		 WHERE s.dealer_id = o.dealer_id AND s.sku = o.sku AND o.outcome = 'unchanged'
		   AND o.dealer_id <> ALL (full_dealers);
	END IF;

	-- counts below what is reserved: the newest reservations go back to be routed again
	FOR r IN SELECT * FROM unnest(res) y WHERE y.outcome = 'shortfall' LOOP
		r.released_orders := o2o._stock_shortfall(r.dealer_id, r.sku, r.on_hand);
		SELECT * INTO cur FROM o2o.stock s WHERE s.dealer_id = r.dealer_id AND s.sku = r.sku;
		r.reason := CASE WHEN cur.reserved > r.on_hand
			THEN format('count below reservations: %s orders released; %s units stay reserved by orders being changed now',
						cardinality(r.released_orders), cur.reserved - r.on_hand)
			ELSE format('count below reservations: %s orders released', cardinality(r.released_orders)) END;
		r.on_hand := greatest(r.on_hand, cur.reserved);
		r.reserved := cur.reserved;
		PERFORM o2o._ledger_note('count', NULL, NULL, NULL);
		UPDATE o2o.stock s
		   SET on_hand = r.on_hand, safety = coalesce(x.safety::int, s.safety), counted_at = x.counted_at,
			   count_source = x.source, updated_at = now()
		  FROM unnest(v) x
		 WHERE x.dealer_id = r.dealer_id AND x.sku = r.sku AND x.reject IS NULL
		   AND s.dealer_id = r.dealer_id AND s.sku = r.sku;
		PERFORM o2o._ledger_note(NULL, NULL, NULL, NULL);
		r.outcome := 'applied';
		res := array_append(res, r);
	END LOOP;

	-- each dealer's last count
	INSERT INTO o2o.dealer_sync AS ds (dealer_id, region_id, counted_at, synced_at, source, full_sync, full_counted_at)
	SELECT x.dealer_id, d.region_id, max(x.counted_at), clock_timestamp(),
		   (array_agg(x.source ORDER BY x.full DESC, x.counted_at DESC))[1], bool_or(x.full),
		   max(x.counted_at) FILTER (WHERE x.full)
	  FROM (SELECT y.dealer_id, y.counted_at, y.source, false AS full FROM unnest(v) y WHERE y.reject IS NULL
			UNION ALL
			SELECT f.dealer_id, f.counted_at, f.source, true FROM unnest(p_full) f) x
	  JOIN o2o.dealer d ON d.dealer_id = x.dealer_id
	 GROUP BY x.dealer_id, d.region_id
	 ORDER BY x.dealer_id
	ON CONFLICT (dealer_id) DO UPDATE
	   SET counted_at = greatest(ds.counted_at, excluded.counted_at), synced_at = excluded.synced_at,
		   source = CASE WHEN excluded.counted_at >= ds.counted_at THEN excluded.source ELSE ds.source END,
		   full_sync = CASE WHEN excluded.counted_at >= ds.counted_at THEN excluded.full_sync ELSE ds.full_sync END,
		   full_counted_at = greatest(ds.full_counted_at, excluded.full_counted_at);

	RETURN QUERY
	SELECT x.item, x.dealer_id, x.sku, coalesce(y.outcome, 'rejected'),
		   CASE WHEN x.reject IS NOT NULL THEN x.reject ELSE y.reason END,
		   y.on_hand_before, y.on_hand, y.reserved, y.consumed_since, y.released_orders
	  FROM unnest(v) x
	  LEFT JOIN (SELECT * FROM unnest(inserted) UNION ALL SELECT * FROM unnest(res) z WHERE z.outcome <> 'shortfall') y
		ON x.reject IS NULL AND y.dealer_id = x.dealer_id AND y.sku = x.sku
	UNION ALL
	SELECT * FROM unnest(superseded)
	 ORDER BY 1 NULLS LAST, 2, 3;
END
$$;
COMMENT ON FUNCTION o2o._stock_apply(o2o.stock_count[], o2o.stock_count[], boolean) IS
	'internal: apply stock counts as of their counted_at (the core of o2o_stock_sync and the feed); an outcome per count';

------------------------------------------------------------------------
-- the two ways in: one store's counts, or a feed of many stores
------------------------------------------------------------------------
CREATE FUNCTION o2o_stock_sync(dealer_id int, counts jsonb, counted_at timestamptz DEFAULT now(),
							   source text DEFAULT NULL, full_sync boolean DEFAULT false,
							   all_or_nothing boolean DEFAULT false)
	RETURNS TABLE (item int, sku text, outcome text, reason text, on_hand_before int, on_hand int,
				   reserved int, consumed_since int, released_orders bigint[])
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	p_dealer int := o2o_stock_sync.dealer_id;
	p_counts jsonb := o2o_stock_sync.counts;
	p_at timestamptz := o2o_stock_sync.counted_at;
	me oid := o2o._caller();
	rows o2o.stock_count[];
	fulls o2o.stock_count[] := '{}';
BEGIN
	IF p_dealer IS NULL OR p_counts IS NULL OR p_at IS NULL OR full_sync IS NULL OR all_or_nothing IS NULL THEN
		RAISE EXCEPTION 'o2o_stock_sync: dealer_id, counts, counted_at, full_sync and all_or_nothing must not be NULL'
			USING ERRCODE = '22004';
	END IF;
	IF jsonb_typeof(p_counts) <> 'array' THEN
		RAISE EXCEPTION 'o2o_stock_sync: counts must be a JSON array'
			USING ERRCODE = '22023',
				  DETAIL = format('counts is a JSON %s.', jsonb_typeof(p_counts)),
				  HINT = 'Pass [{"sku": "...", "on_hand": 3}, ...].';
	END IF;
	IF NOT o2o._may_sync(me, p_dealer) THEN
		RAISE EXCEPTION 'permission denied to sync the stock of dealer %', p_dealer
			USING ERRCODE = '42501',
				  DETAIL = format('Role %s neither has UPDATE on o2o.stock nor acts for dealer %s in o2o.dealer_login.',
								  me::regrole, p_dealer);
	END IF;
	SELECT coalesce(array_agg(ROW(e.i, p_dealer,
			CASE WHEN jsonb_typeof(e.v -> 'sku') = 'string' THEN e.v ->> 'sku' END,
			CASE WHEN jsonb_typeof(e.v -> 'on_hand') = 'number' THEN (e.v ->> 'on_hand')::numeric END,
			CASE WHEN jsonb_typeof(e.v -> 'safety') = 'number' THEN (e.v ->> 'safety')::numeric END,
			p_at, source, me,
			CASE WHEN jsonb_typeof(e.v) <> 'object' THEN format('item is a JSON %s, not an object', jsonb_typeof(e.v))
				 WHEN jsonb_typeof(e.v -> 'sku') NOT IN ('string', 'null') THEN 'sku is not a string'
				 WHEN jsonb_typeof(e.v -> 'on_hand') NOT IN ('number', 'null')
					THEN format('on_hand %s is not a number', e.v -> 'on_hand')
				 WHEN jsonb_typeof(e.v -> 'safety') NOT IN ('number', 'null')
					THEN format('safety %s is not a number', e.v -> 'safety')
			END)::o2o.stock_count ORDER BY e.i), '{}')
	  INTO rows
	  FROM jsonb_array_elements(p_counts) WITH ORDINALITY e(v, i);
	IF full_sync THEN
		fulls := ARRAY[ROW(NULL, p_dealer, NULL, NULL, NULL, p_at, source, me, NULL)::o2o.stock_count];
	END IF;
	RETURN QUERY
	SELECT o.item::int, o.sku, o.outcome, o.reason, o.on_hand_before, o.on_hand, o.reserved, o.consumed_since,
		   o.released_orders
	  FROM o2o._stock_apply(rows, fulls, all_or_nothing) o;
END
$$;
COMMENT ON FUNCTION o2o_stock_sync(int, jsonb, timestamptz, text, boolean, boolean) IS
	'one store''s counts [{"sku", "on_hand", "safety"?}, ...] as of counted_at: an outcome per item (applied, unchanged, stale, rejected); counts below reservations release the newest';

/*
 * The bulk path: COPY rows into o2o.stock_feed, then one call applies every
 * row not applied yet and writes the outcome into the row.
 */
CREATE TABLE o2o.stock_feed (
	feed_id		bigserial PRIMARY KEY,
	dealer_id	int,
	sku			text,
	on_hand		numeric,
	safety		numeric,
	counted_at	timestamptz NOT NULL DEFAULT now(),
	source		text,
	fed_by		regrole NOT NULL,
	outcome		text,
	reason		text,
	applied_at	timestamptz,
	on_hand_after int,
	released_orders bigint[],
	CONSTRAINT stock_feed_outcome_check CHECK (outcome IN ('applied', 'unchanged', 'stale', 'rejected'))
);
CREATE INDEX stock_feed_new_idx ON o2o.stock_feed (dealer_id, feed_id) WHERE outcome IS NULL;
COMMENT ON TABLE o2o.stock_feed IS
	'counts to apply in bulk (COPY, then o2o_stock_apply); each row gets its outcome; fed_by is the role that inserted it, whose rights apply';

CREATE FUNCTION o2o._feed_stamp() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_feed_stamp'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._feed_stamp() IS
	'internal trigger: a feed row records the role that inserted it and starts with no outcome';

CREATE TRIGGER stock_feed_stamp BEFORE INSERT ON o2o.stock_feed
	FOR EACH ROW EXECUTE FUNCTION o2o._feed_stamp();

CREATE FUNCTION o2o_stock_apply_feed(full_sync boolean DEFAULT false, all_or_nothing boolean DEFAULT false,
									 max_dealers int DEFAULT NULL)
	RETURNS TABLE (feed_id bigint, dealer_id int, sku text, outcome text, reason text, on_hand_before int,
				   on_hand int, reserved int, consumed_since int, released_orders bigint[])
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan
	AS $$
#variable_conflict use_column
DECLARE
	dealers int[];
	rows o2o.stock_count[];
	fulls o2o.stock_count[] := '{}';
	res o2o.stock_outcome[];
BEGIN
	IF full_sync IS NULL OR all_or_nothing IS NULL OR max_dealers < 1 THEN
		RAISE EXCEPTION 'o2o_stock_apply_feed: full_sync and all_or_nothing must not be NULL, max_dealers must be 1 or more'
			USING ERRCODE = '22023';
	END IF;
	-- one applier at a time: a store's rows are applied together, in feed order
	PERFORM pg_advisory_xact_lock('o2o.stock_feed'::regclass::oid::bigint);
	-- a feed just loaded by COPY has no statistics yet: without them the
	-- planner would scan the whole feed for each chunk
	IF pg_stat_get_mod_since_analyze('o2o.stock_feed'::regclass)
	   > greatest(1000, (SELECT c.reltuples FROM pg_class c WHERE c.oid = 'o2o.stock_feed'::regclass) / 5) THEN
		ANALYZE o2o.stock_feed;
	END IF;
	-- the next stores in dealer order: one probe of the index of rows not
	-- applied yet per store (a feed of 500,000 rows is not scanned per chunk)
	dealers := ARRAY(
		WITH RECURSIVE d AS (
			(SELECT f.dealer_id FROM o2o.stock_feed f WHERE f.outcome IS NULL AND f.dealer_id IS NOT NULL
			  ORDER BY f.dealer_id LIMIT 1)
			UNION ALL
			SELECT (SELECT f.dealer_id FROM o2o.stock_feed f WHERE f.outcome IS NULL AND f.dealer_id > d.dealer_id
					 ORDER BY f.dealer_id LIMIT 1)
			  FROM d WHERE d.dealer_id IS NOT NULL)
		SELECT d.dealer_id FROM d WHERE d.dealer_id IS NOT NULL LIMIT max_dealers);
	-- their rows, and rows without a dealer (to be rejected)
	SELECT coalesce(array_agg(ROW(f.feed_id, f.dealer_id, f.sku, f.on_hand, f.safety, f.counted_at, f.source,
								  f.fed_by, NULL)::o2o.stock_count ORDER BY f.feed_id), '{}')
	  INTO rows
	  FROM (SELECT * FROM o2o.stock_feed y WHERE y.outcome IS NULL AND y.dealer_id = ANY (dealers)
			UNION ALL
			SELECT * FROM o2o.stock_feed y WHERE y.outcome IS NULL AND y.dealer_id IS NULL) f;
	IF full_sync THEN
		SELECT coalesce(array_agg(ROW(NULL, g.dealer_id, NULL, NULL, NULL, g.counted_at, g.source, g.fed_by,
									  NULL)::o2o.stock_count), '{}')
		  INTO fulls
		  FROM (SELECT DISTINCT ON (x.dealer_id) x.dealer_id, x.counted_at, x.source, x.fed_by
				  FROM unnest(rows) x WHERE x.dealer_id IS NOT NULL AND x.counted_at <= clock_timestamp()
				 ORDER BY x.dealer_id, x.counted_at DESC, x.item DESC) g;
	END IF;
	SELECT coalesce(array_agg(o), '{}') INTO res FROM o2o._stock_apply(rows, fulls, all_or_nothing) o;
	UPDATE o2o.stock_feed f
	   SET outcome = o.outcome, reason = o.reason, applied_at = clock_timestamp(), on_hand_after = o.on_hand,
		   released_orders = o.released_orders
	  FROM unnest(res) o
	 WHERE f.feed_id = o.item
	   AND f.outcome IS NULL AND (f.dealer_id = ANY (dealers) OR f.dealer_id IS NULL);
	RETURN QUERY SELECT o.item, o.dealer_id, o.sku, o.outcome, o.reason, o.on_hand_before, o.on_hand, o.reserved,
						o.consumed_since, o.released_orders
				   FROM unnest(res) o;
END
$$;
COMMENT ON FUNCTION o2o_stock_apply_feed(boolean, boolean, int) IS
	'apply the rows of o2o.stock_feed not applied yet (of at most max_dealers dealers), in one transaction: an outcome per row, written into the row too';

/*
 * The feed in chunks of whole stores, committing after each, so that a
 * sync of every store never holds many rows locked for long.  A procedure
 * that commits can have neither SECURITY DEFINER nor a SET clause: it runs
 * as its caller, names everything with its schema and writes its
 * operators as OPERATOR(pg_catalog.x), so the caller's search_path cannot
 * change what it calls.
 */
CREATE PROCEDURE o2o_stock_apply(full_sync boolean DEFAULT false, all_or_nothing boolean DEFAULT false,
								 dealers_per_commit int DEFAULT 100,
								 INOUT applied bigint DEFAULT NULL, INOUT unchanged bigint DEFAULT NULL,
								 INOUT stale bigint DEFAULT NULL, INOUT rejected bigint DEFAULT NULL,
								 INOUT released bigint DEFAULT NULL)
	LANGUAGE plpgsql
	AS $$
#variable_conflict use_column
DECLARE
	n record;
BEGIN
	applied := 0; unchanged := 0; stale := 0; rejected := 0; released := 0;
	IF all_or_nothing THEN
		-- every pending row is checked before anything is applied
		PERFORM @extschema@.o2o_stock_check_feed();
	END IF;
	LOOP
		SELECT pg_catalog.count(*) AS rows,
			   pg_catalog.count(*) FILTER (WHERE f.outcome OPERATOR(pg_catalog.=) 'applied') AS a,
			   pg_catalog.count(*) FILTER (WHERE f.outcome OPERATOR(pg_catalog.=) 'unchanged') AS u,
			   pg_catalog.count(*) FILTER (WHERE f.outcome OPERATOR(pg_catalog.=) 'stale') AS s,
			   pg_catalog.count(*) FILTER (WHERE f.outcome OPERATOR(pg_catalog.=) 'rejected') AS r,
			   pg_catalog.sum(pg_catalog.cardinality(f.released_orders)) AS rel
		  INTO n
		  FROM @extschema@.o2o_stock_apply_feed(full_sync, false, dealers_per_commit) f;
		EXIT WHEN n.rows OPERATOR(pg_catalog.=) 0;
		applied := applied OPERATOR(pg_catalog.+) n.a;
		unchanged := unchanged OPERATOR(pg_catalog.+) n.u;
		stale := stale OPERATOR(pg_catalog.+) n.s;
		rejected := rejected OPERATOR(pg_catalog.+) n.r;
		released := released OPERATOR(pg_catalog.+) COALESCE(n.rel, 0);
		COMMIT;
	END LOOP;
END
$$;
COMMENT ON PROCEDURE o2o_stock_apply(boolean, boolean, int, bigint, bigint, bigint, bigint, bigint) IS
	'apply the whole stock feed, committing after every dealers_per_commit stores; returns how many rows were applied, unchanged, stale, rejected and orders released';

/* The bad rows of the feed, before anything is applied: O2011 if there is one. */
CREATE FUNCTION o2o_stock_check_feed() RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	v o2o.stock_count[];
	bad o2o.stock_count;
	nbad int;
BEGIN
	v := o2o._stock_check(ARRAY(SELECT ROW(f.feed_id, f.dealer_id, f.sku, f.on_hand, f.safety, f.counted_at, f.source,
										   f.fed_by, NULL)::o2o.stock_count
								  FROM o2o.stock_feed f WHERE f.outcome IS NULL));
	SELECT count(*) INTO nbad FROM unnest(v) x WHERE x.reject IS NOT NULL;
	IF nbad > 0 THEN
		SELECT * INTO bad FROM unnest(v) x WHERE x.reject IS NOT NULL ORDER BY x.item LIMIT 1;
		RAISE EXCEPTION 'stock sync refused: % of % counts cannot be applied', nbad, cardinality(v)
			USING ERRCODE = 'O2011',
				  DETAIL = format('Feed row %s (dealer %s, SKU %s): %s.', bad.item, bad.dealer_id, bad.sku, bad.reject),
				  HINT = 'Nothing was applied.  Correct or delete the bad rows of o2o.stock_feed.';
	END IF;
END
$$;
COMMENT ON FUNCTION o2o_stock_check_feed() IS
	'check every row of o2o.stock_feed not applied yet; O2011 naming the first bad one, else nothing';

------------------------------------------------------------------------
-- what dealers and BI read
------------------------------------------------------------------------
/* a dealer's login sees the stock of the dealers it acts for, and nothing else */
CREATE VIEW o2o.dealer_stock WITH (security_barrier) AS
SELECT s.dealer_id, s.sku, s.on_hand, s.reserved, s.safety,
	   pg_catalog.int4larger(s.on_hand OPERATOR(pg_catalog.-) s.reserved OPERATOR(pg_catalog.-) s.safety, 0) AS available,
	   CASE WHEN y.full_counted_at OPERATOR(pg_catalog.>) s.counted_at OR s.counted_at IS NULL
			THEN y.full_counted_at ELSE s.counted_at END AS counted_at,
	   s.count_source, s.updated_at
  FROM o2o.stock s
  LEFT JOIN o2o.dealer_sync y ON y.dealer_id OPERATOR(pg_catalog.=) s.dealer_id
 WHERE s.dealer_id IN (SELECT l.dealer_id FROM o2o.dealer_login l
						WHERE pg_catalog.pg_has_role(CURRENT_USER, l.role, 'MEMBER'));
COMMENT ON VIEW o2o.dealer_stock IS
	'the stock rows of the dealers the current role acts for (o2o.dealer_login): what a dealer''s login reads';

CREATE VIEW o2o.dealer_stock_ledger WITH (security_barrier) AS
SELECT l.entry_id, l.dealer_id, l.sku, l.kind, l.d_on_hand, l.d_reserved, l.on_hand, l.reserved, l.order_id,
	   l.reason, l.ref, l.counted_at, l.actor, l.at
  FROM o2o.stock_ledger l
 WHERE l.dealer_id IN (SELECT m.dealer_id FROM o2o.dealer_login m
						WHERE pg_catalog.pg_has_role(CURRENT_USER, m.role, 'MEMBER'));
COMMENT ON VIEW o2o.dealer_stock_ledger IS
	'the ledger entries of the dealers the current role acts for (o2o.dealer_login)';

/*
 * Dealers whose last count is older than o2o_route.stock_max_age (a day
 * when that is off), or that never synced.
 */
CREATE VIEW o2o.stale_dealers AS
SELECT d.dealer_id, d.name, d.region_id, d.grid_id, y.counted_at AS last_counted_at, y.synced_at AS last_synced_at,
	   pg_catalog.now() OPERATOR(pg_catalog.-) y.counted_at AS age, y.source AS last_source
  FROM o2o.dealer d
  LEFT JOIN o2o.dealer_sync y ON y.dealer_id OPERATOR(pg_catalog.=) d.dealer_id
 WHERE d.active
   AND (y.counted_at IS NULL
		OR y.counted_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-)
			CASE WHEN pg_catalog.current_setting('o2o_route.stock_max_age', true) IS NULL
					  OR pg_catalog.current_setting('o2o_route.stock_max_age', true) OPERATOR(pg_catalog.=) '0'
				 THEN interval '1 day'
				 ELSE pg_catalog.current_setting('o2o_route.stock_max_age', true)::interval END));
COMMENT ON VIEW o2o.stale_dealers IS
	'active dealers whose last count is older than o2o_route.stock_max_age (1 day when that is off), or that never synced';

/* per dealer and day: counts that came in below what was reserved, and what they released */
CREATE VIEW o2o.stock_shortfalls AS
SELECT l.dealer_id, l.region_id, (l.at AT TIME ZONE 'UTC')::date AS day,
	   pg_catalog.count(DISTINCT l.sku) AS skus, pg_catalog.count(*) AS orders_released,
	   OPERATOR(pg_catalog.-) pg_catalog.sum(l.d_reserved) AS units_released
  FROM o2o.stock_ledger l
 WHERE l.kind OPERATOR(pg_catalog.=) 'release' AND l.reason OPERATOR(pg_catalog.~~) 'stock shortfall at dealer %'
 GROUP BY l.dealer_id, l.region_id, (l.at AT TIME ZONE 'UTC')::date;
COMMENT ON VIEW o2o.stock_shortfalls IS
	'per dealer and day (UTC): SKUs counted below their reservations, the orders and units released to be routed again';
