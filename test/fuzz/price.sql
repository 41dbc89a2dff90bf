/*
 * test/fuzz/price.sql -- family "price": o2o_national_price(sku, at) over
 * random price periods and times, against SQL: the price of the period
 * [valid_from, valid_to) (valid_to NULL: open, also at +infinity) that
 * holds `at`, NULL when none does, O2003 for an unknown SKU.
 *
 * The periods of the fuzz SKUs are redrawn every 400 calls (an "epoch",
 * seeded by the epoch alone, so that any call can be replayed by itself),
 * with times from -infinity to +infinity; every other call of entry 2
 * changes periods (insert, update, delete; bad ones too) in a transaction
 * of its own, looks prices up there -- the backend's price cache must
 * follow its own changes -- and rolls back.
 */

-- SKUs whose periods the fuzzer owns; some with names that sort oddly
CREATE TABLE fuzz.price_sku (sku text PRIMARY KEY);
CREATE TABLE fuzz.price_epoch (epoch bigint);

CREATE FUNCTION fuzz.prepare_price() RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	INSERT INTO fuzz.price_sku
	SELECT 'FZ-' || n FROM generate_series(1, 12) n
	UNION ALL
	SELECT s FROM unnest(ARRAY['', ' ', 'fz-1', 'FZ-1 ', 'Ä-ü', '家电-空调', 'a''b', E'tab\there',
							   repeat('L', 63), repeat('L', 64), repeat('L', 65), repeat('Z', 300),
							   'FZ', 'FZ-100', 'FZ-1000']) s;
	INSERT INTO o2o.product (sku, name, category, needs_install, climates)
	SELECT sku, 'fuzz ' || sku, 'fridge', false, NULL FROM fuzz.price_sku;
	INSERT INTO fuzz.price_epoch VALUES (-1);
END
$$;

-- a time: near the SKU's period bounds, anywhere in 2020-2032, or extreme
CREATE FUNCTION fuzz.price_time(sku text) RETURNS timestamptz
	LANGUAGE plpgsql
	AS $$
DECLARE
	b timestamptz;
	r float8 := random();
BEGIN
	IF r < 0.45 THEN
		SELECT CASE WHEN random() < 0.5 OR valid_to IS NULL THEN valid_from ELSE valid_to END INTO b
		  FROM o2o.national_price p WHERE p.sku = price_time.sku ORDER BY random() LIMIT 1;
		IF b IS NOT NULL AND isfinite(b) THEN
			RETURN b + fuzz.pick(ARRAY['0', '0', '1 microsecond', '-1 microsecond', '1 second', '-1 day']::interval[]);
		END IF;
		RETURN coalesce(b, 'infinity');
	ELSIF r < 0.85 THEN
		RETURN timestamptz '2020-01-01 00:00+00' + random() * interval '12 years';
	END IF;
	RETURN fuzz.pick(ARRAY['infinity', '-infinity', '4713-01-01 00:00:00+00 BC', '294276-12-31 23:59:59.999999+00',
						   '1970-01-01 00:00+00', '2000-01-01 00:00+00', '2000-01-01 00:00+00']::timestamptz[]);
END
$$;

-- a SKU argument: mostly the fuzzer's, sometimes the world's or unknown
CREATE FUNCTION fuzz.price_sku_arg() RETURNS text
	LANGUAGE sql VOLATILE
	AS $$
	SELECT CASE WHEN r < 0.8 THEN (SELECT sku FROM fuzz.price_sku ORDER BY random() LIMIT 1)
				WHEN r < 0.87 THEN (SELECT sku FROM o2o.product ORDER BY random() LIMIT 1)
				ELSE fuzz.pick(ARRAY['FZ-0', 'FZ-13', 'nope', 'fz-2', 'FZ-1  ', 'L', repeat('L', 66), E'\u00c4-\u00fc ',
									 'AC-001 ', 'ac-001', '%', '_']) END
	  FROM (SELECT random() AS r) x
$$;

-- one period, random, for a SKU: sometimes bad or overlapping
CREATE FUNCTION fuzz.price_period(sku text, OUT vf timestamptz, OUT vt timestamptz, OUT price numeric)
	LANGUAGE plpgsql
	AS $$
BEGIN
	vf := CASE WHEN random() < 0.05 THEN '-infinity' ELSE timestamptz '2020-01-01 00:00+00' + random() * interval '12 years' END;
	vt := CASE WHEN random() < 0.3 THEN NULL
			   WHEN random() < 0.05 THEN 'infinity'
			   WHEN random() < 0.05 THEN vf - interval '1 day'
			   WHEN random() < 0.03 THEN vf
			   ELSE vf + random() * interval '2 years' + interval '1 microsecond' END;
	price := CASE WHEN random() < 0.9 THEN round((random() * 9999)::numeric, 2) + 0.01
				  ELSE fuzz.pick(ARRAY[0, -1, 0.001, 0.005, 0.01, 9999999999.99]::numeric[]) END;
END
$$;

/*
 * Insert one period (or update or delete one), judged as o2o.national_price
 * DML: the rules say which SQLSTATEs it may end with.
 */
CREATE FUNCTION fuzz.price_dml(sku text) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	p record;
	op text := fuzz.pick(ARRAY['insert', 'insert', 'insert', 'update', 'delete']);
	old record;
	errs text[] := '{}';
	sql text;
	st text;
	msg text;
	t0 timestamptz;
	rounded numeric;
	o fuzz.out;
