SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
--
-- o2o_best, o2o_topk, o2o_fairness: parallel-safe aggregates with
-- internal state.  Stands alone: it creates the extension itself.
--

--
-- o2o_best(id, score)
--

-- ties on score go to the smallest id
SELECT o2o_best(id, score)
FROM (VALUES (3::bigint, 1.0::float8), (2, 2.0), (1, 2.0), (4, 0.5)) v(id, score);
-- rows with a NULL id or score are ignored (even a NaN score with NULL id)
SELECT o2o_best(id, score)
FROM (VALUES (NULL::bigint, 9.0::float8), (5, NULL), (7, 1.0), (NULL, 'NaN'), (8, 0.5)) v(id, score);
-- one row
SELECT o2o_best(id, score) FROM (VALUES (42::bigint, -1.5::float8)) v(id, score);
-- no rows, and only ignored rows: NULL
SELECT o2o_best(id, score) FROM (VALUES (1::bigint, 1::float8)) v(id, score) WHERE false;
SELECT o2o_best(id, score) FROM (VALUES (NULL::bigint, 1::float8), (2, NULL)) v(id, score);
-- infinities rank normally; -0 and 0 tie, so the smaller id wins
SELECT o2o_best(id, score)
FROM (VALUES (1::bigint, '-Infinity'::float8), (2, -1e308)) v(id, score);
SELECT o2o_best(id, score)
FROM (VALUES (9::bigint, 1e308::float8), (10, 'Infinity')) v(id, score);
SELECT o2o_best(id, score)
FROM (VALUES (5::bigint, '-0'::float8), (4, '0')) v(id, score);
-- serial GROUP BY
SELECT g, o2o_best(id, score)
FROM (VALUES (1, 10::bigint, 1::float8), (1, 11, 3), (2, 20, 5), (2, 21, 5), (3, NULL, 1))
	v(g, id, score)
GROUP BY g ORDER BY g;
-- NaN score is an error that names the id
SELECT o2o_best(id, score)
FROM (VALUES (1::bigint, 1::float8), (17, 'NaN')) v(id, score);
\echo :LAST_ERROR_SQLSTATE

--
-- o2o_topk(id, score, k)
--
CREATE TABLE small (id bigint, score float8);
INSERT INTO small VALUES (1, 10), (2, 30), (3, 20), (4, 30), (5, 5), (6, 20),
	(NULL, 100), (7, NULL);

-- best first: score desc, then id asc
SELECT o2o_topk(id, score, 3) FROM small;
SELECT o2o_topk(id, score, 1), o2o_best(id, score) FROM small;
-- fewer than k rows: all of them
SELECT o2o_topk(id, score, 10) FROM small;
SELECT o2o_topk(id, score, 10000) FROM small;
-- one row
SELECT o2o_topk(id, score, 5) FROM small WHERE id = 5;
-- no rows, and only ignored rows: NULL
SELECT o2o_topk(id, score, 3) FROM small WHERE false;
SELECT o2o_topk(id, score, 3) FROM small WHERE id IS NULL OR score IS NULL;
-- exactly k = 10000 rows kept out of 20000
SELECT cardinality(t) AS n, t[1] AS first, t[10000] AS last
FROM (SELECT o2o_topk(i, i::float8, 10000) AS t FROM generate_series(1, 20000) i) s;
-- many ties: smallest ids win
SELECT o2o_topk(i, (i % 3)::float8, 4) FROM generate_series(1, 1000) i;
-- the final function leaves the state intact, so it also works as a window
SELECT id, o2o_topk(id, score, 2) OVER (ORDER BY id) FROM small WHERE id IS NOT NULL
ORDER BY id;
-- k out of range, NULL, or varying within a group
SELECT o2o_topk(id, score, 0) FROM small;
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_topk(id, score, 10001) FROM small;
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_topk(id, score, NULL) FROM small;
\echo :LAST_ERROR_SQLSTATE
-- k is checked even on rows that are otherwise ignored
SELECT o2o_topk(id, score, -1) FROM small WHERE id IS NULL;
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_topk(id, score, id::int) FROM small WHERE id IN (1, 2);
\echo :LAST_ERROR_SQLSTATE
-- NaN score
SELECT o2o_topk(id, score, 2) FROM (VALUES (3::bigint, 'NaN'::float8)) v(id, score);
\echo :LAST_ERROR_SQLSTATE
-- differing k in different groups is fine
SELECT g, o2o_topk(id, score, g)
FROM (VALUES (1, 1::bigint, 1::float8), (1, 2, 2), (2, 3, 3), (2, 4, 4), (2, 5, 0)) v(g, id, score)
GROUP BY g ORDER BY g;

