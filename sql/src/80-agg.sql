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
