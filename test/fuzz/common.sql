/*
 * test/fuzz/common.sql -- the fuzz harness's frame (see test/fuzz/fuzz.sh):
 * the entry points and the SQLSTATEs the README documents for each, the
 * seeded random streams, the classification of one call's outcome, and the
 * loop that runs the calls of one family as one statement.
 *
 * Every call i of a family draws from its own stream, setseed(f(seed, i)),
 * so the arguments of a call depend only on the seed, the call number and
 * (for the families that write) the database state -- not on how the calls
 * were cut into batches.
 */
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS fuzz CASCADE;
CREATE SCHEMA fuzz;
RESET client_min_messages;

-- one outcome of one call, as the step functions report it
CREATE TYPE fuzz.out AS (
	entry		int,		-- fuzz.entry.entry_no
	outcome		int,		-- 0 success as the oracle says, 1 documented error, 2 failure
	ms			float8,		-- the call alone, clock_timestamp() around it
	kind		text,		-- for a failure: what went wrong
	sql			text,		-- the call, as SQL that reproduces it (with the state it needs)
	expected	text,
	got			text,
	n			int			-- calls this outcome stands for (NULL: 1)
);

/*
 * The entry points of each family and the SQLSTATEs the README documents for
 * them (its Functions and Errors tables).  A call that ends with any other
 * SQLSTATE fails the run.
 */
