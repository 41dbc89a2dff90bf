/*
 * test/fuzz/promise.sql -- family "promise": the storefront of 0.8.0,
 * o2o_promise, o2o_promise_skus, o2o_promise_places, o2o_hold,
 * o2o_release_hold, o2o_expire_holds, and o2o_assign of orders placed with
 * a hold_id, on the generated world.
 *
 * Arguments: known, unknown and NULL SKUs; delivery points where orders
 * and dealers are, and every kind of fuzz.gen_point (inside and outside
 * the grids, other SRIDs, other types, empty, NaN, out of range); qty from
 * -2 to 5 and huge; arrays with NULLs, empty, of other lengths and of two
 * dimensions; ttl with month, day and time parts, negative and huge; hold
 * ids held, expired, taken, released, ended and unknown.
 *
 * Oracles, besides the SQLSTATEs of the README for each bad argument:
 *  - o2o_promise reads only (stock reserved, bookings and holds unchanged
 *    by the call) and its columns agree with each other (deliverable iff a
 *    dealer and no reason; a date and a distance when deliverable);
 *  - line i of o2o_promise_skus is o2o_promise(sku_i, location, qty_i);
 *    place j of o2o_promise_places is o2o_promise(sku, location_j, qty),
 *    a row of NULLs for a NULL point;
 *  - o2o_hold returns a hold 'held' until exactly now() + ttl (within a
 *    day), of the SKU and qty asked, with the dealer and date the promise
 *    found just before (when no expired hold was swept on the way, which
 *    can only add units); NULL only when the promise was not deliverable;
 *  - o2o_release_hold: true and 'released' for a held hold, false and
 *    unchanged for an ended one, O2012 for an unknown one;
 *  - o2o_expire_holds(max) expires exactly the min(max, due) held holds
 *    whose expires_at has passed (nobody else holds their rows here);
 *  - o2o_assign of an order naming a hold still held and not expired takes
 *    it: the hold's dealer, installer, day and promised date, the hold
 *    'taken' by the order; naming one still held for another SKU,
 *    quantity or grid: O2012 and nothing changes; naming an expired one:
 *    the hold 'expired' and the order routed as any other; naming a taken,
 *    released or unknown one: routed as any other, the hold unchanged;
 *  - after each statement, o2o.invariant_violations is empty.
 * Holds expire only as time passes; to have expired holds within a run,
 * some held holds are made due by moving their expires_at to the past (as
 * if the clock had gone on).
 */

-- the promise's columns
CREATE TYPE fuzz.prom AS (deliverable boolean, promised_date date, grid_id int, same_grid boolean,
						  dealer_id int, distance_m float8, reason text, promised_window text);

CREATE FUNCTION fuzz.prepare_promise() RETURNS void
	LANGUAGE sql
	AS $$ SELECT $$;

-- a SKU: mostly a product, sometimes unknown or NULL
CREATE FUNCTION fuzz.promise_sku(p_null float8) RETURNS text
	LANGUAGE sql VOLATILE
	AS $$
	SELECT CASE WHEN r < 0.85 THEN (SELECT sku FROM o2o.product ORDER BY random() LIMIT 1)
				WHEN r < 1 - p_null THEN fuzz.pick(ARRAY['nope', '', 'ac-001', 'AC-001 ', ' AC-001', 'AC-0011',
														 repeat('Z', 300), '家电', '%', E'a\nb'])
		   END
	  FROM (SELECT random() AS r) x
$$;

-- a quantity: mostly 1..5, sometimes -2..0, huge or NULL
CREATE FUNCTION fuzz.promise_qty(p_null float8) RETURNS int
	LANGUAGE sql VOLATILE
	AS $$
	SELECT CASE WHEN r < 0.75 THEN fuzz.ri(1, 5)::int
				WHEN r < 0.88 THEN fuzz.ri(-2, 0)::int
				WHEN r < 1 - p_null THEN fuzz.pick(ARRAY[6, 100, 10000, 2147483647, -2147483648])
		   END
	  FROM (SELECT random() AS r) x
$$;

/*
 * A delivery point: where an order or a dealer is (inside or near the
 * grids), or any kind of fuzz.gen_point; errs: the SQLSTATEs it brings.
 */
CREATE FUNCTION fuzz.promise_point(OUT g geometry, OUT kind text, OUT errs text[])
	LANGUAGE plpgsql
	AS $$
DECLARE
	r float8 := random();
	p record;
BEGIN
	IF r < 0.35 THEN
		kind := 'order';
		SELECT o.location INTO g FROM o2o.orders o
		 WHERE o.order_id >= fuzz.ri(1, (SELECT max(order_id) FROM o2o.orders)) ORDER BY o.order_id LIMIT 1;
	ELSIF r < 0.45 THEN
		kind := 'dealer';
		SELECT d.location INTO g FROM o2o.dealer d
		 WHERE d.dealer_id >= fuzz.ri(1, (SELECT max(dealer_id) FROM o2o.dealer)) ORDER BY d.dealer_id LIMIT 1;
	END IF;
	IF g IS NULL THEN
		p := fuzz.gen_point(true);
		g := p.g; kind := p.kind; errs := p.errs;
	END IF;
