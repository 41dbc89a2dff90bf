/*
 * test/fuzz/stock.sql -- family "stock": the stock sync of 0.9.0,
 * o2o_stock_sync, o2o_stock_apply_feed, o2o_stock_check_feed,
 * o2o_stock_rollup, the procedure o2o_stock_apply (called by fuzz.sh at
 * the top level, see below), the triggers of o2o.stock, o2o.stock_ledger
 * and o2o.stock_feed, and the shared caches' o2o_cache_status and
 * o2o_grid_index_stats, on the generated world with a few hundred orders
 * assigned and checkout holds taken first (so that counts can fall below
 * what is reserved).
 *
 * Arguments: dealers with stock, closed ones, unknown ones and NULL; as the
 * superuser (who may sync any dealer) or as the role fuzz_store, which acts
 * for a few dealers (o2o.dealer_login) and not for the others; count
 * documents that are JSON arrays of good lines (at, below and above what
 * is on hand and reserved, SKUs the store has no row for), unknown SKUs,
 * SKUs that are not strings or missing, counts missing, NULL, strings,
 * negative, fractional, huge, safety stock good and bad, items that are no
 * object, a SKU twice, empty arrays, and documents that are no array or
 * NULL; counted_at in the past (also exactly at the row's or the store's
 * last count), now, the future, +-infinity and NULL; full_sync and
 * all_or_nothing true, false and NULL; sources.  Feed rows of the same
 * kinds, fed by either role, several per store and SKU.
 *
 * Oracle: fuzz.stock_expect, the README's *Inventory* written out line by
 * line against the state before the call: each line rejected (with the
 * reason), stale (a later count of the row, of the store, or in the same
 * batch), unchanged, or applied (as of counted_at: units consumed since
 * subtracted; below the reservations: the newest holds, then the newest
 * assignments released until the count covers the rest), and with
 * full_sync every SKU of the store not listed counted 0; then
 *  - o2o_stock_sync and o2o_stock_apply_feed return exactly those
 *    outcomes, on_hand and released orders, the stock rows are as expected
 *    afterwards, released orders are pending with the shortfall reason;
 *    the feed rows carry their outcomes, the rows of stores beyond
 *    max_dealers stay pending;
 *  - all_or_nothing with a bad line: O2011 and nothing changes; NULL
 *    arguments 22004, counts not an array 22023, a store the caller may
 *    not sync 42501, max_dealers < 1 22023; a failed call changes nothing
 *    (stock of the store, ledger, dealer_sync, feed);
 *  - o2o_stock_check_feed: O2011 exactly when a pending feed row is bad;
 *  - o2o_stock_rollup: the GROUPING SETS of plain SQL over active dealers
 *    with units available; O2003 for an unknown SKU;
 *  - o2o_cache_status: the two caches, shared when the library is
 *    preloaded (nothing of the caches is written here), a version iff
 *    bytes; o2o_grid_index_stats: every grid and vertex of o2o.grid;
 *  - stock, ledger and feed DML: the ledger entry of a direct write is the
 *    change, as an adjustment; UPDATE or DELETE of the ledger O2002; a feed
 *    row is stamped with the role that inserted it and no outcome;
 *  - after each statement, o2o.invariant_violations (the ledger's running
 *    sum among them) is empty.
 *
 * o2o_stock_apply commits after every chunk of stores, which a procedure
 * called from a function (as every other call here) cannot do.  fuzz.sh
 * therefore calls it from psql at the top level, in batches between the
 * statements of the other calls: fuzz.stock_proc_before adds feed rows and
 * records what the call must do, the CALL runs (now and then inside
 * BEGIN ... ROLLBACK, where a feed with rows to apply must fail with
 * 2D000 and apply nothing), and fuzz.stock_proc_after judges it.  Stores are
 * independent (a count touches only its store's rows, orders and holds),
 * so the chunks' outcomes are the one oracle's over the whole feed.
 */

-- a store's login: acts for a few dealers only (roles are the cluster's, kept between runs)
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fuzz_store') THEN
		CREATE ROLE fuzz_store NOLOGIN;
	END IF;
END
$$;

CREATE TYPE fuzz.sexp AS (item bigint, dealer_id int, sku text, outcome text, why text, on_hand int,
						  reserved int, safety int, consumed int, released bigint[]);
CREATE TABLE fuzz.stock_proc (k int PRIMARY KEY, call bigint, sql text, full_sync boolean, aon boolean,
							  dpc int, atomic boolean, pending bigint[], exp fuzz.sexp[], fp text,
							  t0 timestamptz);
CREATE TABLE fuzz.stock_info (grids bigint, vertices bigint, rings bigint, preloaded boolean, su oid);

CREATE FUNCTION fuzz.prepare_stock() RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	GRANT USAGE ON SCHEMA o2o TO fuzz_store;
	GRANT INSERT, SELECT ON o2o.stock_feed TO fuzz_store;
	GRANT USAGE ON SCHEMA fuzz TO fuzz_store;
	GRANT USAGE ON SEQUENCE o2o.stock_feed_feed_id_seq TO fuzz_store;
	GRANT EXECUTE ON FUNCTION o2o_stock_sync(int, jsonb, timestamptz, text, boolean, boolean) TO fuzz_store;
END
$$;

-- in the stock database: orders assigned and held, some stores mapped, some closed
CREATE FUNCTION fuzz.prepare_stock_family() RETURNS void
	LANGUAGE plpgsql
	AS $$
DECLARE
	o record;
