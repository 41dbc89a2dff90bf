/*
 * test/fuzz/agg.sql -- family "agg": o2o_best, o2o_topk and o2o_fairness
 * on random groups of rows with NULLs, signed zeros, infinities, NaN,
 * 1e+-300, subnormals and ties, each group aggregated under a forced
 * parallel plan (workers aggregate, serialize; the leader combines) and
 * serially, against plain SQL:
 *  - o2o_best: the first id by score desc, id asc, of the rows with both;
 *  - o2o_topk: the first k of them (NULL when there are none);
 *  - o2o_fairness: (sum x)^2 / (n sum x^2) in numeric (products, not ^,
 *    which rounds tiny values to 0), 1 when all are zero,
 *    NULL without rows; equal within a relative 1e-9.
 * A group the README says must fail (a NaN score with an id; k outside
 * 1..10000, NULL or varying; a negative, NaN or infinite load) is
 * aggregated alone, and must fail with 22023; so must one parallel query
 * over all groups when any group is bad.
 *
 * One step (one call number) aggregates a few hundred groups: each group
 * and aggregate is one call in parallel and one serially.
 */

-- the rows of one step; a regular table, so that parallel workers read it
CREATE UNLOGGED TABLE fuzz.agg_rows (
	grp			int NOT NULL,
	rn			int,
	id			bigint,
	score		float8,
	k			int,
	load		float8,
	ok_best		boolean NOT NULL DEFAULT true,
	ok_topk		boolean NOT NULL DEFAULT true,
	ok_fair		boolean NOT NULL DEFAULT true
);
CREATE INDEX ON fuzz.agg_rows (grp);

/*
 * The rows of one step: ngroups groups of 0..60 rows (a few of up to 3000),
 * inserted in random order so that each group is spread over the pages the
 * parallel workers share out.  Scores are mostly a few values (ties),
 * sometimes anything; loads are non-negative, from zero and subnormals to
 * the largest double.  About one group in six gets a value the README says
 * must fail, for one of the aggregates (or a NaN score with a NULL id,
 * which is ignored).  Set-wise, for speed; the same seed gives the same rows.
 */