CREATE TABLE fuzz.entry (
	family		text NOT NULL,
	entry_no	int NOT NULL,
	name		text NOT NULL,
	documented	text[] NOT NULL,
	weight		int NOT NULL DEFAULT 1,		-- its share of the call numbers (see fuzz.run)
	PRIMARY KEY (family, entry_no),
	UNIQUE (family, name)
);
INSERT INTO fuzz.entry VALUES
	-- "not a point or empty (22023), SRID other than 4326 (22023), NaN or out-of-range lon/lat (22003)"
	('grid', 1, 'o2o_grid_of(geometry)', '{22023,22003}', 1024),
	('grid', 2, 'o2o_grid_of(lon, lat)', '{22003}', 1024),
	-- "... A negative, NaN or infinite distance is 22023."
	('grid', 3, 'o2o_grid_nearest', '{22023,22003}', 4),
	-- grid rows: invalid, empty or out-of-range geometry 23514, SRID or type 22023, keys 23505
	('grid', 4, 'o2o.grid DML + lookups', '{23514,22023,23505}', 1),
	('agg', 1, 'o2o_best', '{22023}', 1),
	('agg', 2, 'o2o_topk', '{22023}', 1),
	('agg', 3, 'o2o_fairness', '{22023}', 1),
	('price', 1, 'o2o_national_price', '{O2003}', 32),
	-- price periods: price <= 0 or valid_to <= valid_from 23514, overlap 23P01, keys 23505/23503
	('price', 2, 'o2o.national_price DML', '{23514,23P01,23505,23503}', 1),
	('life', 1, 'o2o_candidates', '{O2005,22023}', 1),
	('life', 2, 'o2o_assign', '{O2005,O2006}', 1),
	('life', 3, 'o2o_assign_pending', '{22023}', 1),
	('life', 4, 'o2o_decline', '{O2005,O2006,22004}', 1),
	('life', 5, 'o2o_cancel', '{O2005,O2006,22004}', 1),
	('life', 6, 'o2o_complete', '{O2005,O2006,22004,O2010}', 1),
	-- "out-of-range values are refused (22023)"; a misspelt setting 42602
	('life', 7, 'SET o2o_route.*', '{22023,42602}', 1),
	-- not a call: the invariants, checked after each statement (weight 0: never in the rotation)
	('life', 8, 'invariants, derived columns', '{}', 0),
	('dml', 1, 'o2o.dealer DML', '{23514,23505,23503,22023,O2001}', 1),
	('dml', 2, 'o2o.orders DML', '{23502,23514,23505,23503,22023,O2007,O2008,O2009}', 1),
	('dml', 3, 'o2o.stock DML', '{23514,23505,23503}', 1),
	('dml', 4, 'o2o.installer DML', '{23514,23505,23503}', 1),
	('dml', 5, 'o2o.installer_day DML', '{23514,23505,23503,O2004}', 1),
	('dml', 6, 'o2o.order_event DML', '{O2002,23503}', 1),
	('dml', 7, 'invariants, derived columns', '{}', 0),
	-- the storefront (README "Storefront"): unknown SKU O2003; qty < 1 22023; a location as for o2o_grid_of
	('promise', 1, 'o2o_promise', '{O2003,22023,22003}', 4),
	-- qtys of another length 22023; a NULL line 22004; a multi-dimensional array 2202E
	('promise', 2, 'o2o_promise_skus', '{O2003,22023,22003,22004,2202E}', 2),
	('promise', 3, 'o2o_promise_places', '{O2003,22023,22003,2202E}', 2),
	-- ttl not in (0, 1 day] 22023, now() + ttl out of range 22008
	('promise', 4, 'o2o_hold', '{O2003,22023,22003,22008}', 2),
	('promise', 5, 'o2o_release_hold', '{O2012}', 1),
	-- max < 0 22023
	('promise', 6, 'o2o_expire_holds', '{22023}', 1),
	-- an order unlike the hold it names, still held: O2012
	('promise', 7, 'o2o_assign (order with hold_id)', '{O2005,O2006,O2012}', 2),
	('promise', 8, 'o2o.invariant_violations', '{}', 0),
	-- tracking (0.9.0): a NULL order or step 22004, an unknown order O2005, an
	-- order not assigned or a step its progress does not allow O2006, an unknown
	-- step or a bad argument 22023, no free slot for a reschedule O2013
	('tracking', 1, 'o2o_progress', '{O2005,O2006,O2013,22004,22023}', 6),
	('tracking', 2, 'o2o_track', '{O2005}', 2),
	('tracking', 3, 'o2o_events', '{}', 2),
	-- an unknown window 22023
	('tracking', 4, 'o2o_time_windows, _window_capacity', '{22023}', 1),
	-- a job that another transaction holds 55P03; not READ COMMITTED 0A000
	('tracking', 5, 'jeopardy (installer, dealer UPDATE)', '{55P03,0A000}', 1),
	('tracking', 6, 'o2o.invariant_violations', '{}', 0),
	-- stock sync (0.9.0): a NULL argument 22004, counts not a JSON array 22023,
	-- a dealer the caller may not sync 42501, all_or_nothing with a bad line O2011
	('stock', 1, 'o2o_stock_sync', '{22004,22023,42501,O2011}', 6),
	-- max_dealers < 1 (or a NULL flag) 22023, all_or_nothing with a bad row O2011
	('stock', 2, 'o2o_stock_apply_feed', '{22023,O2011}', 3),
	('stock', 3, 'o2o_stock_check_feed', '{O2011}', 2),
	-- an unknown SKU O2003
	('stock', 4, 'o2o_stock_rollup', '{O2003}', 2),
	('stock', 5, 'o2o_cache_status', '{}', 2),
	('stock', 6, 'o2o_grid_index_stats', '{}', 2),
	-- a negative count or one below reserved 23514, a key twice 23505, UPDATE
	-- or DELETE of the ledger O2002
	('stock', 7, 'stock, ledger, feed DML', '{23514,23505,O2002}', 2),
	-- called by fuzz.sh at the top level (weight 0: not in the rotation); in a
	-- transaction block with rows to apply 2D000
	('stock', 8, 'o2o_stock_apply (CALL)', '{O2011,22023,2D000}', 0),
	('stock', 9, 'o2o.invariant_violations', '{}', 0);

-- the calls made, per entry point (summed over batches)
CREATE TABLE fuzz.tally (
	family		text NOT NULL,
	entry_no	int NOT NULL,
	calls		bigint NOT NULL DEFAULT 0,
	ok			bigint NOT NULL DEFAULT 0,
	documented	bigint NOT NULL DEFAULT 0,
	failed		bigint NOT NULL DEFAULT 0,
	call_ms		float8 NOT NULL DEFAULT 0,
	max_ms		float8 NOT NULL DEFAULT 0,
	skipped		bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (family, entry_no)
);

INSERT INTO fuzz.tally (family, entry_no) SELECT family, entry_no FROM fuzz.entry;

