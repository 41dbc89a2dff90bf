/*
 * o2o_route 0.9.0 -> 0.10.0: fixes, no new objects.
 *  - o2o._stock_apply and o2o_stock_apply_feed: a full count from the
 *    future (counted_at after now) zeroes nothing and does not move the
 *    store's last count (it zeroed every SKU not listed and made every
 *    later count stale);
 *  - o2o._book_slot (moves and reschedules): each attempt in a
 *    subtransaction of its own, rolled back when it does not book, so that
 *    a search holds no lock on a full day or an installer it passed over
 *    (two searches in opposite orders could deadlock);
 *  - o2o._assign_bounded (re-routes inside an installer or dealer change):
 *    lock_timeout 1 ms instead of 200 ms, so that the change does not wait
 *    while a routing call waits for it.
 * The library's fixes (a NULL sku crashing the price guard, bookings in
 * o2o_assign holding the locks of days they passed over, the ledger's
 * actor) need no SQL.
 */
\echo Use "ALTER EXTENSION o2o_route UPDATE TO '0.10.0'" to load this file. \quit

CREATE OR REPLACE FUNCTION o2o._stock_apply(p_rows o2o.stock_count[], p_full o2o.stock_count[], p_all_or_nothing boolean)
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

CREATE OR REPLACE FUNCTION o2o_stock_apply_feed(full_sync boolean DEFAULT false, all_or_nothing boolean DEFAULT false,
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

CREATE OR REPLACE FUNCTION o2o._book_slot(installers int[], p_day date, windows text[],
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

CREATE OR REPLACE FUNCTION o2o._assign_bounded(p_order bigint) RETURNS int
	LANGUAGE sql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp SET lock_timeout = 1
	AS $$ SELECT @extschema@.o2o_assign(p_order) $$;
COMMENT ON FUNCTION o2o._assign_bounded(bigint) IS 'internal: o2o_assign that gives up on a row lock held by another transaction (lock_timeout 1 ms)';