CREATE FUNCTION fuzz.agg_fill(ngroups int) RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	TRUNCATE fuzz.agg_rows;
	CREATE TEMP TABLE IF NOT EXISTS agg_group (grp int, n int, kval int, idrange bigint, bad int, badrow int)
		ON COMMIT DROP;
	TRUNCATE agg_group;
	INSERT INTO agg_group
	SELECT grp, n, kval, idrange,
		   CASE WHEN n > 0 AND r5 < 0.17 THEN 1 + floor(r6 * 6)::int END, 1 + floor(r7 * n)::int
	  FROM (SELECT grp,
				   CASE WHEN r1 < 0.02 THEN 500 + floor(r2 * 2500) ELSE floor(r2 * 61) END::int AS n,
				   CASE WHEN r3 < 0.1 THEN 10000 WHEN r3 < 0.2 THEN 1 + floor(r4 * 10000)
						ELSE 1 + floor(r4 * 12) END::int AS kval,
				   (ARRAY[3, 20, 1000, 9223372036854775807])[1 + floor(r8 * 4)::int] AS idrange,
				   r5, r6, r7
			  FROM (SELECT grp, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
						   random() AS r5, random() AS r6, random() AS r7, random() AS r8
					  FROM generate_series(1, ngroups) grp) x) y;
	INSERT INTO fuzz.agg_rows (grp, rn, id, score, k, load, ok_best, ok_topk, ok_fair)
	WITH raw AS (
		SELECT g.grp, r.rn, g.bad, r.rn = g.badrow AS hit,
			   CASE WHEN u1 < 0.05 THEN NULL
					WHEN g.idrange = 9223372036854775807 THEN
						(ARRAY[9223372036854775807, -9223372036854775808, 0, -1, (u2 * 1e18)::bigint,
							   -(u2 * 1e18)::bigint])[1 + floor(u3 * 6)::int]
					ELSE floor(u2 * (2 * g.idrange + 1))::bigint - g.idrange END AS id,
			   CASE WHEN u4 < 0.05 THEN NULL
					WHEN u4 < 0.45 THEN floor(u5 * 8) / 2
					WHEN u4 < 0.75 THEN (u5 - 0.5) * power(10, floor(u6 * 20) - 10)
					ELSE ('{0,-0,5e-324,-5e-324,1e-310,1e-300,-1e-300,1e300,-1e300,1.7976931348623157e308,'
						  '-1.7976931348623157e308,Infinity,-Infinity,2.2250738585072014e-308}'::float8[])[1 + floor(u6 * 14)::int] END
				 AS score,
			   g.kval AS k,
			   CASE WHEN u7 < 0.05 THEN NULL
					WHEN u7 < 0.15 THEN 0
					WHEN u7 < 0.55 THEN floor(u8 * 10)
					WHEN u7 < 0.8 THEN u8 * power(10, floor(u9 * 20) - 10)
					ELSE ('{0,-0,5e-324,1e-310,2.2250738585072014e-308,1e-300,1e300,1.7976931348623157e308,'
						  '8.98846567431158e307,1e-15,1e15}'::float8[])[1 + floor(u9 * 11)::int] END AS load
		  FROM agg_group g,
			   LATERAL (SELECT rn, random() AS u1, random() AS u2, random() AS u3, random() AS u4, random() AS u5,
							   random() AS u6, random() AS u7, random() AS u8, random() AS u9
						  FROM generate_series(1, g.n) rn) r),
	-- the values that must fail: 1 a NaN score with an id, 3 a bad k, 4-6 a bad load;
	-- 2 a NaN score with a NULL id, which is ignored
	spoilt AS (
		SELECT grp, rn,
			   CASE WHEN hit AND bad = 1 THEN coalesce(id, 7) WHEN hit AND bad = 2 THEN NULL ELSE id END AS id,
			   CASE WHEN hit AND bad IN (1, 2) THEN 'NaN' ELSE score END AS score,
			   CASE WHEN hit AND bad = 3 THEN (ARRAY[NULL, 0, -1, 10001, 2147483647, -2147483648, k + 1])[1 + grp % 7]
					ELSE k END AS k,
			   CASE WHEN hit AND bad >= 4 THEN ('{-1,-5e-324,-1e300,NaN,Infinity,-Infinity,-0.5}'::float8[])[1 + grp % 7]
					ELSE load END AS load
		  FROM raw),
	-- what the README says of each group
	judged AS (
		SELECT s.*,
			   coalesce(bool_or(id IS NOT NULL AND score = 'NaN') OVER w, false) AS nan_score,
			   coalesce(bool_or(k IS NULL OR k < 1 OR k > 10000) OVER w OR min(k) OVER w <> max(k) OVER w, true) AS bad_k,
			   coalesce(bool_or(load < 0 OR load = 'NaN' OR load IN ('Infinity', '-Infinity')) OVER w, false) AS bad_load
		  FROM spoilt s
		WINDOW w AS (PARTITION BY grp))
	SELECT grp, rn, id, score, k, load, NOT nan_score, NOT (nan_score OR bad_k), NOT bad_load
	  FROM judged ORDER BY random();
END
$$;

-- the rows of one group as a VALUES list, for the reproduction of a failure
CREATE FUNCTION fuzz.agg_values(g int) RETURNS text
	LANGUAGE sql STABLE
	AS $$
	SELECT format('(VALUES %s) v(id, score, k, load)',
				  coalesce(string_agg(format('(%s::bigint, %s::float8, %s::int, %s::float8)', quote_nullable(id),
											 quote_nullable(score), quote_nullable(k), quote_nullable(load)), ', '),
						   '(NULL::bigint, NULL::float8, NULL::int, NULL::float8)'))
	  FROM fuzz.agg_rows WHERE grp = g