BEGIN
	p := fuzz.price_period(sku);
	rounded := round(p.price, 2);
	IF op <> 'insert' THEN
		SELECT n.valid_from, n.valid_to INTO old FROM o2o.national_price n WHERE n.sku = price_dml.sku ORDER BY random() LIMIT 1;
		IF old IS NULL THEN
			op := 'insert';
		END IF;
	END IF;
	IF op = 'insert' THEN
		sql := format('INSERT INTO o2o.national_price (sku, price, valid_from, valid_to) VALUES (%L, %s, %L, %L)',
					  sku, p.price, p.vf, p.vt);
		IF NOT EXISTS (SELECT 1 FROM o2o.product x WHERE x.sku = price_dml.sku) THEN
			errs := errs || '{23503}'::text[];
		END IF;
		IF EXISTS (SELECT 1 FROM o2o.national_price n WHERE n.sku = price_dml.sku AND n.valid_from = p.vf) THEN
			errs := errs || '{23505,23P01}'::text[];
		END IF;
	ELSIF op = 'update' THEN
		p.vf := old.valid_from;
		sql := format('UPDATE o2o.national_price SET price = %s, valid_to = %L WHERE sku = %L AND valid_from = %L',
					  p.price, p.vt, sku, p.vf);
	ELSE
		sql := format('DELETE FROM o2o.national_price WHERE sku = %L AND valid_from = %L', sku, old.valid_from);
	END IF;
	IF op <> 'delete' THEN
		IF rounded <= 0 OR (p.vt IS NOT NULL AND p.vt <= p.vf) THEN
			errs := errs || '{23514}'::text[];
		ELSIF EXISTS (SELECT 1 FROM o2o.national_price n
					   WHERE n.sku = price_dml.sku AND n.valid_from <> p.vf
						 AND tstzrange(n.valid_from, n.valid_to, '[)') && tstzrange(p.vf, p.vt, '[)')) THEN
			errs := errs || '{23P01}'::text[];
		END IF;
	END IF;
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		EXECUTE sql;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	o := fuzz.judge(2, 'price', extract(epoch FROM clock_timestamp() - t0) * 1000, sql,
					cardinality(errs) = 0, CASE WHEN cardinality(errs) > 0 THEN errs END, true, NULL, NULL, st, msg);
	o.sql := sql;		-- also for a success: the lookups after it name it
	RETURN o;
END
$$;

-- one call of o2o_national_price, against SQL
CREATE FUNCTION fuzz.price_call(prefix text) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	v_sku text := fuzz.price_sku_arg();
	at timestamptz := fuzz.price_time(v_sku);
	sql text := format('SELECT o2o_national_price(%L, %L)', v_sku, at);
	got numeric;
	want numeric;
	known boolean;
	st text;
	msg text;
	t0 timestamptz;
BEGIN
	IF random() < 0.02 THEN
		at := NULL;		-- STRICT: NULL
		sql := format('SELECT o2o_national_price(%L, NULL)', v_sku);
	END IF;
	known := EXISTS (SELECT 1 FROM o2o.product p WHERE p.sku = v_sku);
	SELECT n.price INTO want FROM o2o.national_price n
	 WHERE n.sku = v_sku AND n.valid_from <= at AND (n.valid_to IS NULL OR at < n.valid_to);
	PERFORM fuzz.trace(prefix || sql);
	t0 := clock_timestamp();
	BEGIN
		got := o2o_national_price(v_sku, at);
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = prefix || sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	RETURN fuzz.judge(1, 'price', extract(epoch FROM clock_timestamp() - t0) * 1000, prefix || sql,
					  known OR at IS NULL, CASE WHEN NOT known THEN '{O2003}'::text[] END,
					  got IS NOT DISTINCT FROM want, coalesce(want::text, 'NULL'), got::text, st, msg);
END
$$;

-- the periods of an epoch: drawn from the epoch alone
CREATE FUNCTION fuzz.price_epoch_draw(seed bigint, epoch bigint) RETURNS fuzz.out[]
	LANGUAGE plpgsql
	AS $$
DECLARE
	outs fuzz.out[] := '{}';
	s text;
BEGIN
	PERFORM fuzz.seed_call(seed, 'price-epoch', epoch);
	DELETE FROM o2o.national_price n USING fuzz.price_sku f WHERE n.sku = f.sku;
	FOR s IN SELECT sku FROM fuzz.price_sku ORDER BY sku LOOP
		FOR k IN 1..fuzz.ri(0, 6) LOOP
			outs := outs || fuzz.price_dml(s);
		END LOOP;
	END LOOP;
	UPDATE fuzz.price_epoch SET epoch = price_epoch_draw.epoch;
	RETURN outs;
END
$$;

CREATE FUNCTION fuzz.price_step(seed bigint, i bigint, e int) RETURNS fuzz.out[]
	LANGUAGE plpgsql
	AS $$
DECLARE
	epoch bigint := i / 400;
	outs fuzz.out[] := '{}';
	prefix text := '';
	o fuzz.out;
BEGIN
	IF (SELECT x.epoch FROM fuzz.price_epoch x) IS DISTINCT FROM epoch THEN
		outs := fuzz.price_epoch_draw(seed, epoch);
		PERFORM fuzz.seed_call(seed, 'price', i);
	END IF;
	IF e = 1 THEN
		RETURN outs || fuzz.price_call('');
	END IF;
	-- changes in a transaction of their own, lookups after them, and a rollback
	BEGIN
		FOR k IN 1..fuzz.ri(1, 3) LOOP
			o := fuzz.price_dml((SELECT sku FROM fuzz.price_sku ORDER BY random() LIMIT 1));
			outs := outs || o;
			prefix := prefix || coalesce(o.sql, '(a period change);') || '; ';
		END LOOP;
		FOR k IN 1..3 LOOP
			outs := outs || fuzz.price_call('-- after: ' || prefix || E'\n');
		END LOOP;
		RAISE SQLSTATE 'FZ002';
	EXCEPTION WHEN SQLSTATE 'FZ002' THEN
		NULL;
	END;
	RETURN outs;
END
$$;