BEGIN
	CREATE INDEX fuzz_orders_status ON o2o.orders (status, order_id);
	PERFORM o2o_assign_pending(500);
	FOR o IN SELECT x.sku, x.location FROM o2o.orders x WHERE x.status = 'pending' ORDER BY x.order_id LIMIT 150 LOOP
		PERFORM o2o_hold(o.sku, o.location, 1, '1 day');
	END LOOP;
	INSERT INTO o2o.dealer_login (role, dealer_id)
	SELECT 'fuzz_store'::regrole, d.dealer_id FROM o2o.dealer d WHERE d.dealer_id % 10 = 3;
	-- closed stores (no jobs on them: closing one with jobs is the tracking family's)
	UPDATE o2o.dealer d SET active = false
	 WHERE d.dealer_id % 17 = 5
	   AND NOT EXISTS (SELECT 1 FROM o2o.assignment a WHERE a.dealer_id = d.dealer_id AND a.state = 'active')
	   AND NOT EXISTS (SELECT 1 FROM o2o.hold h WHERE h.dealer_id = d.dealer_id AND h.state = 'held');
	INSERT INTO fuzz.stock_info
	SELECT (SELECT count(*) FROM o2o.grid), (SELECT sum(ST_NPoints(geom)) FROM o2o.grid), (SELECT sum(ST_NRings(geom)) FROM o2o.grid),
		   'o2o_route' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')),
		   session_user::text::regrole::oid;
	ANALYZE o2o.orders, o2o.assignment, o2o.stock, o2o.hold;
END
$$;

------------------------------------------------------------------------
-- drawing arguments
------------------------------------------------------------------------

-- whether a role may sync a dealer: the superuser any, fuzz_store its mapped ones
CREATE FUNCTION fuzz.stock_may(p_role oid, p_dealer int) RETURNS boolean
	LANGUAGE sql STABLE
	AS $$
	SELECT p_role = (SELECT i.su FROM fuzz.stock_info i)
		OR EXISTS (SELECT 1 FROM o2o.dealer_login l WHERE l.role::oid = p_role AND l.dealer_id = p_dealer)
$$;

-- a dealer: mostly one with stock rows (mapped to fuzz_store or not), closed, unknown or NULL
CREATE FUNCTION fuzz.stock_dealer(p_null float8, OUT id int, OUT kind text)
	LANGUAGE plpgsql
	AS $$
DECLARE
	r float8 := random();
	mx int := (SELECT max(dealer_id) FROM o2o.dealer);
BEGIN
	IF r < 0.7 THEN
		kind := 'stock';
		SELECT s.dealer_id INTO id FROM o2o.stock s WHERE s.dealer_id >= fuzz.ri(1, mx) ORDER BY s.dealer_id LIMIT 1;
	ELSIF r < 0.8 THEN
		kind := 'store';
		id := (SELECT l.dealer_id FROM o2o.dealer_login l ORDER BY random() LIMIT 1);
	ELSIF r < 0.88 THEN
		kind := 'closed';
		id := (SELECT d.dealer_id FROM o2o.dealer d WHERE NOT d.active ORDER BY random() LIMIT 1);
	ELSIF r < 1 - p_null THEN
		kind := 'unknown';
		id := fuzz.pick(ARRAY[0, -1, mx + fuzz.ri(1, 50)::int, 2147483647, -2147483648]);
	ELSE
		kind := 'null';
	END IF;
	IF id IS NULL AND kind NOT IN ('unknown', 'null') THEN
		kind := 'any';
		id := fuzz.ri(1, mx)::int;
	END IF;
END
$$;

-- a count: near what the row has (on hand, reserved), or anything
CREATE FUNCTION fuzz.stock_num(s o2o.stock) RETURNS numeric
	LANGUAGE sql VOLATILE
	AS $$
	SELECT CASE WHEN r < 0.25 AND s.on_hand IS NOT NULL THEN s.on_hand
				WHEN r < 0.45 AND s.reserved IS NOT NULL THEN greatest(s.reserved + fuzz.ri(-3, 1), 0)
				WHEN r < 0.55 AND s.on_hand IS NOT NULL THEN greatest(s.on_hand + fuzz.ri(-3, 3), 0)
				WHEN r < 0.62 THEN 0
				ELSE fuzz.ri(0, 40) END
	  FROM (SELECT random() AS r) x
$$;

-- a bad count or safety as JSON
CREATE FUNCTION fuzz.stock_badnum() RETURNS jsonb
	LANGUAGE sql VOLATILE
	AS $$
	SELECT fuzz.pick(ARRAY['-1', '-2147483648', '2.5', '1e-20', '0.0000001', '2147483648', '1e20', '1e300',
						   '99999999999999999999999999', '"3"', '"x"', 'true', 'null', '[]', '{}', '3.0', '-0',
						   '2147483647', '0.0', '1e2', '-0.5']::jsonb[])
$$;

/*
 * A count document for a dealer: items good and bad (see the header), and
 * now and then a document that is no array.
 */
CREATE FUNCTION fuzz.stock_doc(dealer int, OUT doc jsonb, OUT kind text)
	LANGUAGE plpgsql
	AS $$
DECLARE
	r float8 := random();
	n int;
	s o2o.stock;
	items jsonb[] := '{}';
	it jsonb;
	q float8;
	skus text[] := '{}';
BEGIN
	IF r < 0.02 THEN
		kind := 'null';
		RETURN;
	ELSIF r < 0.05 THEN
		kind := 'not an array';
		doc := fuzz.pick(ARRAY['{"sku": "x", "on_hand": 1}', '"[]"', '3', 'null', 'true', '{}']::jsonb[]);
		RETURN;
	END IF;
	n := CASE WHEN random() < 0.08 THEN 0 ELSE fuzz.ri(1, 7)::int END;
	kind := n || ' items';
	FOR k IN 1..n LOOP
		q := random();
		s := NULL;
		IF q < 0.7 THEN
			-- a row of the store (or of any store)
			SELECT * INTO s FROM o2o.stock x WHERE x.dealer_id = dealer ORDER BY random() LIMIT 1;
			IF s.sku IS NULL THEN
				s.sku := (SELECT p.sku FROM o2o.product p ORDER BY random() LIMIT 1);
			END IF;
		ELSIF q < 0.8 THEN
			s.sku := (SELECT p.sku FROM o2o.product p ORDER BY random() LIMIT 1);
		END IF;
		IF k > 1 AND random() < 0.06 THEN
			s.sku := fuzz.pick(skus);		-- listed twice
		END IF;
		q := random();
		IF q < 0.72 THEN
			it := jsonb_build_object('sku', s.sku, 'on_hand', fuzz.stock_num(s));
		ELSIF q < 0.78 THEN
			it := jsonb_build_object('sku', fuzz.pick(ARRAY['nope', '', 'ac-001', repeat('Z', 300), '家电']), 'on_hand', fuzz.ri(0, 5));
		ELSIF q < 0.82 THEN
			it := jsonb_build_object('sku', s.sku) || CASE WHEN random() < 0.5 THEN '{"on_hand": null}'::jsonb ELSE '{}' END;
		ELSIF q < 0.85 THEN
			it := jsonb_build_object('on_hand', fuzz.ri(0, 5))
				  || CASE WHEN random() < 0.5 THEN '{"sku": null}'::jsonb
						  ELSE jsonb_build_object('sku', fuzz.pick(ARRAY['7', 'true', '["AC-001"]', '{}']::jsonb[])) END;
		ELSIF q < 0.93 THEN
			it := jsonb_build_object('sku', s.sku, 'on_hand', fuzz.stock_badnum());
		ELSIF q < 0.97 THEN
			it := fuzz.pick(ARRAY['1', '"AC-001"', '[1, 2]', 'null', 'true', '[]']::jsonb[]);
		ELSE
			it := jsonb_build_object('sku', s.sku, 'on_hand', fuzz.stock_num(s), 'extra', 'x');
		END IF;
		IF jsonb_typeof(it) = 'object' AND random() < 0.2 THEN
			it := it || jsonb_build_object('safety', CASE WHEN random() < 0.7 THEN to_jsonb(fuzz.ri(0, 4)) ELSE fuzz.stock_badnum() END);
		END IF;
		items := items || it;
		skus := skus || s.sku;
	END LOOP;
	doc := to_jsonb(items);
END
$$;

/*
 * A counted_at: now, the past, at the row's or store's last count, the
 * future, +-infinity, NULL.  A time that comes while the call is judged
 * (after the oracle looked, before the call checks) would be judged
 * differently by the two: a time less than 30 s ahead -- or, far (for feed
 * rows, which wait), less than 50 years -- is taken as the clock's now.
 */
CREATE FUNCTION fuzz.stock_time(dealer int, p_null float8, far boolean DEFAULT false) RETURNS timestamptz
	LANGUAGE plpgsql
	AS $$
DECLARE
	r float8 := random();
	y o2o.dealer_sync;
	t timestamptz;
	near interval;
BEGIN
	IF r < 0.3 THEN
		t := now();
	ELSIF r < 0.6 THEN
		t := now() - make_interval(secs => fuzz.ri(0, 864000)) * random();
	ELSIF r < 0.75 THEN
		SELECT * INTO y FROM o2o.dealer_sync x WHERE x.dealer_id = dealer;
		t := coalesce(fuzz.pick(ARRAY[y.counted_at, y.full_counted_at,
									  (SELECT max(s.counted_at) FROM o2o.stock s WHERE s.dealer_id = dealer)]), now())
			 + fuzz.pick(ARRAY['0', '1 microsecond', '-1 microsecond', '1 second', '-1 second']::interval[]);
	ELSIF r < 0.85 THEN
		-- completions of the last moments: counted before them, they are subtracted
		t := now() - fuzz.pick(ARRAY['0', '1 millisecond', '100 milliseconds', '2 seconds']::interval[]);
	ELSIF r < 0.93 THEN
		t := now() + CASE WHEN far THEN fuzz.pick(ARRAY['100 years', '1000 years']::interval[])
						  ELSE fuzz.pick(ARRAY['1 minute', '1 hour', '3 days', '1000 years']::interval[]) END;
	ELSIF r < 1 - p_null THEN
		t := fuzz.pick(ARRAY['infinity', '-infinity', '4713-01-01 BC', '1970-01-01']::timestamptz[]);
	END IF;
	near := CASE WHEN far THEN interval '50 years' ELSE interval '30 seconds' END;
	IF t > clock_timestamp() AND t < clock_timestamp() + near THEN
		t := clock_timestamp();
	END IF;
	RETURN t;
END
$$;

CREATE FUNCTION fuzz.stock_bool(p_true float8, p_null float8) RETURNS boolean
	LANGUAGE sql VOLATILE
	AS $$ SELECT CASE WHEN r < p_null THEN NULL ELSE r < p_null + p_true END FROM (SELECT random() AS r) x $$;

-- a role for a call: mostly the superuser, now and then the store's login
CREATE FUNCTION fuzz.stock_role() RETURNS oid
	LANGUAGE sql VOLATILE
	AS $$ SELECT CASE WHEN random() < 0.15 THEN 'fuzz_store'::regrole::oid ELSE session_user::text::regrole::oid END $$;

-- add n random rows to the feed (as the superuser or the store's login)
CREATE FUNCTION fuzz.stock_feed_add(n int) RETURNS void
	LANGUAGE plpgsql
	AS $$
DECLARE
	d record;
	s o2o.stock;
	role oid;
	oh jsonb;
	sf jsonb;
	at timestamptz;
	q float8;
BEGIN
	FOR k IN 1..n LOOP
		d := fuzz.stock_dealer(0.04);
		SELECT * INTO s FROM o2o.stock x WHERE x.dealer_id = d.id ORDER BY random() LIMIT 1;
		q := random();
		IF s.sku IS NULL OR q < 0.1 THEN
			s.sku := CASE WHEN random() < 0.8 THEN (SELECT p.sku FROM o2o.product p ORDER BY random() LIMIT 1)
						  WHEN random() < 0.5 THEN 'nope' END;
		END IF;
		oh := CASE WHEN random() < 0.85 THEN to_jsonb(fuzz.stock_num(s)) ELSE fuzz.stock_badnum() END;
		sf := CASE WHEN random() < 0.8 THEN NULL WHEN random() < 0.7 THEN to_jsonb(fuzz.ri(0, 3)) ELSE fuzz.stock_badnum() END;
		at := fuzz.stock_time(d.id, 0, true);
		role := fuzz.stock_role();
		IF role <> session_user::text::regrole::oid THEN
			PERFORM set_config('role', 'fuzz_store', true);
		END IF;
		INSERT INTO o2o.stock_feed (dealer_id, sku, on_hand, safety, counted_at, source)
		VALUES (d.id, s.sku, CASE WHEN jsonb_typeof(oh) = 'number' THEN oh::text::numeric END,
				CASE WHEN jsonb_typeof(sf) = 'number' THEN sf::text::numeric END, at,
				fuzz.pick(ARRAY[NULL, 'nightly', 'pos', '']));
		PERFORM set_config('role', 'none', true);
	END LOOP;
END
$$;

------------------------------------------------------------------------
-- the oracle
------------------------------------------------------------------------

-- why a count cannot be applied, as the start of the README's reason, or NULL
CREATE FUNCTION fuzz.stock_reject(c o2o.stock_count, dup bigint) RETURNS text
	LANGUAGE sql STABLE
	AS $$
	SELECT CASE WHEN c.reject IS NOT NULL THEN c.reject
				WHEN c.dealer_id IS NULL THEN 'dealer_id is missing'
				WHEN NOT EXISTS (SELECT 1 FROM o2o.dealer d WHERE d.dealer_id = c.dealer_id) THEN 'unknown dealer'
				WHEN NOT fuzz.stock_may(c.fed_by, c.dealer_id) THEN 'permission denied'
				WHEN c.sku IS NULL THEN 'sku is missing'
				WHEN NOT EXISTS (SELECT 1 FROM o2o.product p WHERE p.sku = c.sku) THEN 'unknown SKU'
				WHEN c.on_hand IS NULL THEN 'on_hand is missing'
				WHEN c.on_hand <> trunc(c.on_hand) THEN 'is not an integer'
				WHEN c.on_hand < 0 THEN 'is negative'
				WHEN c.on_hand > 2147483647 THEN 'is too large'
				WHEN c.safety <> trunc(c.safety) OR c.safety < 0 OR c.safety > 2147483647 THEN 'is not a non-negative integer'
				WHEN c.counted_at IS NULL THEN 'counted_at is missing'
				WHEN c.counted_at > clock_timestamp() THEN 'is in the future'
				WHEN dup > 1 THEN 'more than once'
		   END
$$;

/*
 * What a count of an existing row, or of a row the store has not had,
 * does, from the state before: stale, applied, unchanged, or applied
 * below the reservations (the holds and assignments released, newest
 * first, until the count covers the rest).
 */
CREATE FUNCTION fuzz.stock_expect_row(c o2o.stock_count) RETURNS fuzz.sexp
	LANGUAGE plpgsql
	AS $$
DECLARE
	s o2o.stock;
	y o2o.dealer_sync;
	e fuzz.sexp := ROW(c.item, c.dealer_id, c.sku, NULL, NULL, NULL, NULL, NULL, NULL, '{}');
	target bigint;
	need bigint;
	x record;
BEGIN
	SELECT * INTO s FROM o2o.stock z WHERE z.dealer_id = c.dealer_id AND z.sku = c.sku;
	SELECT * INTO y FROM o2o.dealer_sync z WHERE z.dealer_id = c.dealer_id;
	IF s.sku IS NULL THEN
		IF y.full_counted_at > c.counted_at THEN
			e.outcome := 'stale'; e.why := 'later full count';
		ELSE
			e.outcome := 'applied'; e.on_hand := c.on_hand; e.reserved := 0; e.safety := coalesce(c.safety, 0);
			e.consumed := 0;
		END IF;
		RETURN e;
	END IF;
	e.reserved := s.reserved; e.safety := s.safety; e.on_hand := s.on_hand;
	e.consumed := coalesce((SELECT -sum(l.d_on_hand) FROM o2o.stock_ledger l
							 WHERE l.dealer_id = c.dealer_id AND l.sku = c.sku AND l.kind = 'consume' AND l.at > c.counted_at), 0);
	IF greatest(s.counted_at, y.full_counted_at) > c.counted_at THEN
		e.outcome := 'stale'; e.why := 'was applied already';
		RETURN e;
	END IF;
	target := greatest(c.on_hand - e.consumed, 0);
	e.safety := coalesce(c.safety, s.safety);
	IF target < s.reserved THEN
		need := s.reserved - target;
		FOR x IN SELECT h.qty FROM o2o.hold h WHERE h.dealer_id = c.dealer_id AND h.sku = c.sku AND h.state = 'held'
				  ORDER BY h.created_at DESC, h.hold_id DESC LOOP
			EXIT WHEN need <= 0;
			need := need - x.qty;
			e.reserved := e.reserved - x.qty;
		END LOOP;
		FOR x IN SELECT a.order_id, a.qty FROM o2o.assignment a JOIN o2o.orders o ON o.order_id = a.order_id
				  WHERE a.dealer_id = c.dealer_id AND o.sku = c.sku AND a.state = 'active' AND o.status = 'assigned'
				  ORDER BY a.created_at DESC, a.assignment_id DESC LOOP
			EXIT WHEN need <= 0;
			need := need - x.qty;
			e.reserved := e.reserved - x.qty;
			e.released := e.released || x.order_id;
		END LOOP;
		e.outcome := 'applied'; e.on_hand := greatest(target, e.reserved);
	ELSIF target = s.on_hand AND (c.safety IS NULL OR c.safety = s.safety) THEN
		e.outcome := 'unchanged';
	ELSE
		e.outcome := 'applied'; e.on_hand := target;
	END IF;
	RETURN e;
END
$$;

/*
 * The outcome of every count of a batch (one store's call, or the feed rows
 * of some stores) and, for the stores counted in full (fulls: one count per
 * store, its time), of every row of theirs not listed -- from the state
 * before the call.  Stores do not interact.
 */
CREATE FUNCTION fuzz.stock_expect(cs o2o.stock_count[], fulls o2o.stock_count[]) RETURNS fuzz.sexp[]
	LANGUAGE plpgsql
	AS $$
DECLARE
	res fuzz.sexp[] := '{}';
	c o2o.stock_count;
	f o2o.stock_count;
	sku text;
	bad text;
	latest timestamptz;
BEGIN
	-- the checks
	cs := ARRAY(SELECT ROW(x.item, x.dealer_id, x.sku, x.on_hand, x.safety, x.counted_at, x.source, x.fed_by,
						   fuzz.stock_reject(x, count(*) OVER (PARTITION BY x.dealer_id, x.sku, x.counted_at)))::o2o.stock_count
				  FROM unnest(cs) x ORDER BY x.item);
	FOREACH c IN ARRAY cs LOOP
		IF c.reject IS NOT NULL THEN
			res := res || ROW(c.item, c.dealer_id, c.sku, 'rejected', c.reject, NULL, NULL, NULL, NULL, NULL)::fuzz.sexp;
			CONTINUE;
		END IF;
		latest := (SELECT max(x.counted_at) FROM unnest(cs) x WHERE x.reject IS NULL AND x.dealer_id = c.dealer_id AND x.sku = c.sku);
		IF c.counted_at < latest THEN
			res := res || ROW(c.item, c.dealer_id, c.sku, 'stale', 'in the same batch', NULL, NULL, NULL, NULL, '{}')::fuzz.sexp;
		ELSE
			res := res || fuzz.stock_expect_row(c);
		END IF;
	END LOOP;
	-- full counts: every row not listed is 0 as of the store's count
	FOREACH f IN ARRAY fulls LOOP
		CONTINUE WHEN f.dealer_id IS NULL OR NOT fuzz.stock_may(f.fed_by, f.dealer_id) OR f.counted_at > clock_timestamp();
		FOR sku IN SELECT s.sku FROM o2o.stock s WHERE s.dealer_id = f.dealer_id
					AND NOT EXISTS (SELECT 1 FROM unnest(cs) x WHERE x.dealer_id = s.dealer_id AND x.sku = s.sku)
					ORDER BY s.sku LOOP
			res := res || fuzz.stock_expect_row(ROW(NULL, f.dealer_id, sku, 0, NULL, f.counted_at, f.source, f.fed_by,
													NULL)::o2o.stock_count);
		END LOOP;
	END LOOP;
	RETURN res;
END
$$;

-- the key of an outcome: the item, or the store and SKU of a row zeroed by a full count
CREATE FUNCTION fuzz.stock_key(e fuzz.sexp) RETURNS text
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT coalesce(e.item::text, format('zero %s/%s', e.dealer_id, e.sku)) $$;

-- what differs between the outcomes expected and those returned, or NULL
CREATE FUNCTION fuzz.stock_diff(exp fuzz.sexp[], got fuzz.sexp[]) RETURNS text
	LANGUAGE sql STABLE
	AS $$
	SELECT string_agg(format('%s: expected %s, got %s', coalesce(x.k, y.k),
							 CASE WHEN x.k IS NULL THEN 'no row'
								  ELSE format('%s (%s) on_hand %s consumed %s released %s', x.outcome, x.why, x.on_hand,
											  x.consumed, x.released) END,
							 CASE WHEN y.k IS NULL THEN 'no row'
								  ELSE format('%s (%s) on_hand %s consumed %s released %s', y.outcome, y.why, y.on_hand,
											  y.consumed, y.released) END), '; ')
	  FROM (SELECT e.*, fuzz.stock_key(e) AS k FROM unnest(exp) e) x
	  FULL JOIN (SELECT g.*, fuzz.stock_key(g) AS k FROM unnest(got) g) y ON y.k = x.k
	 WHERE x.k IS NULL OR y.k IS NULL
		OR y.outcome IS DISTINCT FROM x.outcome
		OR x.why IS NOT NULL AND position(x.why IN coalesce(y.why, '')) = 0
		OR x.outcome IN ('applied', 'unchanged') AND y.on_hand IS DISTINCT FROM x.on_hand
		OR x.outcome IN ('applied', 'unchanged') AND y.consumed IS DISTINCT FROM x.consumed
		OR x.outcome = 'stale' AND x.why <> 'in the same batch' AND y.on_hand IS DISTINCT FROM x.on_hand
		OR ARRAY(SELECT unnest(y.released) ORDER BY 1) IS DISTINCT FROM ARRAY(SELECT unnest(x.released) ORDER BY 1)
$$;

/*
 * After a call that succeeded: the stock rows are what the outcomes say,
 * and every order released is pending with the shortfall's reason.
 */
CREATE FUNCTION fuzz.stock_after(exp fuzz.sexp[]) RETURNS text
	LANGUAGE sql STABLE
	AS $$
	SELECT string_agg(w, '; ') FROM (
		SELECT format('stock (%s, %s) is %s/%s/%s (on_hand/reserved/safety), expected %s/%s/%s after %s', e.dealer_id, e.sku,
					  s.on_hand, s.reserved, s.safety, e.on_hand, e.reserved, e.safety, e.outcome) AS w
		  FROM unnest(exp) e LEFT JOIN o2o.stock s ON s.dealer_id = e.dealer_id AND s.sku = e.sku
		 WHERE e.outcome IN ('applied', 'unchanged')
		   AND (s.on_hand, s.reserved, s.safety) IS DISTINCT FROM (e.on_hand, e.reserved, e.safety)
		UNION ALL
		SELECT format('order %s released but %s (%s)', o.order_id, o.status, o.status_reason)
		  FROM unnest(exp) e, unnest(e.released) r JOIN o2o.orders o ON o.order_id = r
		 WHERE o.status <> 'pending' OR o.status_reason IS DISTINCT FROM format('stock shortfall at dealer %s', e.dealer_id)) v
$$;

-- what a failed call must not have changed: the stores' stock, the ledger
-- (every change of on_hand and reserved: holds and assignments released
-- too), the syncs, the feed
CREATE FUNCTION fuzz.stock_fp(dealers int[]) RETURNS text
	LANGUAGE sql STABLE
	AS $$
	SELECT format('ledger %s, stock %s, synced %s, feed %s/%s',
				  (SELECT max(entry_id) FROM o2o.stock_ledger),
				  (SELECT md5(string_agg(s::text, ',' ORDER BY s.dealer_id, s.sku)) FROM o2o.stock s WHERE s.dealer_id = ANY (dealers)),
				  (SELECT max(synced_at) FROM o2o.dealer_sync),
				  (SELECT count(*) FROM o2o.stock_feed WHERE outcome IS NULL), (SELECT max(feed_id) FROM o2o.stock_feed))
$$;

-- keep the world moving: orders assigned and completed (units consumed), holds taken
CREATE FUNCTION fuzz.stock_replenish() RETURNS void
	LANGUAGE plpgsql
	AS $$
DECLARE
	o record;
BEGIN
	IF random() < 0.1 THEN
		PERFORM o2o_assign_pending(fuzz.ri(1, 4)::int);
	END IF;
	IF random() < 0.08 THEN
		SELECT a.order_id INTO o FROM o2o.assignment a
		 WHERE a.state = 'active' AND a.assignment_id >= fuzz.ri(1, (SELECT max(assignment_id) FROM o2o.assignment))
		 ORDER BY a.assignment_id LIMIT 1;
		IF o.order_id IS NOT NULL THEN
			BEGIN
				PERFORM o2o_complete(o.order_id);
			EXCEPTION WHEN SQLSTATE 'O2006' OR SQLSTATE 'O2010' THEN
				NULL;
			END;
		END IF;
	END IF;
	IF random() < 0.06 THEN
		SELECT x.sku, x.location INTO o FROM o2o.orders x
		 WHERE x.order_id >= fuzz.ri(1, (SELECT max(order_id) FROM o2o.orders)) ORDER BY x.order_id LIMIT 1;
		PERFORM o2o_hold(o.sku, o.location, fuzz.ri(1, 2)::int, '1 hour');
	END IF;
	IF (SELECT count(*) FROM (SELECT 1 FROM o2o.stock_feed LIMIT 3000) x) >= 3000 THEN
		-- applied rows are the record of what stores sent; keep the feed small
		UPDATE o2o.stock_feed SET outcome = 'rejected', reason = 'fuzz: dropped' WHERE outcome IS NULL;
		DELETE FROM o2o.stock_feed;
	END IF;
END
$$;

------------------------------------------------------------------------
-- the calls
------------------------------------------------------------------------

-- one call of o2o_stock_sync
CREATE FUNCTION fuzz.stock_sync(seed bigint, i bigint) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	d record := fuzz.stock_dealer(0.03);
	doc record := fuzz.stock_doc(d.id);
	at timestamptz := fuzz.stock_time(d.id, 0.02);
	src text := fuzz.pick(ARRAY[NULL, 'pos', 'erp-' || fuzz.ri(1, 9), '']);
	full_sync boolean := fuzz.stock_bool(0.25, 0.015);
	aon boolean := fuzz.stock_bool(0.2, 0.015);
	role oid := fuzz.stock_role();
	cs o2o.stock_count[];
	exp fuzz.sexp[];
	got fuzz.sexp[];
	errs text[];
	fp0 text;
	fp1 text;
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
BEGIN
	sql := format('%sSELECT * FROM o2o_stock_sync(%s, %L::jsonb, %L::timestamptz, %L, %s, %s) -- %s, %s',
				  CASE WHEN role <> session_user::text::regrole::oid THEN 'SET ROLE fuzz_store; ' ELSE '' END,
				  coalesce(d.id::text, 'NULL'), doc.doc, at, src, coalesce(full_sync::text, 'NULL'),
				  coalesce(aon::text, 'NULL'), d.kind, doc.kind);
	IF d.id IS NULL OR doc.doc IS NULL OR at IS NULL OR full_sync IS NULL OR aon IS NULL THEN
		errs := '{22004}';
	ELSIF jsonb_typeof(doc.doc) <> 'array' THEN
		errs := '{22023}';
	ELSIF NOT fuzz.stock_may(role, d.id) THEN
		errs := '{42501}';
	ELSE
		cs := ARRAY(SELECT ROW(e.k, d.id,
							   CASE WHEN jsonb_typeof(e.v -> 'sku') = 'string' THEN e.v ->> 'sku' END,
							   CASE WHEN jsonb_typeof(e.v -> 'on_hand') = 'number' THEN (e.v ->> 'on_hand')::numeric END,
							   CASE WHEN jsonb_typeof(e.v -> 'safety') = 'number' THEN (e.v ->> 'safety')::numeric END,
							   at, src, role,
							   CASE WHEN jsonb_typeof(e.v) <> 'object' THEN 'is a JSON'
									WHEN jsonb_typeof(e.v -> 'sku') NOT IN ('string', 'null') THEN 'sku is not a string'
									WHEN jsonb_typeof(e.v -> 'on_hand') NOT IN ('number', 'null') THEN 'is not a number'
									WHEN jsonb_typeof(e.v -> 'safety') NOT IN ('number', 'null') THEN 'is not a number'
							   END)::o2o.stock_count
					  FROM jsonb_array_elements(doc.doc) WITH ORDINALITY e (v, k));
		exp := fuzz.stock_expect(cs, CASE WHEN full_sync THEN ARRAY[ROW(NULL, d.id, NULL, NULL, NULL, at, src, role, NULL)::o2o.stock_count]
										  ELSE '{}' END);
		IF aon AND EXISTS (SELECT 1 FROM unnest(exp) e WHERE e.outcome = 'rejected') THEN
			errs := '{O2011}';
		END IF;
	END IF;
	fp0 := fuzz.stock_fp(ARRAY[d.id]);
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		IF role <> session_user::text::regrole::oid THEN
			PERFORM set_config('role', 'fuzz_store', true);
		END IF;
		got := ARRAY(SELECT ROW(x.item, d.id, x.sku, x.outcome, x.reason, x.on_hand, x.reserved, NULL, x.consumed_since,
								x.released_orders)::fuzz.sexp
					   FROM o2o_stock_sync(d.id, doc.doc, at, src, full_sync, aon) x);
		PERFORM set_config('role', 'none', true);
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	IF st IS NOT NULL THEN
		fp1 := fuzz.stock_fp(ARRAY[d.id]);
		IF fp1 <> fp0 THEN
			why := format('the call failed but changed the world: %s -> %s', fp0, fp1);
		END IF;
	ELSIF errs IS NULL THEN
		why := coalesce(fuzz.stock_diff(exp, got), fuzz.stock_after(exp));
	END IF;
	RETURN fuzz.judge(1, 'stock', ms, sql, errs IS NULL, errs, why IS NULL, 'the README''s outcome of each line',
					  coalesce(why, left(got::text, 300)), st, msg);
END
$$;

-- the feed rows not applied yet, as counts
CREATE FUNCTION fuzz.stock_pending(dealers int[]) RETURNS o2o.stock_count[]
	LANGUAGE sql STABLE
	AS $$
	SELECT coalesce(array_agg(ROW(f.feed_id, f.dealer_id, f.sku, f.on_hand, f.safety, f.counted_at, f.source, f.fed_by,
								  NULL)::o2o.stock_count ORDER BY f.feed_id), '{}')
	  FROM o2o.stock_feed f
	 WHERE f.outcome IS NULL AND (dealers IS NULL OR f.dealer_id = ANY (dealers) OR f.dealer_id IS NULL)
$$;

-- the full counts of a feed batch: each store's latest count that is not from the future
CREATE FUNCTION fuzz.stock_feed_fulls(cs o2o.stock_count[]) RETURNS o2o.stock_count[]
	LANGUAGE sql STABLE
	AS $$
	SELECT coalesce(array_agg(ROW(NULL, g.dealer_id, NULL, NULL, NULL, g.counted_at, g.source, g.fed_by, NULL)::o2o.stock_count), '{}')
	  FROM (SELECT DISTINCT ON (x.dealer_id) x.dealer_id, x.counted_at, x.source, x.fed_by
			  FROM unnest(cs) x WHERE x.dealer_id IS NOT NULL AND x.counted_at <= clock_timestamp()
			 ORDER BY x.dealer_id, x.counted_at DESC, x.item DESC) g
$$;

-- one call of o2o_stock_apply_feed, after a few rows were fed
CREATE FUNCTION fuzz.stock_apply_feed(seed bigint, i bigint) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	full_sync boolean := fuzz.stock_bool(0.2, 0.02);
	aon boolean := fuzz.stock_bool(0.15, 0.02);
	maxd int;
	dealers int[];
	cs o2o.stock_count[];
	exp fuzz.sexp[];
	got fuzz.sexp[];
	errs text[];
	fp0 text;
	fp1 text;
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
BEGIN
	PERFORM fuzz.stock_feed_add(fuzz.ri(0, 6)::int);
	maxd := CASE WHEN random() < 0.85 THEN fuzz.ri(1, 6)::int
				 ELSE fuzz.pick(ARRAY[NULL, 0, -1, -2147483648, 2147483647]) END;
	dealers := ARRAY(SELECT DISTINCT f.dealer_id FROM o2o.stock_feed f WHERE f.outcome IS NULL AND f.dealer_id IS NOT NULL
					  ORDER BY f.dealer_id LIMIT CASE WHEN maxd IS NOT NULL THEN greatest(maxd, 0) END);
	sql := format('SELECT * FROM o2o_stock_apply_feed(%s, %s, %s) -- stores %s', coalesce(full_sync::text, 'NULL'),
				  coalesce(aon::text, 'NULL'), coalesce(maxd::text, 'NULL'), dealers);
	IF full_sync IS NULL OR aon IS NULL OR maxd < 1 THEN
		errs := '{22023}';
	ELSE
		cs := fuzz.stock_pending(dealers);
		exp := fuzz.stock_expect(cs, CASE WHEN full_sync THEN fuzz.stock_feed_fulls(cs) ELSE '{}' END);
		IF aon AND EXISTS (SELECT 1 FROM unnest(exp) e WHERE e.outcome = 'rejected') THEN
			errs := '{O2011}';
		END IF;
	END IF;
	fp0 := fuzz.stock_fp(dealers);
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		got := ARRAY(SELECT ROW(x.feed_id, x.dealer_id, x.sku, x.outcome, x.reason, x.on_hand, x.reserved, NULL,
								x.consumed_since, x.released_orders)::fuzz.sexp
					   FROM o2o_stock_apply_feed(full_sync, aon, maxd) x);
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	IF st IS NOT NULL THEN
		fp1 := fuzz.stock_fp(dealers);
		IF fp1 <> fp0 THEN
			why := format('the call failed but changed the world: %s -> %s', fp0, fp1);
		END IF;
	ELSIF errs IS NULL THEN
		why := coalesce(fuzz.stock_diff(exp, got), fuzz.stock_after(exp));
		IF why IS NULL THEN
			-- the outcomes are in the feed rows; the other stores' rows wait
			SELECT string_agg(format('feed row %s: %s, expected %s', f.feed_id, f.outcome, e.outcome), '; ') INTO why
			  FROM o2o.stock_feed f LEFT JOIN unnest(exp) e ON e.item = f.feed_id
			 WHERE f.feed_id IN (SELECT x.item FROM unnest(cs) x)
			   AND (f.outcome IS DISTINCT FROM e.outcome OR f.applied_at IS NULL
					OR f.on_hand_after IS DISTINCT FROM (SELECT g.on_hand FROM unnest(got) g WHERE g.item = f.feed_id))
				OR f.outcome IS NOT NULL AND f.applied_at >= t0 AND f.feed_id NOT IN (SELECT x.item FROM unnest(cs) x);
		END IF;
	END IF;
	RETURN fuzz.judge(2, 'stock', ms, sql, errs IS NULL, errs, why IS NULL, 'the README''s outcome of each feed row',
					  coalesce(why, left(got::text, 300)), st, msg);
END
$$;

-- one call of o2o_stock_check_feed: O2011 exactly when a pending row is bad
CREATE FUNCTION fuzz.stock_check_feed(seed bigint, i bigint) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	bad bigint;
	fp0 text;
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
BEGIN
	PERFORM fuzz.stock_feed_add(fuzz.ri(0, 3)::int);
	IF random() < 0.3 THEN
		-- a feed with only good rows now and then: the bad ones applied (rejected) first
		PERFORM o2o_stock_apply_feed();
		PERFORM fuzz.stock_feed_add(fuzz.ri(0, 2)::int);
	END IF;
	bad := (SELECT min(x.item) FROM unnest(fuzz.stock_pending(NULL)) x
			 WHERE fuzz.stock_reject(x, (SELECT count(*) FROM o2o.stock_feed f WHERE f.outcome IS NULL AND f.dealer_id = x.dealer_id
										  AND f.sku = x.sku AND f.counted_at = x.counted_at)) IS NOT NULL);
	sql := format('SELECT o2o_stock_check_feed() -- first bad row %s', bad);
	fp0 := fuzz.stock_fp('{}');
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		PERFORM o2o_stock_check_feed();
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	IF fuzz.stock_fp('{}') <> fp0 THEN
		why := 'o2o_stock_check_feed changed the world';
	END IF;
	RETURN fuzz.judge(3, 'stock', ms, sql, bad IS NULL, CASE WHEN bad IS NOT NULL THEN '{O2011}'::text[] END,
					  why IS NULL, 'O2011 iff a pending row is bad', coalesce(why, 'ok'), st, msg);
END
$$;

-- one call of o2o_stock_rollup, against GROUPING SETS written out in plain SQL
CREATE FUNCTION fuzz.stock_rollup(seed bigint, i bigint) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	v_sku text := CASE WHEN random() < 0.88 THEN (SELECT p.sku FROM o2o.product p ORDER BY random() LIMIT 1)
					   WHEN random() < 0.8 THEN fuzz.pick(ARRAY['nope', '', 'ac-001', ' AC-001', repeat('Z', 300), '%'])
				  END;
	got text[];
	want text[];
	sql text := format('SELECT * FROM o2o_stock_rollup(%L)', v_sku);
	known boolean := EXISTS (SELECT 1 FROM o2o.product p WHERE p.sku = v_sku);
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
BEGIN
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		got := ARRAY(SELECT ROW(x.*)::text FROM o2o_stock_rollup(v_sku) x);
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	IF st IS NULL THEN
		WITH a AS (SELECT g.region_id, g.province, g.city, g.county, s.dealer_id, s.on_hand - s.reserved - s.safety AS units
					 FROM o2o.stock s JOIN o2o.dealer d ON d.dealer_id = s.dealer_id AND d.active
					 JOIN o2o.grid g ON g.grid_id = d.grid_id
					WHERE s.sku = v_sku AND s.on_hand - s.reserved - s.safety > 0)
		SELECT array_agg(r ORDER BY r) INTO want FROM (
			SELECT ROW('province', region_id, province, NULL::text, NULL::text, count(DISTINCT dealer_id), sum(units)::bigint)::text
			  FROM a GROUP BY region_id, province
			UNION ALL
			SELECT ROW('city', region_id, province, city, NULL::text, count(DISTINCT dealer_id), sum(units)::bigint)::text
			  FROM a GROUP BY region_id, province, city
			UNION ALL
			SELECT ROW('county', region_id, province, city, county, count(DISTINCT dealer_id), sum(units)::bigint)::text
			  FROM a GROUP BY region_id, province, city, county) x (r);
		IF v_sku IS NULL THEN
			why := CASE WHEN cardinality(got) > 0 THEN 'rows for a NULL SKU' END;
		ELSIF coalesce(want, '{}') IS DISTINCT FROM ARRAY(SELECT r FROM unnest(got) r ORDER BY r) THEN
			why := format('%s rows, expected %s', cardinality(got), coalesce(cardinality(want), 0));
		END IF;
	END IF;
	RETURN fuzz.judge(4, 'stock', ms, sql, v_sku IS NULL OR known, CASE WHEN v_sku IS NOT NULL AND NOT known THEN '{O2003}'::text[] END,
					  why IS NULL, left(coalesce(want::text, '{}'), 300), coalesce(why, left(got::text, 300)), st, msg);
END
$$;

-- one call of o2o_cache_status or o2o_grid_index_stats: never an error, counts that agree
CREATE FUNCTION fuzz.stock_caches(seed bigint, i bigint, e int) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	info fuzz.stock_info := (SELECT x FROM fuzz.stock_info x);
	rows text[];
	gs record;
	sql text := CASE e WHEN 5 THEN 'SELECT * FROM o2o_cache_status()' ELSE 'SELECT * FROM o2o_grid_index_stats()' END;
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
BEGIN
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		IF e = 5 THEN
			rows := ARRAY(SELECT ROW(x.*)::text FROM o2o_cache_status() x ORDER BY x.cache);
			SELECT string_agg(format('%s: %s', x.cache, x), '; ') INTO why
			  FROM o2o_cache_status() x
			 WHERE x.mode NOT IN ('shared', 'own') OR x.preloaded IS DISTINCT FROM info.preloaded
				OR (x.mode = 'shared') IS DISTINCT FROM info.preloaded
				OR x.mode = 'own' AND x.version IS NOT NULL
				OR x.mode = 'shared' AND (x.version IS NULL) <> (x.bytes IS NULL)
				OR x.version <= 0 OR x.bytes <= 0 OR x.builds < 0 OR x.last_build_ms < 0
				OR (x.builds = 0) <> (x.last_build_ms IS NULL)
				OR x.attached IS NOT NULL AND (x.mode <> 'shared' OR x.attached < 1);
			IF why IS NULL AND (SELECT array_agg(x.cache ORDER BY x.cache) FROM o2o_cache_status() x)
								IS DISTINCT FROM '{"dealer cache","grid index"}'::text[] THEN
				why := format('caches %s', rows);
			END IF;
		ELSE
			SELECT * INTO gs FROM o2o_grid_index_stats();
			IF (gs.grids, gs.vertices, gs.vertex_bytes) IS DISTINCT FROM (info.grids, info.vertices, 16 * info.vertices)
			   OR gs.edges < 1 OR gs.edges > gs.vertices - info.rings OR gs.cells < 1
			   OR gs.edge_refs < gs.edges OR gs.index_bytes <= 0 OR gs.build_ms < 0 THEN
				why := format('%s; o2o.grid has %s grids, %s vertices', gs, info.grids, info.vertices);
			END IF;
		END IF;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	RETURN fuzz.judge(e, 'stock', ms, sql, true, NULL, why IS NULL, 'counts that agree with the catalog',
					  coalesce(why, 'ok'), st, msg);
END
$$;

/*
 * The triggers of the stock tables: a direct write of o2o.stock is entered
 * in the ledger as an adjustment of exactly its change (or refused by a
 * rule of the model, with no entry); the ledger refuses UPDATE and DELETE
 * (O2002); a feed row is stamped with its role and no outcome.
 */
CREATE FUNCTION fuzz.stock_dml(seed bigint, i bigint) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	kind text := CASE WHEN random() < 0.01 THEN 'truncate'
					  ELSE fuzz.pick(ARRAY['on_hand', 'on_hand', 'safety', 'insert', 'delete', 'ledger', 'feed']) END;
	s o2o.stock;
	s1 o2o.stock;
	e0 bigint := (SELECT coalesce(max(entry_id), 0) FROM o2o.stock_ledger);
	n bigint;
	v bigint;
	l o2o.stock_ledger;
	fid bigint;
	f o2o.stock_feed;
	role oid := fuzz.stock_role();
	errs text[];
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	why text;
BEGIN
	SELECT * INTO s FROM o2o.stock x
	 WHERE x.dealer_id >= fuzz.ri(1, (SELECT max(dealer_id) FROM o2o.dealer)) ORDER BY x.dealer_id, x.sku LIMIT 1;
	IF s.dealer_id IS NULL THEN
		SELECT * INTO s FROM o2o.stock x ORDER BY x.dealer_id, x.sku LIMIT 1;
	END IF;
	IF kind = 'delete' THEN
		-- a row nothing reserves (a row with reservations is not deleted here: the invariants hold them)
		SELECT * INTO s1 FROM o2o.stock x WHERE x.dealer_id = s.dealer_id AND x.reserved = 0 ORDER BY random() LIMIT 1;
		IF s1.dealer_id IS NULL THEN
			kind := 'safety';
		ELSE
			s := s1;
			s1 := NULL;
		END IF;
	END IF;
	CASE kind
		WHEN 'on_hand' THEN
			v := CASE WHEN random() < 0.6 THEN s.on_hand + fuzz.ri(-3, 5) WHEN random() < 0.5 THEN s.reserved - fuzz.ri(0, 1)
					  ELSE fuzz.pick(ARRAY[-1, 0, 2147483647]) END;
			sql := format('UPDATE o2o.stock SET on_hand = %s WHERE dealer_id = %s AND sku = %L', v, s.dealer_id, s.sku);
			IF v < 0 OR v < s.reserved THEN
				errs := '{23514}';
			END IF;
		WHEN 'safety' THEN
			v := fuzz.pick(ARRAY[-1, 0, 1, 3, s.on_hand, 2147483647]);
			sql := format('UPDATE o2o.stock SET safety = %s WHERE dealer_id = %s AND sku = %L', v, s.dealer_id, s.sku);
			IF v < 0 THEN
				errs := '{23514}';
			END IF;
		WHEN 'insert' THEN
			SELECT p.sku INTO s1.sku FROM o2o.product p WHERE NOT EXISTS (SELECT 1 FROM o2o.stock x WHERE x.dealer_id = s.dealer_id AND x.sku = p.sku)
			 ORDER BY random() LIMIT 1;
			v := fuzz.pick(ARRAY[-1, 0, 1, 7]);
			sql := format('INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (%s, %L, %s)', s.dealer_id,
						  coalesce(s1.sku, s.sku), v);
			IF v < 0 THEN
				errs := '{23514}';
			ELSIF s1.sku IS NULL THEN
				errs := '{23505}';
			END IF;
		WHEN 'delete' THEN
			sql := format('DELETE FROM o2o.stock WHERE dealer_id = %s AND sku = %L', s.dealer_id, s.sku);
		WHEN 'ledger' THEN
			n := fuzz.ri(1, greatest(e0, 1) + 2);
			v := fuzz.ri(1, 3);
			sql := (ARRAY[format('UPDATE o2o.stock_ledger SET d_on_hand = d_on_hand + 1 WHERE entry_id = %s', n),
						  format('DELETE FROM o2o.stock_ledger WHERE entry_id = %s', n),
						  format('UPDATE o2o.stock_ledger SET reason = %L WHERE entry_id >= %s', 'x', n)])[v];
			errs := CASE WHEN EXISTS (SELECT 1 FROM o2o.stock_ledger x WHERE CASE WHEN v = 3 THEN x.entry_id >= n ELSE x.entry_id = n END)
						 THEN '{O2002}'::text[] END;
		WHEN 'feed' THEN
			sql := format('INSERT INTO o2o.stock_feed (dealer_id, sku, on_hand, fed_by, outcome, reason, applied_at) VALUES (%s, %L, %s, %L, %L, %L, %L) RETURNING feed_id',
						  s.dealer_id, s.sku, fuzz.ri(0, 5), fuzz.pick(ARRAY['postgres', 'fuzz_store', 'pg_monitor']),
						  fuzz.pick(ARRAY[NULL, 'applied', 'stale', 'rejected', 'unchanged']), 'forged', now());
			IF role <> session_user::text::regrole::oid THEN
				sql := 'SET ROLE fuzz_store; ' || sql;
			END IF;
		ELSE
			-- TRUNCATE enters every row's balance as taken out; rolled back after the look
			sql := 'TRUNCATE o2o.stock CASCADE; -- then rolled back';
	END CASE;
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		IF kind = 'feed' THEN
			IF role <> session_user::text::regrole::oid THEN
				PERFORM set_config('role', 'fuzz_store', true);
			END IF;
			EXECUTE replace(sql, 'SET ROLE fuzz_store; ', '') INTO fid;
			PERFORM set_config('role', 'none', true);
		ELSIF kind = 'truncate' THEN
			BEGIN
				n := (SELECT count(*) FROM o2o.stock WHERE on_hand <> 0 OR reserved <> 0);
				TRUNCATE o2o.stock CASCADE;
				SELECT string_agg(format('(%s, %s) sums to %s/%s', x.dealer_id, x.sku, x.o, x.r), '; ') INTO why
				  FROM (SELECT z.dealer_id, z.sku, sum(z.d_on_hand) AS o, sum(z.d_reserved) AS r
						  FROM o2o.stock_ledger z GROUP BY 1, 2 HAVING sum(z.d_on_hand) <> 0 OR sum(z.d_reserved) <> 0) x;
				IF why IS NULL AND (SELECT count(*) FROM o2o.stock_ledger x WHERE x.entry_id > e0) <> n THEN
					why := format('%s entries for %s rows', (SELECT count(*) FROM o2o.stock_ledger x WHERE x.entry_id > e0), n);
				END IF;
				RAISE SQLSTATE 'FZ002';
			EXCEPTION WHEN SQLSTATE 'FZ002' THEN
				NULL;
			END;
		ELSE
			EXECUTE sql;
		END IF;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	n := (SELECT count(*) FROM o2o.stock_ledger x WHERE x.entry_id > e0);
	IF why IS NOT NULL THEN
		why := 'after TRUNCATE the ledger does not sum to zero: ' || why;
	ELSIF st IS NOT NULL OR kind IN ('ledger', 'truncate') THEN
		IF n > 0 THEN
			why := format('%s ledger entries, but nothing changed', n);
		END IF;
	ELSIF kind IN ('on_hand', 'insert', 'delete') THEN
		SELECT * INTO s1 FROM o2o.stock x WHERE x.dealer_id = s.dealer_id AND x.sku = coalesce(s1.sku, s.sku);
		SELECT * INTO l FROM o2o.stock_ledger x WHERE x.entry_id > e0 ORDER BY x.entry_id LIMIT 1;
		IF kind = 'insert' THEN
			s.on_hand := 0; s.reserved := 0;
		END IF;
		IF n <> (coalesce(s1.on_hand, 0) <> coalesce(s.on_hand, 0))::int
		   OR n = 1 AND (l.kind <> 'adjust' OR l.d_on_hand <> coalesce(s1.on_hand, 0) - s.on_hand OR l.d_reserved <> 0
						 OR l.on_hand <> coalesce(s1.on_hand, 0) OR l.reserved <> coalesce(s1.reserved, 0)
						 OR l.reason NOT LIKE 'row % directly' OR l.actor <> session_user) THEN
			why := format('%s -> %s: %s entries, the first %s', s.on_hand, s1.on_hand, n, l);
		END IF;
	ELSIF kind = 'safety' AND n > 0 THEN
		why := 'a change of safety entered in the ledger';
	ELSIF kind = 'feed' THEN
		SELECT * INTO f FROM o2o.stock_feed x WHERE x.feed_id = fid;
		IF f.fed_by::oid <> role OR f.outcome IS NOT NULL OR f.reason IS NOT NULL OR f.applied_at IS NOT NULL THEN
			why := format('the feed row is fed by %s, outcome %s, reason %s, applied at %s', f.fed_by, f.outcome, f.reason, f.applied_at);
		END IF;
	END IF;
	RETURN fuzz.judge(7, 'stock', ms, sql, errs IS NULL, errs, why IS NULL, 'the ledger entry of the change',
					  coalesce(why, 'ok'), st, msg);
END
$$;

CREATE FUNCTION fuzz.stock_step(seed bigint, i bigint, e int) RETURNS fuzz.out[]
	LANGUAGE plpgsql
	AS $$
BEGIN
	PERFORM fuzz.stock_replenish();
	RETURN ARRAY[CASE e WHEN 1 THEN fuzz.stock_sync(seed, i)
						WHEN 2 THEN fuzz.stock_apply_feed(seed, i)
						WHEN 3 THEN fuzz.stock_check_feed(seed, i)
						WHEN 4 THEN fuzz.stock_rollup(seed, i)
						WHEN 7 THEN fuzz.stock_dml(seed, i)
						ELSE fuzz.stock_caches(seed, i, e) END];
END
$$;

-- after each statement: o2o.invariant_violations is empty
CREATE FUNCTION fuzz.stock_end(seed bigint, i bigint) RETURNS void
	LANGUAGE sql
	AS $$ SELECT fuzz.invariants_hold('stock', 9, seed, i) $$;

------------------------------------------------------------------------
-- o2o_stock_apply, called by fuzz.sh at the top level of psql
------------------------------------------------------------------------

/*
 * Before call k of the procedure: feed a few rows, draw its arguments, and
 * record what it must do.  Returns the arguments as SQL for psql (\gset)
 * and the statements around the CALL (BEGIN / ROLLBACK, or nothing).
 */
CREATE FUNCTION fuzz.stock_proc_before(seed bigint, OUT call bigint, OUT full_sync text, OUT aon text, OUT dpc text,
									   OUT pre text, OUT post text, OUT sql text)
	LANGUAGE plpgsql
	AS $$
DECLARE
	k int := (SELECT t.calls + 1 FROM fuzz.tally t WHERE t.family = 'stock' AND t.entry_no = 8);
	fs boolean;
	ao boolean;
	n int;
	atomic boolean;
	cs o2o.stock_count[];
	exp fuzz.sexp[];
BEGIN
	call := k;
	PERFORM fuzz.seed_call(seed, 'stock procedure', k);
	PERFORM fuzz.stock_replenish();
	PERFORM fuzz.stock_feed_add(fuzz.ri(0, 12)::int);
	fs := fuzz.stock_bool(0.2, 0.02);
	ao := fuzz.stock_bool(0.2, 0.03);
	n := CASE WHEN random() < 0.85 THEN fuzz.ri(1, 4)::int ELSE fuzz.pick(ARRAY[NULL, 0, -1, 100, 2147483647]) END;
	atomic := random() < 0.05;
	cs := fuzz.stock_pending(NULL);
	exp := fuzz.stock_expect(cs, CASE WHEN fs THEN fuzz.stock_feed_fulls(cs) ELSE '{}' END);
	full_sync := coalesce(fs::text, 'NULL');
	aon := coalesce(ao::text, 'NULL');
	dpc := coalesce(n::text, 'NULL');
	pre := CASE WHEN atomic THEN 'BEGIN;' ELSE '' END;
	post := CASE WHEN atomic THEN 'ROLLBACK;' ELSE '' END;
	sql := format('%sCALL o2o_stock_apply(%s, %s, %s);%s -- %s pending rows', CASE WHEN atomic THEN 'BEGIN; ' ELSE '' END,
				  full_sync, aon, dpc, CASE WHEN atomic THEN ' ROLLBACK;' ELSE '' END, cardinality(cs));
	DELETE FROM fuzz.stock_proc;
	INSERT INTO fuzz.stock_proc VALUES (k, call, sql, fs, ao, n, atomic, ARRAY(SELECT x.item FROM unnest(cs) x), exp,
										fuzz.stock_fp(ARRAY(SELECT DISTINCT x.dealer_id FROM unnest(cs) x)), clock_timestamp());
	PERFORM fuzz.trace(sql);
END
$$;

/*
 * After the CALL: its error (SQLSTATE, message; '' for none) and its
 * results ('' when it failed), judged and counted as entry 8.
 */
CREATE FUNCTION fuzz.stock_proc_after(seed bigint, state text, message text, r_applied text, r_unchanged text,
									  r_stale text, r_rejected text, r_released text) RETURNS void
	LANGUAGE plpgsql
	AS $$
DECLARE
	p fuzz.stock_proc := (SELECT x FROM fuzz.stock_proc x);
	ms float8 := extract(epoch FROM clock_timestamp() - p.t0) * 1000;
	st text := nullif(nullif(state, ''), '00000');
	bad boolean := EXISTS (SELECT 1 FROM unnest(p.exp) e WHERE e.outcome = 'rejected');
	errs text[];
	want text;
	got text;
	why text;
	o fuzz.out;
BEGIN
	IF p.aon AND bad THEN
		errs := '{O2011}';
	ELSIF p.full_sync IS NULL OR p.dpc < 1 THEN
		errs := '{22023}';
	ELSIF p.atomic AND cardinality(p.pending) > 0 THEN
		errs := '{2D000}';		-- COMMIT inside a transaction block
	END IF;
	IF st IS NOT NULL OR p.atomic THEN
		IF fuzz.stock_fp(ARRAY(SELECT DISTINCT e.dealer_id FROM unnest(p.exp) e)) <> p.fp THEN
			why := 'the call failed (or was rolled back) but changed the world';
		END IF;
	ELSE
		want := format('%s/%s/%s/%s/%s',
					   (SELECT count(*) FROM unnest(p.exp) e WHERE e.outcome = 'applied'),
					   (SELECT count(*) FROM unnest(p.exp) e WHERE e.outcome = 'unchanged'),
					   (SELECT count(*) FROM unnest(p.exp) e WHERE e.outcome = 'stale'),
					   (SELECT count(*) FROM unnest(p.exp) e WHERE e.outcome = 'rejected'),
					   (SELECT coalesce(sum(cardinality(e.released)), 0) FROM unnest(p.exp) e));
		got := format('%s/%s/%s/%s/%s', r_applied, r_unchanged, r_stale, r_rejected, r_released);
		IF got <> want THEN
			why := format('applied/unchanged/stale/rejected/released %s, expected %s', got, want);
		ELSE
			why := fuzz.stock_after(p.exp);
		END IF;
		IF why IS NULL THEN
			SELECT string_agg(format('feed row %s: %s, expected %s', f.feed_id, f.outcome, e.outcome), '; ') INTO why
			  FROM o2o.stock_feed f LEFT JOIN unnest(p.exp) e ON e.item = f.feed_id
			 WHERE f.feed_id = ANY (p.pending) AND f.outcome IS DISTINCT FROM e.outcome;
		END IF;
	END IF;
	o := fuzz.judge(8, 'stock', ms, p.sql, errs IS NULL, errs, why IS NULL, coalesce(want, 'success'),
					coalesce(why, got, ''), st, message);
	UPDATE fuzz.tally t SET calls = t.calls + 1, ok = t.ok + (o.outcome = 0)::int, documented = t.documented + (o.outcome = 1)::int,
		   failed = t.failed + (o.outcome = 2)::int, call_ms = t.call_ms + ms, max_ms = greatest(t.max_ms, ms)
	 WHERE t.family = 'stock' AND t.entry_no = 8;
	IF o.outcome = 2 THEN
		INSERT INTO fuzz.failure (family, seed, call, entry, kind, sql, expected, got, ms)
		VALUES ('stock', seed, p.call, 'o2o_stock_apply (CALL)', o.kind, o.sql, o.expected, o.got, ms);
	END IF;
END
$$;