$$;

-- the forced parallel plan of test/sql/agg.sql, or a serial one
CREATE FUNCTION fuzz.agg_mode(parallel boolean) RETURNS void
	LANGUAGE sql
	AS $$
	SELECT set_config('max_parallel_workers_per_gather', CASE WHEN parallel THEN '2' ELSE '0' END, true),
		   set_config('parallel_setup_cost', '0', true), set_config('parallel_tuple_cost', '0', true),
		   set_config('min_parallel_table_scan_size', '0', true),
		   set_config('parallel_leader_participation', 'off', true),
		   set_config('enable_indexscan', CASE WHEN parallel THEN 'off' ELSE 'on' END, true),
		   set_config('enable_bitmapscan', CASE WHEN parallel THEN 'off' ELSE 'on' END, true)
$$;

CREATE FUNCTION fuzz.agg_query() RETURNS text
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT 'SELECT grp, o2o_best(id, score) FILTER (WHERE ok_best) AS best,
					   o2o_topk(id, score, k) FILTER (WHERE ok_topk) AS topk,
					   o2o_fairness(load) FILTER (WHERE ok_fair) AS fair
				  FROM fuzz.agg_rows GROUP BY grp' $$;

CREATE FUNCTION fuzz.agg_step(seed bigint, i bigint, e int) RETURNS fuzz.out[]
	LANGUAGE plpgsql
	AS $$
DECLARE
	outs fuzz.out[] := '{}';
	plan text;
	t0 timestamptz;
	ms_par float8;
	ms_ser float8;
	st text;
	msg text;
	r record;
	agg text;
	any_bad boolean;
	v text;
	ok boolean;
	sql text;
	a int;
	o fuzz.out;
	ngroups int := fuzz.ri(100, 250)::int;		-- a step well within statement_timeout, also on a busy machine
	oks int[] := '{0,0,0}';