CREATE TABLE fuzz.failure (
	failure_id	bigserial PRIMARY KEY,
	family		text NOT NULL,
	seed		bigint NOT NULL,
	call		bigint NOT NULL,
	entry		text NOT NULL,
	kind		text NOT NULL,
	sql			text,
	expected	text,
	got			text,
	ms			float8
);

-- settings of the run: the per-call statement_timeout (ms), the target calls per entry
CREATE TABLE fuzz.conf (name text PRIMARY KEY, value text NOT NULL);

CREATE FUNCTION fuzz.conf(n text) RETURNS text LANGUAGE sql STABLE
	AS $$ SELECT value FROM fuzz.conf WHERE name = n $$;

/*
 * Kinds of input that ran into statement_timeout: once an entry point has
 * been cancelled `slow_cap` times on one kind of input (a point at a pole,
 * say), its later inputs of that kind are skipped -- counted, not run --
 * so that one slow path, reported, does not eat the run.
 */
CREATE TABLE fuzz.slow (
	family		text NOT NULL,
	entry_no	int NOT NULL,
	kind		text NOT NULL,
	timeouts	int NOT NULL,
	PRIMARY KEY (family, entry_no, kind)
);

CREATE FUNCTION fuzz.skip_slow(family text, entry int, kind text) RETURNS boolean
	LANGUAGE sql STABLE
	AS $$ SELECT coalesce((SELECT s.timeouts >= fuzz.conf('slow_cap')::int FROM fuzz.slow s
						   WHERE s.family = skip_slow.family AND s.entry_no = entry AND s.kind = skip_slow.kind), false) $$;

------------------------------------------------------------------------
-- random streams
------------------------------------------------------------------------

-- the stream of call i of a family: setseed from a hash of (seed, family, i)
CREATE FUNCTION fuzz.seed_call(seed bigint, family text, i bigint) RETURNS void
	LANGUAGE sql VOLATILE
	AS $$ SELECT setseed(((hashint8extended(i, seed * 7919 + hashtext(family)) & 1073741823)::float8
						  / 1073741824.0) * 2 - 1) $$;

CREATE FUNCTION fuzz.ri(lo bigint, hi bigint) RETURNS bigint
	LANGUAGE sql VOLATILE
	AS $$ SELECT lo + floor(random() * (hi - lo + 1))::bigint $$;

CREATE FUNCTION fuzz.chance(p float8) RETURNS boolean
	LANGUAGE sql VOLATILE
	AS $$ SELECT random() < p $$;

CREATE FUNCTION fuzz.pick(a anyarray) RETURNS anyelement
	LANGUAGE sql VOLATILE
	AS $$ SELECT a[array_lower(a, 1) + floor(random() * cardinality(a))::int] $$;

-- floats that break code: signed zeros, subnormals, extremes, infinities, NaN
CREATE FUNCTION fuzz.special_float() RETURNS float8
	LANGUAGE sql VOLATILE
	AS $$ SELECT fuzz.pick(ARRAY['0', '-0', '5e-324', '-5e-324', '1e-310', '-1e-310',
								 '2.2250738585072014e-308', '1e-300', '-1e-300', '1e-15',
								 '1', '-1', '1e300', '-1e300', '1.7976931348623157e308',
								 '-1.7976931348623157e308', 'Infinity', '-Infinity', 'NaN',
								 '180', '-180', '90', '-90', '180.00000000000003', '-180.00000000000003',
								 '90.00000000000001', '-90.00000000000001', '89.99999999999999',
								 '179.99999999999997', '360', '-360', '4294967296']::float8[]) $$;

-- x moved by a few units in the last place (or across zero, for zeros)
CREATE FUNCTION fuzz.ulps(x float8, n int) RETURNS float8
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE WHEN x = 0 THEN n * 5e-324::float8
					  ELSE x + n * abs(x) * 2.220446049250313e-16 END $$;

------------------------------------------------------------------------
-- classification
------------------------------------------------------------------------