END
$$;

-- the SQLSTATEs of a promise of sku, qty to a point with point errors perrs
CREATE FUNCTION fuzz.promise_errs(perrs text[], sku text, qty int) RETURNS text[]
	LANGUAGE sql STABLE
	AS $$
	SELECT coalesce(perrs, '{}')
		   || CASE WHEN NOT EXISTS (SELECT 1 FROM o2o.product p WHERE p.sku = promise_errs.sku) THEN '{O2003}'::text[] ELSE '{}' END
		   || CASE WHEN qty < 1 THEN '{22023}'::text[] ELSE '{}' END
$$;

-- what o2o_promise must not change
CREATE FUNCTION fuzz.promise_sum() RETURNS text
	LANGUAGE sql STABLE
	AS $$
	SELECT format('reserved %s, booked %s, holds %s/%s', (SELECT sum(reserved) FROM o2o.stock),
				  (SELECT sum(booked) FROM o2o.installer_day), (SELECT count(*) FROM o2o.hold),
				  (SELECT count(*) FROM o2o.hold WHERE state = 'held'))
$$;

-- o2o_promise without judging it: its row, or NULL when it fails
CREATE FUNCTION fuzz.promise_of(sku text, g geometry, qty int) RETURNS fuzz.prom
	LANGUAGE plpgsql
	AS $$
BEGIN
	RETURN (SELECT ROW(x.*)::fuzz.prom FROM o2o_promise(sku, g, qty) x);
EXCEPTION WHEN query_canceled THEN
	RAISE;
WHEN OTHERS THEN
	RETURN NULL;
END
$$;

-- what is wrong with a promise's columns, or NULL
CREATE FUNCTION fuzz.promise_bad(p fuzz.prom) RETURNS text
	LANGUAGE sql IMMUTABLE
	AS $$
	SELECT CASE WHEN p.deliverable IS NULL THEN 'deliverable is NULL'
				WHEN p.deliverable <> (p.dealer_id IS NOT NULL) THEN 'deliverable without a dealer, or the reverse'
				WHEN p.deliverable = (p.reason IS NOT NULL) THEN 'a reason iff not deliverable, broken'
				WHEN p.deliverable AND (p.promised_date IS NULL OR p.distance_m IS NULL OR NOT p.distance_m >= 0
										OR p.same_grid IS NULL OR p.grid_id IS NULL) THEN
					'deliverable without a date, a distance or a grid'
				WHEN p.deliverable <> (p.promised_window IS NOT NULL)
					 OR p.promised_window NOT IN ('morning', 'afternoon', 'evening', 'day') THEN
					'a time window iff deliverable (one of o2o_time_windows), broken'
		   END
$$;

-- a hold of a state (the next one at or after a random id), or NULL
CREATE FUNCTION fuzz.hold_of(states text[], due boolean) RETURNS bigint
	LANGUAGE sql VOLATILE
	AS $$
	SELECT coalesce(
		(SELECT h.hold_id FROM o2o.hold h WHERE h.state = ANY (states) AND h.hold_id >= x.r
			AND (due IS NULL OR (h.expires_at <= now()) = due) ORDER BY h.hold_id LIMIT 1),
		(SELECT h.hold_id FROM o2o.hold h WHERE h.state = ANY (states)
			AND (due IS NULL OR (h.expires_at <= now()) = due) ORDER BY h.hold_id LIMIT 1))
	  FROM (SELECT fuzz.ri(1, coalesce((SELECT max(hold_id) FROM o2o.hold), 1)) AS r) x
$$;

-- keep the world moving: units for dealers now and then, old holds made due
CREATE FUNCTION fuzz.promise_replenish() RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	IF random() < 0.3 THEN
		UPDATE o2o.stock SET on_hand = on_hand + fuzz.ri(1, 4)::int
		 WHERE (dealer_id, sku) = (SELECT s.dealer_id, s.sku FROM o2o.stock s
									WHERE s.dealer_id >= fuzz.ri(1, (SELECT max(dealer_id) FROM o2o.dealer))
									ORDER BY s.dealer_id, s.sku LIMIT 1);
	END IF;
	IF random() < 0.1 OR (SELECT count(*) FROM (SELECT 1 FROM o2o.hold WHERE state = 'held' LIMIT 200) x) >= 200 THEN
		-- as if the clock had gone on: a few held holds are due
		UPDATE o2o.hold SET expires_at = now() - fuzz.pick(ARRAY['0', '1 microsecond', '1 second', '1 hour']::interval[])
		 WHERE hold_id IN (SELECT h.hold_id FROM o2o.hold h WHERE h.state = 'held' AND h.expires_at > now()
							ORDER BY random() LIMIT fuzz.ri(1, 8));
	END IF;