BEGIN
	PERFORM fuzz.agg_fill(ngroups);

	-- the plan must be parallel: workers aggregate and serialize, the leader combines
	PERFORM fuzz.agg_mode(true);
	plan := '';
	FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || fuzz.agg_query() LOOP
		plan := plan || ' ' || r."QUERY PLAN";
	END LOOP;
	IF plan NOT LIKE '%Partial%' OR plan NOT LIKE '%Gather%' THEN
		RAISE EXCEPTION 'fuzz harness: the aggregates did not get a parallel plan: %', plan;
	END IF;

	DROP TABLE IF EXISTS agg_par, agg_ser;
	sql := 'CREATE TEMP TABLE agg_par ON COMMIT DROP AS ' || fuzz.agg_query();
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		EXECUTE sql;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql || ' -- parallel';
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms_par := extract(epoch FROM clock_timestamp() - t0) * 1000;
	IF st IS NOT NULL THEN
		-- the good groups failed together: one failure for each aggregate
		FOR a IN 1..3 LOOP
			outs := outs || fuzz.judge(a, 'agg', ms_par, sql || ' -- parallel, good groups only', true, NULL, false,
									   NULL, NULL, st, msg);
		END LOOP;
		RETURN outs;
	END IF;
	PERFORM fuzz.agg_mode(false);
	sql := 'CREATE TEMP TABLE agg_ser ON COMMIT DROP AS ' || fuzz.agg_query();
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		EXECUTE sql;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql || ' -- serial';
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms_ser := extract(epoch FROM clock_timestamp() - t0) * 1000;
	IF st IS NOT NULL THEN
		FOR a IN 1..3 LOOP
			outs := outs || fuzz.judge(a, 'agg', ms_ser, sql || ' -- serial, good groups only', true, NULL, false,
									   NULL, NULL, st, msg);
		END LOOP;
		RETURN outs;
	END IF;

	-- plain SQL, group by group, for the good groups (planned for all rows, not a cursor's first)
	PERFORM set_config('cursor_tuple_fraction', '1', true);
	FOR r IN
		WITH g AS (SELECT DISTINCT grp, ok_best, ok_topk, ok_fair FROM fuzz.agg_rows),
		best AS (SELECT DISTINCT ON (grp) grp, id FROM fuzz.agg_rows
				  WHERE ok_best AND id IS NOT NULL AND score IS NOT NULL ORDER BY grp, score DESC, id),
		topk AS (SELECT grp, array_agg(id ORDER BY rn) AS ids
				   FROM (SELECT grp, id, k, row_number() OVER (PARTITION BY grp ORDER BY score DESC, id) AS rn
						   FROM fuzz.agg_rows WHERE ok_topk AND id IS NOT NULL AND score IS NOT NULL) x
				  WHERE rn <= k GROUP BY grp),
		fair AS (SELECT grp, CASE WHEN n = 0 THEN NULL WHEN sq = 0 THEN 1::numeric ELSE sm * sm / (n * sq) END AS f
				   FROM (SELECT grp, count(load) AS n, sum(load::numeric) AS sm, sum(load::numeric * load::numeric) AS sq
						   FROM fuzz.agg_rows WHERE ok_fair GROUP BY grp) x)
		SELECT g.grp, g.ok_best, g.ok_topk, g.ok_fair,
			   best.id AS o_best, topk.ids AS o_topk, fair.f AS o_fair,
			   p.best AS p_best, p.topk AS p_topk, p.fair AS p_fair,
			   s.best AS s_best, s.topk AS s_topk, s.fair AS s_fair
		  FROM g LEFT JOIN best USING (grp) LEFT JOIN topk USING (grp) LEFT JOIN fair USING (grp)
		  LEFT JOIN agg_par p USING (grp) LEFT JOIN agg_ser s USING (grp)
	LOOP
		FOR a IN 1..3 LOOP
			CONTINUE WHEN NOT (CASE a WHEN 1 THEN r.ok_best WHEN 2 THEN r.ok_topk ELSE r.ok_fair END);
			FOR m IN 1..2 LOOP
				CASE a
					WHEN 1 THEN
						v := CASE m WHEN 1 THEN r.p_best ELSE r.s_best END;
						ok := v IS NOT DISTINCT FROM r.o_best::text;
					WHEN 2 THEN
						v := CASE m WHEN 1 THEN r.p_topk ELSE r.s_topk END;
						ok := v IS NOT DISTINCT FROM r.o_topk::text;
					ELSE
						v := CASE m WHEN 1 THEN r.p_fair ELSE r.s_fair END;
						ok := (v IS NULL AND r.o_fair IS NULL)
							OR (v::float8 <> 'NaN' AND abs(v::float8::numeric - r.o_fair) <= 1e-9 * r.o_fair);
				END CASE;
				IF ok THEN
					oks[a] := oks[a] + 1;
					CONTINUE;
				END IF;
				outs := outs || fuzz.judge(a, 'agg', CASE m WHEN 1 THEN ms_par ELSE ms_ser END / (3 * ngroups),
										   format('SELECT %s FROM %s -- %s, group %s of call %s', CASE a WHEN 1 THEN 'o2o_best(id, score)'
												  WHEN 2 THEN 'o2o_topk(id, score, k)' ELSE 'o2o_fairness(load)' END,
												  CASE WHEN ok THEN '' ELSE fuzz.agg_values(r.grp) END,
												  CASE m WHEN 1 THEN 'under a forced parallel plan' ELSE 'serially' END, r.grp, i),
										   true, NULL, ok,
										   CASE a WHEN 1 THEN r.o_best::text WHEN 2 THEN r.o_topk::text ELSE r.o_fair::text END,
										   v, NULL, NULL);
			END LOOP;
		END LOOP;
	END LOOP;
	-- the successes, counted; the queries' time shared out; a query past the timeout fails
	FOR a IN 1..3 LOOP
		outs := outs || ROW(a, 0, (ms_par + ms_ser) / 3, NULL, NULL, NULL, NULL, oks[a])::fuzz.out;
		IF greatest(ms_par, ms_ser) > fuzz.conf('timeout_ms')::float8 + 100 THEN
			outs := outs || fuzz.judge(a, 'agg', greatest(ms_par, ms_ser), fuzz.agg_query() || format(' -- the groups of call %s', i),
									   true, NULL, true, NULL, NULL, NULL, NULL);
		END IF;
	END LOOP;

	-- the bad groups, each alone (serially): 22023
	FOR r IN SELECT DISTINCT grp, ok_best, ok_topk, ok_fair FROM fuzz.agg_rows
			  WHERE NOT (ok_best AND ok_topk AND ok_fair) ORDER BY grp LOOP
		FOR a IN 1..3 LOOP
			CONTINUE WHEN CASE a WHEN 1 THEN r.ok_best WHEN 2 THEN r.ok_topk ELSE r.ok_fair END;
			sql := format('SELECT %s FROM fuzz.agg_rows WHERE grp = %s',
						  CASE a WHEN 1 THEN 'o2o_best(id, score)' WHEN 2 THEN 'o2o_topk(id, score, k)'
								 ELSE 'o2o_fairness(load)' END, r.grp);
			PERFORM fuzz.trace(sql);
			st := NULL;
			v := NULL;
			t0 := clock_timestamp();
			BEGIN
				CASE a
					WHEN 1 THEN SELECT o2o_best(x.id, x.score) INTO v FROM fuzz.agg_rows x WHERE x.grp = r.grp;
					WHEN 2 THEN SELECT o2o_topk(x.id, x.score, x.k) INTO v FROM fuzz.agg_rows x WHERE x.grp = r.grp;
					ELSE SELECT o2o_fairness(x.load) INTO v FROM fuzz.agg_rows x WHERE x.grp = r.grp;
				END CASE;
			EXCEPTION WHEN query_canceled THEN
				RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
			WHEN OTHERS THEN
				st := SQLSTATE; msg := SQLERRM;
			END;
			o := fuzz.judge(a, 'agg', extract(epoch FROM clock_timestamp() - t0) * 1000, NULL,
							false, '{22023}', false, NULL, v, st, msg);
			IF o.outcome = 2 THEN
				o.sql := format('SELECT %s FROM %s', split_part(split_part(sql, 'SELECT ', 2), ' FROM', 1),
								fuzz.agg_values(r.grp));
			END IF;
			outs := outs || o;
		END LOOP;
	END LOOP;

	-- one aggregate over every group under the parallel plan: fails iff a group is bad for it
	a := 1 + (i % 3)::int;
	SELECT bool_or(NOT CASE a WHEN 1 THEN ok_best WHEN 2 THEN ok_topk ELSE ok_fair END) INTO any_bad FROM fuzz.agg_rows;
	PERFORM fuzz.agg_mode(true);
	sql := format('SELECT count(x) FROM (SELECT %s AS x FROM fuzz.agg_rows GROUP BY grp) s',
				  CASE a WHEN 1 THEN 'o2o_best(id, score)' WHEN 2 THEN 'o2o_topk(id, score, k)' ELSE 'o2o_fairness(load)' END);
	st := NULL;
	t0 := clock_timestamp();
	BEGIN
		EXECUTE sql INTO v;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql || ' -- parallel, every group';
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	outs := outs || fuzz.judge(a, 'agg', extract(epoch FROM clock_timestamp() - t0) * 1000,
							   sql || format(' -- under a forced parallel plan, the rows of call %s', i),
							   NOT any_bad, CASE WHEN any_bad THEN '{22023}'::text[] END, true, NULL, v, st, msg);
	PERFORM fuzz.agg_mode(false);
	RETURN outs;
END
$$;