/*
 * The outcome of one call.  The oracle says what may happen: success
 * (may_succeed, and then ok says whether the answer agreed with it) and/or
 * an error with one of the SQLSTATEs may_fail.  got_state is NULL when the
 * call succeeded.
 *  - a call that outlives statement_timeout by more than 100 ms fails;
 *  - an error with a SQLSTATE the oracle expected (and the README documents
 *    for the entry point) is a documented error;
 *  - 57014 (cancelled by statement_timeout), an undocumented SQLSTATE, a
 *    documented one where the oracle expected success or another error, a
 *    success where an error was due, and a wrong answer fail.
 */
CREATE FUNCTION fuzz.judge(entry int, family text, ms float8, sql text,
						   may_succeed boolean, may_fail text[], ok boolean,
						   expected text, got text, got_state text, got_msg text)
	RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	doc text[] := (SELECT documented FROM fuzz.entry e WHERE e.family = judge.family AND e.entry_no = judge.entry);
	limit_ms float8 := fuzz.conf('timeout_ms')::float8 + 100;
	r fuzz.out := ROW(entry, 0, ms, NULL, NULL, NULL, NULL, 1);
BEGIN
	IF may_fail IS NOT NULL AND NOT may_fail <@ doc THEN
		RAISE EXCEPTION 'fuzz harness: % expects SQLSTATEs % that the README does not document for it (%)',
			(SELECT name FROM fuzz.entry e WHERE e.family = judge.family AND e.entry_no = judge.entry), may_fail, doc;
	END IF;
	IF ms > limit_ms THEN
		r.kind := format('outlived statement_timeout by more than 100 ms (%s ms)', round(ms::numeric, 1));
	ELSIF got_state IS NULL THEN
		IF NOT may_succeed THEN
			r.kind := 'succeeded where an error was due';
		ELSIF ok IS NOT TRUE THEN
			r.kind := 'wrong answer';
		END IF;
	ELSIF got_state = '57014' THEN
		r.kind := format('cancelled by statement_timeout (%s ms)', round(ms::numeric, 1));
	ELSIF got_state = 'XX000' THEN
		r.kind := 'internal error XX000';
	ELSIF got_state = ANY (coalesce(may_fail, '{}')) THEN
		r.outcome := 1;
		RETURN r;
	ELSIF got_state = ANY (doc) THEN
		r.kind := format('documented SQLSTATE %s, but the oracle expected %s', got_state,
						 CASE WHEN may_fail IS NULL THEN 'success' ELSE array_to_string(may_fail, ' or ') END);
	ELSE
		r.kind := format('undocumented SQLSTATE %s', got_state);
	END IF;
	IF r.kind IS NULL THEN
		RETURN r;
	END IF;
	r.outcome := 2;
	r.sql := sql;
	r.expected := CASE WHEN may_succeed THEN coalesce(expected, 'success') ELSE '' END
		|| CASE WHEN may_fail IS NOT NULL THEN
				CASE WHEN may_succeed THEN ' or ' ELSE '' END || 'error ' || array_to_string(may_fail, '/')
		   ELSE '' END;
	r.got := CASE WHEN got_state IS NULL THEN coalesce(got, 'NULL')
				  ELSE format('error %s: %s', got_state, got_msg) END;
	RETURN r;
END
$$;

------------------------------------------------------------------------
-- the loop
------------------------------------------------------------------------

/*
 * Run the calls first, first + 1, ... of a family as one statement, until
 * every entry point of the family has made `target` calls, or half the
 * statement_timeout has gone (so that each call starts with at least half
 * of it), or call `last`.  Returns the number of the next call; the driver
 * starts the next statement there.
 *
 * Call i is the step of the entry point that owns slot i % W of a
 * rotation of W slots, each entry point holding as many as its weight (the
 * cheap ones more, so that they are not held back by the dear ones); an
 * entry point that has made its calls is skipped.  A call cancelled by
 * statement_timeout is retried as the first call of the next statement,
 * where it has the whole timeout; cancelled there, it fails.  When the
 * first call was cancelled in its oracle, not in the call, it returns -i:
 * fuzz.sh runs call i again alone, with fuzz.oracle_rerun on and 10 times
 * the timeout, where the call must still take no longer than the timeout
 * (the judge reads its duration) and the oracle has the rest.
 */
CREATE FUNCTION fuzz.run(family text, seed bigint, first bigint, last bigint, target bigint[])
	RETURNS bigint
	LANGUAGE plpgsql
	AS $$