END
$$;

-- a ttl: the default, minutes, tiny, the ends of (0, 1 day], and worse
CREATE FUNCTION fuzz.promise_ttl() RETURNS interval
	LANGUAGE sql VOLATILE
	AS $$
	SELECT CASE WHEN r < 0.5 THEN make_interval(secs => fuzz.ri(1, 3600))
				WHEN r < 0.6 THEN interval '15 minutes'
				WHEN r < 0.9 THEN fuzz.pick(ARRAY['1 microsecond', '0', '-1 microsecond', '1 day', '24:00:00',
						'24:00:00.000001', '1 day 1 microsecond', '1 day -1 microsecond', '1 mon', '1 mon -30 days',
						'1 mon -29 days', '1 mon -31 days', '-1 mon 31 days', '1 year -365 days', '2 days -24:00:00',
						'-1 day 48:00:00', '-1 day', '-15 minutes', '23:59:59.999999', '1 mon -30 days 00:00:01',
						'178000000 years', '-178000000 years', '2147483647 days', '-2147483648 days',
						'2147483647 hours', '-2147483648 hours', '2147483647 mons', '-2147483648 mons']::interval[])
				ELSE make_interval(months => fuzz.ri(-3, 3)::int, days => fuzz.ri(-100, 100)::int,
								   secs => (random() * 400000 - 200000)) END
	  FROM (SELECT random() AS r) x
$$;

-- the end of a hold of ttl now, as PostgreSQL computes now() + ttl; NULL when it overflows
CREATE FUNCTION fuzz.hold_end(ttl interval) RETURNS timestamptz
	LANGUAGE plpgsql STABLE
	AS $$
BEGIN
	RETURN now() + ttl;
EXCEPTION WHEN datetime_field_overflow THEN
	RETURN NULL;
END
$$;

-- call o2o_promise_skus / _places / o2o_promise, caught; rows as text
CREATE FUNCTION fuzz.promise_call(e int, sql text, sku text, g geometry, qty int, skus text[], qtys int[],
								  gs geometry[], OUT res text[], OUT st text, OUT msg text, OUT ms float8)
	LANGUAGE plpgsql
	AS $$
DECLARE
	t0 timestamptz;
BEGIN
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		CASE e
			WHEN 1 THEN res := ARRAY(SELECT ROW(x.*)::fuzz.prom::text FROM o2o_promise(sku, g, qty) x);
			WHEN 2 THEN res := ARRAY(SELECT ROW(x.*)::text FROM o2o_promise_skus(g, skus, qtys) x);
			ELSE res := ARRAY(SELECT ROW(x.*)::text FROM o2o_promise_places(sku, gs, qty) x);
		END CASE;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;

CREATE FUNCTION fuzz.promise_step(seed bigint, i bigint, e int) RETURNS fuzz.out[]
	LANGUAGE plpgsql
	AS $$
DECLARE
	v_sku text;
	v_qty int;
	pt record;
	g geometry;
	skus text[];
	qtys int[];
	gs geometry[];
	kinds text := '';
	errs text[] := '{}';
	c record;
	p fuzz.prom;
	want text[];
	sum0 text;
	sum1 text;
	why text;
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	ms float8;
	n int;
	ttl interval;
	ends timestamptz;
	swept boolean;
	hid bigint;
	h0 o2o.hold;
	h1 o2o.hold;
	got_id bigint;
	got_b boolean;
	got_i int;
	due bigint[];
	oid bigint;
	scen text;
	o1 record;
	a1 record;
	maxarg int;