--
-- o2o_fairness(load)
--
SELECT round(o2o_fairness(x)::numeric, 12) AS even
FROM (VALUES (1::float8), (1), (1), (1)) v(x);
SELECT round(o2o_fairness(x)::numeric, 12) AS one_of_four
FROM (VALUES (1::float8), (0), (0), (0)) v(x);
SELECT round(o2o_fairness(x)::numeric, 12) AS six_sevenths
FROM (VALUES (1::float8), (2), (3)) v(x);
-- scale invariant, even for large values
SELECT round(o2o_fairness(x * 1e150)::numeric, 12) AS six_sevenths_scaled
FROM (VALUES (1::float8), (2), (3)) v(x);
-- all-zero loads count as perfectly even
SELECT o2o_fairness(x) AS all_zero FROM (VALUES (0::float8), (0), ('-0')) v(x);
-- one row
SELECT o2o_fairness(x) FROM (VALUES (7.5::float8)) v(x);
SELECT o2o_fairness(x) FROM (VALUES (0::float8)) v(x);
-- NULLs are ignored; no rows or only NULLs gives NULL
SELECT o2o_fairness(x) FROM (VALUES (2::float8), (NULL), (2)) v(x);
SELECT o2o_fairness(x) FROM (VALUES (2::float8)) v(x) WHERE false;
SELECT o2o_fairness(x) FROM (VALUES (NULL::float8), (NULL)) v(x);
-- bad loads
SELECT o2o_fairness(x) FROM (VALUES (1::float8), (-1.5)) v(x);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_fairness(x) FROM (VALUES ('NaN'::float8)) v(x);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_fairness(x) FROM (VALUES ('Infinity'::float8)) v(x);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_fairness(x) FROM (VALUES ('-Infinity'::float8)) v(x);
\echo :LAST_ERROR_SQLSTATE
-- Jain's index does not depend on the scale of the loads, and no finite
-- load overflows or underflows it (before 0.5.0 these raised 22003)
SELECT o2o_fairness(x) AS huge_even FROM (VALUES (1e200::float8), (1e200)) v(x);
SELECT o2o_fairness(x) AS tiny_one_of_two FROM (VALUES (1e-200::float8), (0)) v(x);
SELECT o2o_fairness(x) AS largest_and_smallest FROM (VALUES (1.7976931348623157e308::float8), (5e-324)) v(x);
SELECT o2o_fairness(x * 1e-300) = o2o_fairness(x) AND o2o_fairness(x * 1e300) = o2o_fairness(x) AS scale_free
  FROM (VALUES (1::float8), (2), (4), (8)) v(x);

--
-- Partial aggregation without workers (partitionwise), so the combine
-- functions see two non-empty states and also empty/NULL states.
--
CREATE TABLE part (id bigint, score float8, load float8, p int) PARTITION BY LIST (p);
CREATE TABLE part_0 PARTITION OF part FOR VALUES IN (0);
CREATE TABLE part_1 PARTITION OF part FOR VALUES IN (1);
CREATE TABLE part_2 PARTITION OF part FOR VALUES IN (2);	-- stays empty
CREATE TABLE part_3 PARTITION OF part FOR VALUES IN (3);	-- only NULLs
INSERT INTO part VALUES
	(1, 5, 1, 0), (2, 9, 2, 0), (3, 9, 3, 0),
	(4, 9, 0, 1), (0, 1, 0, 1), (5, 8, 4, 1),
	(NULL, 50, NULL, 3), (6, NULL, NULL, 3);
-- ignored filler rows, so the planner finds per-partition aggregation cheaper
INSERT INTO part SELECT NULL, NULL, NULL, p
FROM generate_series(1, 1000) i, (VALUES (0), (1), (3)) v(p);
ANALYZE part;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT o2o_best(id, score), o2o_topk(id, score, 3), o2o_fairness(load) FROM part;
-- best: 9 ties among 2, 3, 4; loads 1,2,3,0,0,4: 100 / (6 * 30) = 5/9
SELECT o2o_best(id, score), o2o_topk(id, score, 3),
	round(o2o_fairness(load)::numeric, 12) AS fairness