DECLARE
	n int := (SELECT count(*) FROM fuzz.entry e WHERE e.family = run.family);
	slots int[] := fuzz.slots(family);
	budget interval := make_interval(secs => fuzz.conf('timeout_ms')::float8 / 2000);
	ncalls bigint[];
	ncalls0 bigint[];
	oks bigint[];
	docs bigint[];
	fails bigint[];
	ms float8[];
	mx float8[];
	skips bigint[];
	outs fuzz.out[];
	o fuzz.out;
	failed fuzz.out[] := '{}';
	failed_at bigint[] := '{}';
	i bigint := first;
	e int;
	t0 timestamptz;
BEGIN
	SELECT array_agg(t.calls ORDER BY t.entry_no), array_agg(0::bigint ORDER BY t.entry_no)
	  INTO ncalls, oks FROM fuzz.tally t WHERE t.family = run.family;
	docs := oks; fails := oks; skips := oks; ncalls0 := ncalls;
	ms := array_fill(0::float8, ARRAY[n]);
	mx := ms;
	PERFORM fuzz.family_begin(family);
	BEGIN
		WHILE i <= last LOOP
			EXIT WHEN i > first AND clock_timestamp() - statement_timestamp() > budget;
			e := slots[1 + (i % cardinality(slots))::int];
			IF ncalls[e] < target[e] THEN
				t0 := clock_timestamp();
				IF current_setting('fuzz.trace', true) = 'on' THEN
					PERFORM set_config('fuzz.call', i::text, false);
				END IF;
				BEGIN
					PERFORM fuzz.seed_call(seed, family, i);
					outs := fuzz.family_step(family, seed, i, e);
				EXCEPTION WHEN query_canceled OR SQLSTATE 'FZ001' THEN
					-- cancelled: in a call (FZ001, its SQL in the message) or in its oracle
					IF i > first THEN
						EXIT;		-- retried first in the next statement
					END IF;
					IF SQLSTATE <> 'FZ001' AND current_setting('fuzz.oracle_rerun', true) IS DISTINCT FROM 'on' THEN
						-- the call ended in time, its oracle did not: the oracle's
						-- work is the harness's, not the entry point's, so fuzz.sh
						-- runs this call again alone with the oracle's allowance
						-- (statement_timeout x 10); the call is still judged
						-- against the timeout by its own duration
						RETURN -i;
					END IF;
					outs := ARRAY[ROW(e, 2, extract(epoch FROM clock_timestamp() - t0) * 1000,
									  format('cancelled by statement_timeout after %s ms%s',
											 round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric),
											 CASE WHEN SQLSTATE = 'FZ001' THEN '' ELSE ' (in the oracle)' END),
									  CASE WHEN SQLSTATE = 'FZ001' THEN SQLERRM END, 'an answer within the timeout',
									  'error 57014', 1)::fuzz.out];
				END;
				FOREACH o IN ARRAY outs LOOP
					IF o.outcome = 3 THEN		-- skipped: see fuzz.slow
						skips[o.entry] := skips[o.entry] + 1;
						CONTINUE;
					END IF;
					ncalls[o.entry] := ncalls[o.entry] + coalesce(o.n, 1);
					ms[o.entry] := ms[o.entry] + coalesce(o.ms, 0);
					mx[o.entry] := greatest(mx[o.entry], o.ms / coalesce(o.n, 1));
					CASE o.outcome
						WHEN 0 THEN oks[o.entry] := oks[o.entry] + coalesce(o.n, 1);
						WHEN 1 THEN docs[o.entry] := docs[o.entry] + coalesce(o.n, 1);
						ELSE
							fails[o.entry] := fails[o.entry] + 1;
							failed := failed || o;
							failed_at := failed_at || i;
							IF o.kind LIKE 'cancelled by statement_timeout%' THEN
								-- the kind of input: the comment that ends the call's SQL, if any
								INSERT INTO fuzz.slow VALUES (family, o.entry, coalesce(substring(o.sql FROM ' -- ([a-z/+]+)$'), '*'), 1)
								ON CONFLICT ON CONSTRAINT slow_pkey DO UPDATE SET timeouts = fuzz.slow.timeouts + 1;
							END IF;
					END CASE;
				END LOOP;
			END IF;
			i := i + 1;
		END LOOP;
	EXCEPTION WHEN query_canceled THEN
		-- statement_timeout fired between calls, in the harness's own work:
		-- the call before returned late (the judge saw how late); the calls
		-- counted so far stand, and the next statement goes on from here
		NULL;
	END;
	FOR k IN 1..cardinality(failed) LOOP
		o := failed[k];
		INSERT INTO fuzz.failure (family, seed, call, entry, kind, sql, expected, got, ms)
		VALUES (family, seed, failed_at[k],
				(SELECT x.name FROM fuzz.entry x WHERE x.family = run.family AND x.entry_no = o.entry),
				o.kind, o.sql, o.expected, o.got, o.ms);
	END LOOP;
	UPDATE fuzz.tally t
	   SET calls = t.calls + ncalls[t.entry_no] - ncalls0[t.entry_no], ok = t.ok + oks[t.entry_no],
		   documented = t.documented + docs[t.entry_no], failed = t.failed + fails[t.entry_no],
		   call_ms = t.call_ms + ms[t.entry_no], max_ms = greatest(t.max_ms, mx[t.entry_no]),
		   skipped = t.skipped + skips[t.entry_no]
	 WHERE t.family = run.family;
	RETURN i;