BEGIN
	PERFORM fuzz.promise_replenish();
	IF e = 1 THEN
		-- o2o_promise: reads only, and its columns agree
		v_sku := fuzz.promise_sku(0.03);
		v_qty := fuzz.promise_qty(0.02);
		pt := fuzz.promise_point();
		IF random() < 0.02 THEN
			pt.g := NULL;
		END IF;
		sql := format('SELECT * FROM o2o_promise(%L, %s, %s) -- %s', v_sku, fuzz.lit(pt.g), coalesce(v_qty::text, 'NULL'), pt.kind);
		IF v_sku IS NOT NULL AND pt.g IS NOT NULL AND v_qty IS NOT NULL THEN
			errs := fuzz.promise_errs(pt.errs, v_sku, v_qty);
		END IF;
		sum0 := fuzz.promise_sum();
		c := fuzz.promise_call(1, sql, v_sku, pt.g, v_qty, NULL, NULL, NULL);
		sum1 := fuzz.promise_sum();
		IF sum1 <> sum0 THEN
			why := format('o2o_promise changed the world: %s -> %s', sum0, sum1);
		ELSIF c.st IS NULL AND cardinality(errs) = 0 AND (v_sku IS NULL OR pt.g IS NULL OR v_qty IS NULL) THEN
			why := CASE WHEN c.res[1] IS DISTINCT FROM ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::fuzz.prom::text
						 AND cardinality(c.res) > 0 THEN 'a row for a NULL argument of a STRICT function' END;
		ELSIF c.st IS NULL AND cardinality(errs) = 0 THEN
			why := fuzz.promise_bad(c.res[1]::fuzz.prom);
		END IF;
		RETURN ARRAY[fuzz.judge(1, 'promise', c.ms, sql, cardinality(errs) = 0, CASE WHEN cardinality(errs) > 0 THEN errs END,
								why IS NULL, 'a consistent promise, nothing changed', coalesce(why, c.res::text), c.st, c.msg)];
	END IF;

	IF e = 2 THEN
		-- o2o_promise_skus: line i is o2o_promise(sku_i, location, qty_i)
		pt := fuzz.promise_point();
		n := CASE WHEN random() < 0.1 THEN 0 ELSE fuzz.ri(1, 6)::int END;
		skus := ARRAY(SELECT fuzz.promise_sku(0.04) FROM generate_series(1, n));
		IF random() < 0.7 THEN
			qtys := ARRAY(SELECT fuzz.promise_qty(0.04) FROM generate_series(1, n + CASE WHEN random() < 0.1 THEN fuzz.ri(-1, 1)::int ELSE 0 END));
		END IF;
		IF random() < 0.03 THEN
			pt.g := NULL;
		ELSIF random() < 0.02 THEN
			skus := NULL;
		END IF;
		sql := format('SELECT * FROM o2o_promise_skus(%s, %L::text[], %L::int[])', fuzz.lit(pt.g), skus, qtys);
		IF random() < 0.03 AND n > 0 AND skus IS NOT NULL THEN
			-- two dimensions: 2202E (after the point's errors), no rows without a point
			sql := format('SELECT * FROM o2o_promise_skus(%s, %L::text[], %L::int[]) -- %s', fuzz.lit(pt.g),
						  ARRAY[skus], CASE WHEN random() < 0.5 THEN ARRAY[qtys] ELSE qtys END, pt.kind);
			errs := '{2202E}'::text[] || coalesce(pt.errs, '{}');
			PERFORM fuzz.trace(sql);
			t0 := clock_timestamp();
			BEGIN
				EXECUTE sql;
			EXCEPTION WHEN query_canceled THEN
				RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
			WHEN OTHERS THEN
				st := SQLSTATE; msg := SQLERRM;
			END;
			RETURN ARRAY[fuzz.judge(2, 'promise', extract(epoch FROM clock_timestamp() - t0) * 1000, sql, pt.g IS NULL,
									CASE WHEN pt.g IS NOT NULL THEN errs END, true, 'no rows', NULL, st, msg)];
		END IF;
		sql := sql || ' -- ' || pt.kind;
		IF pt.g IS NOT NULL AND skus IS NOT NULL THEN
			errs := errs || coalesce(pt.errs, '{}');
			IF qtys IS NOT NULL AND cardinality(qtys) <> cardinality(skus) THEN
				errs := errs || '{22023}'::text[];
			END IF;
			IF array_position(skus, NULL) IS NOT NULL OR array_position(qtys, NULL) IS NOT NULL THEN
				errs := errs || '{22004}'::text[];
			END IF;
			IF n > 0 AND (qtys IS NULL OR cardinality(qtys) = n) THEN
				FOR k IN 1..n LOOP
					IF skus[k] IS NOT NULL AND (qtys IS NULL OR qtys[k] IS NOT NULL) THEN
						errs := errs || fuzz.promise_errs(NULL, skus[k], coalesce(qtys[k], 1));
					END IF;
				END LOOP;
			END IF;
		END IF;
		c := fuzz.promise_call(2, sql, NULL, pt.g, NULL, skus, qtys, NULL);
		IF c.st IS NULL AND cardinality(errs) = 0 THEN
			IF pt.g IS NULL OR skus IS NULL THEN
				want := '{}';
			ELSE
				want := ARRAY(SELECT ROW(k, skus[k], coalesce(qtys[k], 1), (fuzz.promise_of(skus[k], pt.g, coalesce(qtys[k], 1))).*)::text
								FROM generate_series(1, n) k);
			END IF;
			IF c.res IS DISTINCT FROM want THEN
				why := 'the lines differ from o2o_promise of each';
			END IF;
		END IF;
		RETURN ARRAY[fuzz.judge(2, 'promise', c.ms, sql, cardinality(errs) = 0, CASE WHEN cardinality(errs) > 0 THEN errs END,
								why IS NULL, coalesce(want::text, 'o2o_promise of each line'), c.res::text, c.st, c.msg)];
	END IF;

	IF e = 3 THEN
		-- o2o_promise_places: place j is o2o_promise(sku, location_j, qty)
		v_sku := fuzz.promise_sku(0.03);
		v_qty := fuzz.promise_qty(0.02);
		n := CASE WHEN random() < 0.08 THEN 0 ELSE fuzz.ri(1, 6)::int END;
		gs := '{}';
		FOR k IN 1..n LOOP
			IF random() < 0.08 THEN
				gs := gs || NULL::geometry;
				kinds := kinds || 'null ';
			ELSE
				pt := fuzz.promise_point();
				gs := gs || pt.g;
				kinds := kinds || pt.kind || ' ';
				IF v_sku IS NOT NULL AND v_qty IS NOT NULL AND cardinality(errs) = 0 THEN
					-- the places before a bad one are promised; the first bad one stops the call
					errs := fuzz.promise_errs(pt.errs, v_sku, v_qty);
				END IF;
			END IF;
		END LOOP;
		IF random() < 0.02 THEN
			gs := NULL;
		END IF;
		sql := format('SELECT * FROM o2o_promise_places(%L, %s, %s) -- %s', v_sku,
					  CASE WHEN gs IS NULL THEN 'NULL::geometry[]'
						   ELSE format('ARRAY[%s]::geometry[]', (SELECT string_agg(fuzz.lit(x), ', ') FROM unnest(gs) x)) END,
					  coalesce(v_qty::text, 'NULL'), rtrim(kinds));
		IF random() < 0.03 AND n > 0 AND gs IS NOT NULL AND v_sku IS NOT NULL AND v_qty IS NOT NULL THEN
			sql := format('SELECT * FROM o2o_promise_places(%L, ARRAY[ARRAY[%s]]::geometry[], %s)', v_sku,
						  (SELECT string_agg(fuzz.lit(x), ', ') FROM unnest(gs) x), v_qty);
			PERFORM fuzz.trace(sql);
			t0 := clock_timestamp();
			BEGIN
				EXECUTE sql;
			EXCEPTION WHEN query_canceled THEN
				RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
			WHEN OTHERS THEN
				st := SQLSTATE; msg := SQLERRM;
			END;
			RETURN ARRAY[fuzz.judge(3, 'promise', extract(epoch FROM clock_timestamp() - t0) * 1000, sql, false, '{2202E}',
									true, NULL, NULL, st, msg)];
		END IF;
		IF gs IS NULL OR v_sku IS NULL OR v_qty IS NULL THEN
			errs := '{}';
		END IF;
		c := fuzz.promise_call(3, sql, v_sku, NULL, v_qty, NULL, NULL, gs);
		IF c.st IS NULL AND cardinality(errs) = 0 THEN
			IF gs IS NULL OR v_sku IS NULL OR v_qty IS NULL THEN
				want := '{}';
			ELSE
				want := ARRAY(SELECT CASE WHEN gs[k] IS NULL THEN ROW(k, NULL::boolean, NULL::date, NULL::int, NULL::boolean,
																		 NULL::int, NULL::float8, NULL::text, NULL::text)::text
										  ELSE ROW(k, (fuzz.promise_of(v_sku, gs[k], v_qty)).*)::text END
								FROM generate_series(1, n) k);
			END IF;
			IF c.res IS DISTINCT FROM want THEN
				why := 'the places differ from o2o_promise of each';
			END IF;
		END IF;
		RETURN ARRAY[fuzz.judge(3, 'promise', c.ms, sql, cardinality(errs) = 0, CASE WHEN cardinality(errs) > 0 THEN errs END,
								why IS NULL, coalesce(want::text, 'o2o_promise of each place'), c.res::text, c.st, c.msg)];
	END IF;

	IF e = 4 THEN
		-- o2o_hold: what the promise found, held until now() + ttl
		v_sku := fuzz.promise_sku(0.02);
		v_qty := fuzz.promise_qty(0.01);
		IF v_qty > 5 AND random() < 0.7 THEN
			v_qty := 1;
		END IF;
		pt := fuzz.promise_point();
		ttl := CASE WHEN random() < 0.02 THEN NULL ELSE fuzz.promise_ttl() END;
		sql := format('SELECT o2o_hold(%L, %s, %s, %L::interval) -- %s', v_sku, fuzz.lit(pt.g), coalesce(v_qty::text, 'NULL'),
					  ttl, pt.kind);
		IF v_sku IS NOT NULL AND v_qty IS NOT NULL AND ttl IS NOT NULL THEN
			errs := fuzz.promise_errs(pt.errs, v_sku, v_qty);
			ends := fuzz.hold_end(ttl);
			IF ends IS NULL THEN
				errs := errs || '{22008}'::text[];
			ELSIF NOT (ends > now() AND extract(epoch FROM ends - now()) <= 86400) THEN
				errs := errs || '{22023}'::text[];
			END IF;
		END IF;
		IF cardinality(errs) = 0 AND ttl IS NOT NULL THEN
			p := fuzz.promise_of(v_sku, pt.g, v_qty);
		END IF;
		swept := EXISTS (SELECT 1 FROM o2o.hold h WHERE h.state = 'held' AND h.expires_at <= now());
		PERFORM fuzz.trace(sql);
		t0 := clock_timestamp();
		BEGIN
			got_id := o2o_hold(v_sku, pt.g, v_qty, ttl);
		EXCEPTION WHEN query_canceled THEN
			RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
		WHEN OTHERS THEN
			st := SQLSTATE; msg := SQLERRM;
		END;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
		IF st IS NULL AND cardinality(errs) = 0 THEN
			IF v_sku IS NULL OR v_qty IS NULL OR ttl IS NULL OR pt.g IS NULL THEN
				why := CASE WHEN got_id IS NOT NULL THEN 'a hold for a NULL argument of a STRICT function' END;
			ELSIF got_id IS NULL THEN
				IF p.deliverable THEN
					why := format('NULL, but o2o_promise just before was deliverable: %s', p);
				END IF;
			ELSE
				SELECT * INTO h1 FROM o2o.hold h WHERE h.hold_id = got_id;
				IF h1.hold_id IS NULL THEN
					why := format('hold %s is not in o2o.hold', got_id);
				ELSIF h1.state <> 'held' OR h1.expires_at IS DISTINCT FROM ends OR h1.sku <> v_sku OR h1.qty <> v_qty THEN
					why := format('hold %s is %s x %s, %s until %s; asked %s x %s until %s', got_id, h1.qty, h1.sku, h1.state,
								  h1.expires_at, v_qty, v_sku, ends);
				ELSIF NOT swept AND NOT p.deliverable THEN
					why := format('a hold, but o2o_promise just before was not deliverable: %s', p);
				ELSIF NOT swept AND (h1.dealer_id, h1.promised_date, h1.grid_id, h1.same_grid)
						IS DISTINCT FROM (p.dealer_id, p.promised_date, p.grid_id, p.same_grid) THEN
					why := format('hold of dealer %s on %s (grid %s, same_grid %s), but o2o_promise just before said %s',
								  h1.dealer_id, h1.promised_date, h1.grid_id, h1.same_grid, p);
				END IF;
			END IF;
		END IF;
		RETURN ARRAY[fuzz.judge(4, 'promise', ms, sql, cardinality(errs) = 0, CASE WHEN cardinality(errs) > 0 THEN errs END,
								why IS NULL, 'a hold of what o2o_promise found', coalesce(why, got_id::text), st, msg)];
	END IF;

	IF e = 5 THEN
		-- o2o_release_hold: held -> released (true); ended -> false; unknown -> O2012
		scen := fuzz.pick(ARRAY['held', 'held', 'held', 'due', 'ended', 'ended', 'unknown', 'null']);
		hid := CASE scen WHEN 'held' THEN fuzz.hold_of('{held}', false)
						 WHEN 'due' THEN fuzz.hold_of('{held}', true)
						 WHEN 'ended' THEN fuzz.hold_of('{taken,released,expired}', NULL)
						 WHEN 'unknown' THEN fuzz.pick(ARRAY[0, -1, coalesce((SELECT max(hold_id) FROM o2o.hold), 0) + fuzz.ri(1, 100),
															9223372036854775807, -9223372036854775808]) END;
		SELECT * INTO h0 FROM o2o.hold h WHERE h.hold_id = hid;
		sql := format('SELECT o2o_release_hold(%s) -- %s', coalesce(hid::text, 'NULL'), coalesce(h0.state, scen));
		PERFORM fuzz.trace(sql);
		t0 := clock_timestamp();
		BEGIN
			got_b := o2o_release_hold(hid);
		EXCEPTION WHEN query_canceled THEN
			RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
		WHEN OTHERS THEN
			st := SQLSTATE; msg := SQLERRM;
		END;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
		SELECT * INTO h1 FROM o2o.hold h WHERE h.hold_id = hid;
		IF st IS NOT NULL THEN
			IF h1 IS DISTINCT FROM h0 THEN
				why := 'the hold changed although the call failed';
			END IF;
		ELSIF hid IS NULL THEN
			why := CASE WHEN got_b IS NOT NULL THEN 'a result for NULL' END;
		ELSIF h0.state = 'held' THEN
			IF got_b IS NOT TRUE OR h1.state <> 'released' OR h1.ended_at IS NULL THEN
				why := format('returned %s, the hold is now %s', got_b, h1.state);
			END IF;
		ELSIF h0.hold_id IS NOT NULL THEN
			IF got_b IS NOT FALSE OR h1 IS DISTINCT FROM h0 THEN
				why := format('returned %s for a hold %s, now %s', got_b, h0.state, h1.state);
			END IF;
		END IF;
		RETURN ARRAY[fuzz.judge(5, 'promise', ms, sql, hid IS NULL OR h0.hold_id IS NOT NULL,
								CASE WHEN hid IS NOT NULL AND h0.hold_id IS NULL THEN '{O2012}'::text[] END,
								why IS NULL, 'the hold released if held', coalesce(why, got_b::text), st, msg)];
	END IF;

	IF e = 6 THEN
		-- o2o_expire_holds(max): exactly min(max, due) due holds expired
		maxarg := CASE WHEN random() < 0.8 THEN fuzz.ri(0, 12)::int
					   ELSE fuzz.pick(ARRAY[-1, -2, -2147483648, 1000, 2147483647, NULL]) END;
		due := ARRAY(SELECT h.hold_id FROM o2o.hold h WHERE h.state = 'held' AND h.expires_at <= now());
		sql := format('SELECT o2o_expire_holds(%s) -- %s due', coalesce(maxarg::text, 'NULL'), cardinality(due));
		PERFORM fuzz.trace(sql);
		t0 := clock_timestamp();
		BEGIN
			got_i := o2o_expire_holds(maxarg);
		EXCEPTION WHEN query_canceled THEN
			RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
		WHEN OTHERS THEN
			st := SQLSTATE; msg := SQLERRM;
		END;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
		IF st IS NULL THEN
			n := (SELECT count(*) FROM o2o.hold h WHERE h.hold_id = ANY (due) AND h.state = 'expired');
			IF maxarg IS NULL THEN
				why := CASE WHEN got_i IS NOT NULL OR n > 0 THEN 'a result for NULL' END;
			ELSIF got_i IS DISTINCT FROM least(maxarg, cardinality(due)) OR n <> got_i
				  OR (SELECT count(*) FROM o2o.hold h WHERE h.state = 'expired' AND h.ended_at >= t0) <> got_i THEN
				why := format('returned %s, %s of %s due holds expired', got_i, n, cardinality(due));
			END IF;
		END IF;
		-- max < 0: 22023
		RETURN ARRAY[fuzz.judge(6, 'promise', ms, sql, maxarg IS NULL OR maxarg >= 0,
								CASE WHEN maxarg < 0 THEN '{22023}'::text[] END, why IS NULL,
								CASE WHEN maxarg < 0 THEN 'error 22023'
									 ELSE format('%s expired', least(maxarg, cardinality(due))) END,
								coalesce(why, got_i::text), st, msg)];
	END IF;

	-- e = 7: o2o_assign of an order placed with a hold_id
	scen := fuzz.pick(ARRAY['match', 'match', 'match', 'match', 'sku', 'qty', 'grid', 'due', 'due', 'ended', 'unknown']);
	hid := CASE WHEN scen IN ('match', 'sku', 'qty', 'grid') THEN fuzz.hold_of('{held}', false)
				WHEN scen = 'due' THEN fuzz.hold_of('{held}', true)
				WHEN scen = 'ended' THEN fuzz.hold_of('{taken,released,expired}', NULL) END;
	IF hid IS NULL AND scen <> 'unknown' THEN
		-- none of that kind: make a hold (not judged here; entry 4 judges o2o_hold)
		BEGIN
			SELECT o.sku, o.location INTO c FROM o2o.orders o
			 WHERE o.order_id >= fuzz.ri(1, (SELECT max(order_id) FROM o2o.orders)) ORDER BY o.order_id LIMIT 1;
			hid := o2o_hold(c.sku, c.location, 1, '10 minutes');
		EXCEPTION WHEN query_canceled THEN
			RAISE SQLSTATE 'FZ001' USING MESSAGE = 'making a hold for o2o_assign';
		END;
		IF hid IS NULL THEN
			scen := 'unknown';
		ELSIF scen = 'due' THEN
			UPDATE o2o.hold SET expires_at = now() - interval '1 second' WHERE hold_id = hid;
		ELSIF scen = 'ended' THEN
			PERFORM o2o_release_hold(hid);
		END IF;
	END IF;
	IF scen = 'unknown' THEN
		hid := coalesce((SELECT max(hold_id) FROM o2o.hold), 0) + fuzz.ri(1, 100);
	END IF;
	SELECT * INTO h0 FROM o2o.hold h WHERE h.hold_id = hid;
	v_sku := h0.sku; v_qty := h0.qty; g := h0.location;
	IF h0.hold_id IS NULL THEN
		SELECT o.sku, o.qty, o.location INTO v_sku, v_qty, g FROM o2o.orders o
		 WHERE o.order_id >= fuzz.ri(1, (SELECT max(order_id) FROM o2o.orders)) ORDER BY o.order_id LIMIT 1;
	ELSIF scen = 'sku' THEN
		v_sku := (SELECT x.sku FROM o2o.product x WHERE x.sku <> h0.sku
					AND EXISTS (SELECT 1 FROM o2o.national_price n WHERE n.sku = x.sku AND n.valid_from <= now()
								  AND (n.valid_to IS NULL OR n.valid_to > now()))
				  ORDER BY random() LIMIT 1);
	ELSIF scen = 'qty' THEN
		v_qty := h0.qty + fuzz.pick(ARRAY[1, 1, 2, 100]);
	ELSIF scen = 'grid' THEN
		g := (SELECT o.location FROM o2o.orders o WHERE o.grid_id <> h0.grid_id
				AND o.order_id >= fuzz.ri(1, (SELECT max(order_id) FROM o2o.orders)) ORDER BY o.order_id LIMIT 1);
		IF g IS NULL THEN
			g := (SELECT o.location FROM o2o.orders o WHERE o.grid_id <> h0.grid_id LIMIT 1);
		END IF;
	END IF;
	INSERT INTO o2o.orders (sku, qty, location, address, hold_id)
	VALUES (v_sku, v_qty, g, 'fuzz promise ' || scen, hid) RETURNING order_id INTO oid;
	sql := format('INSERT INTO o2o.orders (sku, qty, location, address, hold_id) VALUES (%L, %s, %s, %L, %s); SELECT o2o_assign(%s) -- %s, hold %s',
				  v_sku, v_qty, fuzz.lit(g), 'fuzz promise ' || scen, hid, oid, scen, coalesce(h0.state, 'unknown'));
	IF h0.state = 'held' AND (h0.sku <> v_sku OR h0.qty <> v_qty
							  OR h0.grid_id IS DISTINCT FROM (SELECT coalesce(o.grid_id, o2o_grid_nearest(o.location,
										current_setting('o2o_route.nearest_grid_m')::float8)) FROM o2o.orders o WHERE o.order_id = oid)) THEN
		errs := '{O2012}';
	END IF;
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		got_i := o2o_assign(oid);
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	SELECT * INTO h1 FROM o2o.hold h WHERE h.hold_id = hid;
	SELECT o.status, o.promised_date, o.status_reason INTO o1 FROM o2o.orders o WHERE o.order_id = oid;
	SELECT a.dealer_id, a.installer_id, a.install_day INTO a1 FROM o2o.assignment a WHERE a.order_id = oid AND a.state = 'active';
	IF st IS NOT NULL THEN
		IF h1 IS DISTINCT FROM h0 OR o1.status <> 'pending' OR a1.dealer_id IS NOT NULL THEN
			why := format('the order (%s) or the hold (%s -> %s) changed although the call failed', o1.status, h0.state, h1.state);
		END IF;
	ELSIF got_i IS NOT NULL AND (o1.status <> 'assigned' OR a1.dealer_id IS DISTINCT FROM got_i) THEN
		why := format('returned dealer %s, but the order is %s with dealer %s', got_i, o1.status, a1.dealer_id);
	ELSIF got_i IS NULL AND (o1.status <> 'unassignable' OR o1.status_reason IS NULL) THEN
		why := format('NULL, but the order is %s (reason %s)', o1.status, o1.status_reason);
	ELSIF h0.state = 'held' AND h0.expires_at > now() THEN
		-- a match: the hold is taken
		IF got_i IS DISTINCT FROM h0.dealer_id OR h1.state <> 'taken' OR h1.order_id IS DISTINCT FROM oid
		   OR (a1.installer_id, a1.install_day, o1.promised_date) IS DISTINCT FROM (h0.installer_id, h0.install_day, h0.promised_date) THEN
			why := format('hold %s of dealer %s (installer %s on %s, promised %s) not taken: dealer %s (installer %s on %s, promised %s), hold %s by order %s',
						  hid, h0.dealer_id, h0.installer_id, h0.install_day, h0.promised_date, got_i, a1.installer_id,
						  a1.install_day, o1.promised_date, h1.state, h1.order_id);
		END IF;
	ELSIF h0.state = 'held' THEN
		IF h1.state <> 'expired' THEN
			why := format('an expired hold %s is %s after o2o_assign', hid, h1.state);
		END IF;
	ELSIF h1 IS DISTINCT FROM h0 THEN
		why := format('hold %s, %s, changed', hid, coalesce(h0.state, 'unknown'));
	END IF;
	RETURN ARRAY[fuzz.judge(7, 'promise', ms, sql, cardinality(errs) = 0, CASE WHEN cardinality(errs) > 0 THEN errs END,
							why IS NULL, 'the README''s o2o_assign of an order with a hold', coalesce(why, got_i::text), st, msg)];
END
$$;

/*
 * After each statement: o2o.invariant_violations (stock, bookings,
 * assignments, holds and the ledger) is empty.
 */
CREATE FUNCTION fuzz.promise_end(seed bigint, i bigint) RETURNS void
	LANGUAGE sql
	AS $$ SELECT fuzz.invariants_hold('promise', 8, seed, i) $$;