FROM part;
-- partitions consistent on their own, but k differs between them
SELECT o2o_topk(id, score, CASE p WHEN 0 THEN 2 ELSE 3 END) FROM part;
\echo :LAST_ERROR_SQLSTATE
RESET enable_partitionwise_aggregate;
RESET max_parallel_workers_per_gather;

--
-- Forced parallel plan on a large table must agree with a serial plan and
-- with plain SQL.  Scores repeat about ten times each, so ties occur.
-- Loads are multiples of 1/64, exact in both float8 and numeric.
--
CREATE TABLE big AS
SELECT CASE WHEN i % 1000 = 0 THEN NULL ELSE i END::bigint AS id,
	CASE WHEN i % 997 = 0 THEN NULL
		ELSE (hashint8(i) % 100000) / 100.0 END::float8 AS score,
	CASE WHEN i % 991 = 0 THEN NULL
		ELSE abs(hashint8(i + 7777777) % 100000) / 64.0 END::float8 AS load,
	(i % 5)::int AS grp
FROM generate_series(1, 2000000) i;
ANALYZE big;

SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;

EXPLAIN (COSTS OFF)
SELECT o2o_best(id, score), o2o_topk(id, score, 10), o2o_fairness(load) FROM big;
SELECT o2o_best(id, score) AS best, o2o_topk(id, score, 10) AS topk,
	round(o2o_fairness(load)::numeric, 12) AS fairness
FROM big \gset par_
\echo :par_best :par_topk :par_fairness

EXPLAIN (COSTS OFF)
SELECT grp, o2o_best(id, score), o2o_topk(id, score, 5), o2o_fairness(load)
FROM big GROUP BY grp;
SELECT string_agg(format('%s %s %s %s', grp, best, topk, fairness), E'\n' ORDER BY grp)
	AS grouped
FROM (SELECT grp, o2o_best(id, score) AS best, o2o_topk(id, score, 5) AS topk,
		round(o2o_fairness(load)::numeric, 12) AS fairness
	FROM big GROUP BY grp) s \gset par_
\echo :par_grouped

-- serial run
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT o2o_best(id, score), o2o_topk(id, score, 10), o2o_fairness(load) FROM big;
SELECT o2o_best(id, score) = :par_best AS best_same,
	o2o_topk(id, score, 10) = :'par_topk'::bigint[] AS topk_same,
	round(o2o_fairness(load)::numeric, 12) = :par_fairness AS fairness_same
FROM big;
SELECT string_agg(format('%s %s %s %s', grp, best, topk, fairness), E'\n' ORDER BY grp)
	= :'par_grouped' AS grouped_same
FROM (SELECT grp, o2o_best(id, score) AS best, o2o_topk(id, score, 5) AS topk,
		round(o2o_fairness(load)::numeric, 12) AS fairness
	FROM big GROUP BY grp) s;

-- plain SQL equivalents
SELECT (SELECT id FROM big WHERE id IS NOT NULL AND score IS NOT NULL
		ORDER BY score DESC, id LIMIT 1) = :par_best AS best_same,
	(SELECT array_agg(id ORDER BY score DESC, id)
		FROM (SELECT id, score FROM big WHERE id IS NOT NULL AND score IS NOT NULL
			ORDER BY score DESC, id LIMIT 10) t) = :'par_topk'::bigint[] AS topk_same,
	(SELECT round(sum(load::numeric) ^ 2 / (count(load) * sum(load::numeric ^ 2)), 12)
		FROM big) = :par_fairness AS fairness_same;
SELECT string_agg(format('%s %s %s %s', grp, best, topk, fairness), E'\n' ORDER BY grp)
	= :'par_grouped' AS grouped_same
FROM (SELECT grp,
		(SELECT id FROM big b2 WHERE b2.grp = g.grp AND id IS NOT NULL
			AND score IS NOT NULL ORDER BY score DESC, id LIMIT 1) AS best,
		(SELECT array_agg(id ORDER BY score DESC, id)
			FROM (SELECT id, score FROM big b2 WHERE b2.grp = g.grp
				AND id IS NOT NULL AND score IS NOT NULL
				ORDER BY score DESC, id LIMIT 5) t) AS topk,
		round(sum(load::numeric) ^ 2 / (count(load) * sum(load::numeric ^ 2)), 12)
			AS fairness
	FROM big g GROUP BY grp) s;

RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET parallel_leader_participation;

DROP TABLE big, part, small;