END
$$;

-- the rotation of a family: entry_no of each slot, the entries interleaved
CREATE FUNCTION fuzz.slots(family text) RETURNS int[]
	LANGUAGE sql STABLE
	AS $$
	SELECT array_agg(e.entry_no ORDER BY (k - 0.5) / e.weight, e.entry_no)
	  FROM fuzz.entry e, generate_series(1, e.weight) k
	 WHERE e.family = slots.family
$$;

-- the entry point of call i
CREATE FUNCTION fuzz.slot_of(family text, i bigint) RETURNS int
	LANGUAGE sql STABLE
	AS $$ SELECT (fuzz.slots(family))[1 + (i % cardinality(fuzz.slots(family)))::int] $$;

-- whether every entry point of the family has made its calls
CREATE FUNCTION fuzz.done(family text, target bigint[]) RETURNS boolean
	LANGUAGE sql STABLE
	AS $$ SELECT bool_and(t.calls >= target[t.entry_no]) FROM fuzz.tally t WHERE t.family = done.family $$;

/*
 * Calls of entry points that fuzz.run cannot make, due after a statement:
 * the stock family's CALLs of o2o_stock_apply (a procedure that commits),
 * which fuzz.sh makes at the top level -- 3 a statement, about the share of
 * an entry point of weight 1, or up to 200 once the others are done.
 */
CREATE FUNCTION fuzz.calls_outside(family text, target bigint[]) RETURNS bigint
	LANGUAGE sql STABLE
	AS $$
	SELECT coalesce((SELECT least(greatest(0, target[8] - t.calls),
								  CASE WHEN (SELECT bool_and(x.calls >= target[x.entry_no]) FROM fuzz.tally x
											  WHERE x.family = 'stock' AND x.entry_no <> 8) THEN 200 ELSE 3 END)
					   FROM fuzz.tally t WHERE t.family = 'stock' AND t.entry_no = 8 AND calls_outside.family = 'stock'), 0)
$$;

-- the text of an error-free SQL literal for a geometry (its exact EWKB)
CREATE FUNCTION fuzz.lit(g geometry) RETURNS text
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE WHEN g IS NULL THEN 'NULL::geometry' ELSE format('%L::geometry', g::text) END $$;

CREATE FUNCTION fuzz.lit(x float8) RETURNS text
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE WHEN x IS NULL THEN 'NULL::float8' ELSE format('%L::float8', x::text) END $$;

-- the families' hooks, dispatched without dynamic SQL (each is in its own file)
CREATE FUNCTION fuzz.family_step(family text, seed bigint, i bigint, e int) RETURNS fuzz.out[]
	LANGUAGE plpgsql
	AS $$
BEGIN
	CASE family
		WHEN 'grid' THEN RETURN fuzz.grid_step(seed, i, e);
		WHEN 'agg' THEN RETURN fuzz.agg_step(seed, i, e);
		WHEN 'price' THEN RETURN fuzz.price_step(seed, i, e);
		WHEN 'life' THEN RETURN fuzz.life_step(seed, i, e);
		WHEN 'dml' THEN RETURN fuzz.dml_step(seed, i, e);
		WHEN 'promise' THEN RETURN fuzz.promise_step(seed, i, e);
		WHEN 'tracking' THEN RETURN fuzz.tracking_step(seed, i, e);
		WHEN 'stock' THEN RETURN fuzz.stock_step(seed, i, e);
	END CASE;
END
$$;

-- once, in the family's own database, before its first call
CREATE FUNCTION fuzz.family_prepare(family text) RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	CASE family
		WHEN 'grid' THEN PERFORM fuzz.prepare_grid_family();
		WHEN 'life', 'dml' THEN PERFORM fuzz.prepare_life_family();
		WHEN 'tracking' THEN PERFORM fuzz.prepare_tracking_family();
		WHEN 'stock' THEN PERFORM fuzz.prepare_stock_family();
		ELSE NULL;
	END CASE;
END
$$;

CREATE FUNCTION fuzz.family_begin(family text) RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	-- every call runs in the settings it chooses; nothing leaks from the last
	CASE family
		WHEN 'life' THEN PERFORM fuzz.life_begin();
		WHEN 'dml' THEN PERFORM fuzz.life_begin();
		WHEN 'promise' THEN PERFORM fuzz.life_begin();
		WHEN 'tracking' THEN PERFORM fuzz.life_begin();
		WHEN 'stock' THEN PERFORM fuzz.life_begin();
		ELSE NULL;
	END CASE;
END
$$;

-- after each statement of calls, as a statement of its own (without the
-- timeout): the family's checks of the whole world, i the last call
CREATE FUNCTION fuzz.family_end(family text, seed bigint, i bigint) RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	CASE family
		WHEN 'life' THEN PERFORM fuzz.life_end('life', 8, seed, i);
		WHEN 'dml' THEN PERFORM fuzz.life_end('dml', 7, seed, i);
		WHEN 'promise' THEN PERFORM fuzz.promise_end(seed, i);
		WHEN 'tracking' THEN PERFORM fuzz.tracking_end(seed, i);
		WHEN 'stock' THEN PERFORM fuzz.stock_end(seed, i);
		ELSE NULL;
	END CASE;
END
$$;

-- under FUZZ_TRACE (the driver's search for a call that crashed the server),
-- every call is announced before it runs
CREATE FUNCTION fuzz.trace(sql text) RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	IF current_setting('fuzz.trace', true) = 'on' THEN
		RAISE WARNING 'fuzz call % : %', current_setting('fuzz.call', true), sql;
	END IF;
END
$$;

-- a long text for the summary: its start, and how long it is
CREATE FUNCTION fuzz.cut(t text) RETURNS text
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE WHEN length(t) <= 1500 THEN t ELSE left(t, 1500) || format('... (%s characters)', length(t)) END $$;

/*
 * After a statement of a family that changes stock, bookings, assignments
 * or holds: o2o.invariant_violations is empty, counted as entry entry_no of
 * the family (a failure names the first ten violations).
 */
CREATE FUNCTION fuzz.invariants_hold(family text, entry_no int, seed bigint, i bigint) RETURNS void
	LANGUAGE plpgsql
	AS $$
DECLARE
	bad text;
BEGIN
	SELECT string_agg(format('%s: %s', v::text, v.invariant), '; ') INTO bad
	  FROM (SELECT * FROM o2o.invariant_violations LIMIT 10) v;
	UPDATE fuzz.tally t SET calls = t.calls + 1, ok = t.ok + (bad IS NULL)::int, failed = t.failed + (bad IS NOT NULL)::int
	 WHERE t.family = invariants_hold.family AND t.entry_no = invariants_hold.entry_no;
	IF bad IS NOT NULL THEN
		INSERT INTO fuzz.failure (family, seed, call, entry, kind, sql, got)
		VALUES (invariants_hold.family, seed, i, 'o2o.invariant_violations',
				'o2o.invariant_violations is not empty after the statement ending with this call', NULL, bad);
	END IF;
END
$$;
