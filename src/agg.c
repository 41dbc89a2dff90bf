/*-------------------------------------------------------------------------
 *
 * agg.c
 *	  Parallel-safe routing aggregates: o2o_best, o2o_topk, o2o_fairness.
 *
 * Transition states are "internal" structs living in the aggregate memory
 * context.  Combine functions never keep a pointer to their second argument:
 * in a parallel plan that state was just deserialized into a short-lived
 * per-tuple context, so it is copied into the aggregate context instead.
 *
 * Serialized states use the pqformat (network byte order) encoding, like
 * PostgreSQL's own numeric/int8 aggregate states.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/float.h"

#include "agg.h"


PG_FUNCTION_INFO_V1(o2o_best_transfn);
PG_FUNCTION_INFO_V1(o2o_best_finalfn);
PG_FUNCTION_INFO_V1(o2o_best_combinefn);
PG_FUNCTION_INFO_V1(o2o_best_serialfn);
PG_FUNCTION_INFO_V1(o2o_best_deserialfn);
PG_FUNCTION_INFO_V1(o2o_topk_transfn);
PG_FUNCTION_INFO_V1(o2o_topk_finalfn);
PG_FUNCTION_INFO_V1(o2o_topk_combinefn);
PG_FUNCTION_INFO_V1(o2o_topk_serialfn);
PG_FUNCTION_INFO_V1(o2o_topk_deserialfn);
PG_FUNCTION_INFO_V1(o2o_fairness_transfn);
PG_FUNCTION_INFO_V1(o2o_fairness_finalfn);
PG_FUNCTION_INFO_V1(o2o_fairness_combinefn);
PG_FUNCTION_INFO_V1(o2o_fairness_serialfn);
PG_FUNCTION_INFO_V1(o2o_fairness_deserialfn);

/* Initial heap capacity for o2o_topk; grows by doubling up to k. */
#define O2O_TOPK_INITIAL_CAP 8

/*
 * Return the aggregate memory context, or fail.  The support functions take
 * or return "internal", so a direct SQL call (e.g. with a NULL internal)
 * must be refused rather than dereferencing garbage.
 */
static MemoryContext
GetAggContext(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcontext;
}

/* Fetch an optional internal state argument (NULL if SQL NULL). */
static inline void *
GetStateArg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : PG_GETARG_POINTER(argno);
}

/*
 * Set up a read buffer over a serialized state.  PG15 has no read-only
 * StringInfo initializer, so copy the bytes as numeric.c does.
 */
static void
InitStateReadBuffer(StringInfo buf, bytea *sstate)
{
	initStringInfo(buf);
	appendBinaryStringInfo(buf, VARDATA_ANY(sstate),
						   VARSIZE_ANY_EXHDR(sstate));
}

/*
 * "a is ranked ahead of b": higher score first, then smaller id.  Scores are
 * never NaN here (rejected on input), so this is a strict total order and
 * the result does not depend on input order or on how rows were split among
 * parallel workers.
 */
static inline bool
RankedAhead(float8 aScore, int64 aId, float8 bScore, int64 bId)
{
	if (aScore != bScore)
		return aScore > bScore;
	return aId < bId;
}

/* NaN has no place in a ranking; reject it instead of guessing an order. */
static void
CheckScore(float8 score, int64 id)
{
	if (isnan(score))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("score must not be NaN"),
				 errdetail("Row with id " INT64_FORMAT " has score NaN.", id)));
}

/* ----------------------------------------------------------------
 * o2o_best(id bigint, score float8) -> bigint
 * ----------------------------------------------------------------
 */

typedef struct O2oBestState
{
	bool		found;			/* seen any row with non-NULL id and score? */
	int64		id;				/* best id so far (valid if found) */
	float8		score;			/* its score */
} O2oBestState;

Datum
o2o_best_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = GetAggContext(fcinfo, "o2o_best_transfn");
	O2oBestState *state = (O2oBestState *) GetStateArg(fcinfo, 0);
	int64		id;
	float8		score;

	if (state == NULL)
		state = (O2oBestState *) MemoryContextAllocZero(aggcontext,
														sizeof(O2oBestState));

	/* rows with a NULL id or score do not compete */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(state);

	id = PG_GETARG_INT64(1);
	score = PG_GETARG_FLOAT8(2);
	CheckScore(score, id);

	if (!state->found || RankedAhead(score, id, state->score, state->id))
	{
		state->found = true;
		state->id = id;
		state->score = score;
	}
	PG_RETURN_POINTER(state);
}

Datum
o2o_best_finalfn(PG_FUNCTION_ARGS)
{
	O2oBestState *state;

	(void) GetAggContext(fcinfo, "o2o_best_finalfn");
	state = (O2oBestState *) GetStateArg(fcinfo, 0);

	if (state == NULL || !state->found)
		PG_RETURN_NULL();
	PG_RETURN_INT64(state->id);
}

Datum
o2o_best_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = GetAggContext(fcinfo, "o2o_best_combinefn");
	O2oBestState *state1 = (O2oBestState *) GetStateArg(fcinfo, 0);
	O2oBestState *state2 = (O2oBestState *) GetStateArg(fcinfo, 1);

	if (state2 == NULL)
	{
		if (state1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state1);
	}

	if (state1 == NULL)
	{
		/* copy: state2 may live in a short-lived context */
		state1 = (O2oBestState *) MemoryContextAlloc(aggcontext,
													 sizeof(O2oBestState));
		memcpy(state1, state2, sizeof(O2oBestState));
		PG_RETURN_POINTER(state1);
	}

	if (state2->found &&
		(!state1->found ||
		 RankedAhead(state2->score, state2->id, state1->score, state1->id)))
	{
		state1->found = true;
		state1->id = state2->id;
		state1->score = state2->score;
	}
	PG_RETURN_POINTER(state1);
}

Datum
o2o_best_serialfn(PG_FUNCTION_ARGS)
{
	O2oBestState *state;
	StringInfoData buf;

	(void) GetAggContext(fcinfo, "o2o_best_serialfn");
	state = (O2oBestState *) PG_GETARG_POINTER(0);

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, state->found ? 1 : 0);
	pq_sendint64(&buf, state->id);
	pq_sendfloat8(&buf, state->score);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * The result is allocated in the current (per-tuple) context: the combine
 * function copies whatever it keeps, as PostgreSQL's numeric deserializers
 * rely on too.
 */
Datum
o2o_best_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *sstate;
	O2oBestState *state;
	StringInfoData buf;
	int			found;

	(void) GetAggContext(fcinfo, "o2o_best_deserialfn");
	sstate = PG_GETARG_BYTEA_PP(0);
	InitStateReadBuffer(&buf, sstate);

	state = (O2oBestState *) palloc(sizeof(O2oBestState));
	found = pq_getmsgbyte(&buf);
	state->id = pq_getmsgint64(&buf);
	state->score = pq_getmsgfloat8(&buf);
	pq_getmsgend(&buf);
	pfree(buf.data);

	if ((found != 0 && found != 1) || isnan(state->score))
		elog(ERROR, "invalid serialized o2o_best state");
	state->found = (found == 1);

	PG_RETURN_POINTER(state);
}

/* ----------------------------------------------------------------
 * o2o_topk(id bigint, score float8, k int) -> bigint[]
 *
 * The state is a bounded min-heap (by rank) of at most k entries: heap[0]
 * is the worst entry kept, so a new row only has to beat heap[0].  That
 * gives O(n log k) time and O(k) memory per group.
 * ----------------------------------------------------------------
 */

typedef struct O2oTopkEntry
{
	int64		id;
	float8		score;
} O2oTopkEntry;

typedef struct O2oTopkState
{
	int32		k;				/* requested size; same on every row */
	int32		n;				/* entries in use, n <= k */
	int32		cap;			/* entries allocated, n <= cap <= k */
	O2oTopkEntry *heap;			/* min-heap by rank; worst at heap[0] */
} O2oTopkState;

static inline bool
TopkAhead(const O2oTopkEntry *a, const O2oTopkEntry *b)
{
	return RankedAhead(a->score, a->id, b->score, b->id);
}

/* Validate k once per row, so a bad k fails even if every id is NULL. */
static void
CheckTopkK(int32 k)
{
	if (k < 1 || k > O2O_TOPK_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", O2O_TOPK_MAX_K),
				 errdetail("The given k was %d.", k)));
}

static void
CheckTopkSameK(int32 stateK, int32 k)
{
	if (stateK != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be the same for all rows of a group"),
				 errdetail("Got k = %d after k = %d.", k, stateK)));
}

/* Allocate an empty state in ctx; the heap starts small and grows. */
static O2oTopkState *
TopkCreate(MemoryContext ctx, int32 k, int32 cap)
{
	O2oTopkState *state;

	state = (O2oTopkState *) MemoryContextAlloc(ctx, sizeof(O2oTopkState));
	state->k = k;
	state->n = 0;
	state->cap = Max(1, Min(k, cap));
	state->heap = (O2oTopkEntry *)
		MemoryContextAlloc(ctx, state->cap * sizeof(O2oTopkEntry));
	return state;
}

static void
TopkSiftUp(O2oTopkEntry *heap, int32 i)
{
	while (i > 0)
	{
		int32		parent = (i - 1) / 2;
		O2oTopkEntry tmp;

		/* parent must not rank ahead of child in a min-heap */
		if (!TopkAhead(&heap[parent], &heap[i]))
			break;
		tmp = heap[parent];
		heap[parent] = heap[i];
		heap[i] = tmp;
		i = parent;
	}
}

static void
TopkSiftDown(O2oTopkEntry *heap, int32 n, int32 i)
{
	for (;;)
	{
		int32		left = 2 * i + 1;
		int32		right = left + 1;
		int32		worst = i;
		O2oTopkEntry tmp;

		if (left < n && TopkAhead(&heap[worst], &heap[left]))
			worst = left;
		if (right < n && TopkAhead(&heap[worst], &heap[right]))
			worst = right;
		if (worst == i)
			break;
		tmp = heap[worst];
		heap[worst] = heap[i];
		heap[i] = tmp;
		i = worst;
	}
}

/* Offer one entry; O(log k).  Growth uses repalloc, keeping heap's context. */
static void
TopkAdd(O2oTopkState *state, int64 id, float8 score)
{
	O2oTopkEntry e;

	e.id = id;
	e.score = score;

	if (state->n < state->k)
	{
		if (state->n == state->cap)
		{
			state->cap = Min(state->k, state->cap * 2);
			state->heap = (O2oTopkEntry *)
				repalloc(state->heap, state->cap * sizeof(O2oTopkEntry));
		}
		state->heap[state->n] = e;
		TopkSiftUp(state->heap, state->n);
		state->n++;
	}
	else if (TopkAhead(&e, &state->heap[0]))
	{
		state->heap[0] = e;
		TopkSiftDown(state->heap, state->n, 0);
	}
}

/* qsort comparator: best first */
static int
TopkEntryCmp(const void *a, const void *b)
{
	const O2oTopkEntry *ea = (const O2oTopkEntry *) a;
	const O2oTopkEntry *eb = (const O2oTopkEntry *) b;

	if (TopkAhead(ea, eb))
		return -1;
	if (TopkAhead(eb, ea))
		return 1;
	return 0;
}

Datum
o2o_topk_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = GetAggContext(fcinfo, "o2o_topk_transfn");
	O2oTopkState *state = (O2oTopkState *) GetStateArg(fcinfo, 0);
	int32		k;
	int64		id;
	float8		score;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", O2O_TOPK_MAX_K),
				 errdetail("The given k was NULL.")));
	k = PG_GETARG_INT32(3);
	CheckTopkK(k);

	if (state == NULL)
		state = TopkCreate(aggcontext, k, O2O_TOPK_INITIAL_CAP);
	else
		CheckTopkSameK(state->k, k);

	/* rows with a NULL id or score do not compete */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(state);

	id = PG_GETARG_INT64(1);
	score = PG_GETARG_FLOAT8(2);
	CheckScore(score, id);

	TopkAdd(state, id, score);
	PG_RETURN_POINTER(state);
}

/* Read-only on the state: window aggregates may call this repeatedly. */
Datum
o2o_topk_finalfn(PG_FUNCTION_ARGS)
{
	O2oTopkState *state;
	O2oTopkEntry *sorted;
	Datum	   *elems;
	int32		i;

	(void) GetAggContext(fcinfo, "o2o_topk_finalfn");
	state = (O2oTopkState *) GetStateArg(fcinfo, 0);

	if (state == NULL || state->n == 0)
		PG_RETURN_NULL();

	sorted = (O2oTopkEntry *) palloc(state->n * sizeof(O2oTopkEntry));
	memcpy(sorted, state->heap, state->n * sizeof(O2oTopkEntry));
	qsort(sorted, state->n, sizeof(O2oTopkEntry), TopkEntryCmp);

	elems = (Datum *) palloc(state->n * sizeof(Datum));
	for (i = 0; i < state->n; i++)
		elems[i] = Int64GetDatum(sorted[i].id);

	PG_RETURN_ARRAYTYPE_P(construct_array(elems, state->n, INT8OID,
										  sizeof(int64), FLOAT8PASSBYVAL,
										  TYPALIGN_DOUBLE));
}

Datum
o2o_topk_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = GetAggContext(fcinfo, "o2o_topk_combinefn");
	O2oTopkState *state1 = (O2oTopkState *) GetStateArg(fcinfo, 0);
	O2oTopkState *state2 = (O2oTopkState *) GetStateArg(fcinfo, 1);
	int32		i;

	if (state2 == NULL)
	{
		if (state1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state1);
	}

	if (state1 == NULL)
	{
		/* deep copy: state2 may live in a short-lived context */
		state1 = TopkCreate(aggcontext, state2->k,
							Max(state2->n, O2O_TOPK_INITIAL_CAP));
		memcpy(state1->heap, state2->heap, state2->n * sizeof(O2oTopkEntry));
		state1->n = state2->n;
		PG_RETURN_POINTER(state1);
	}

	/* workers each checked k for their own rows; check across workers too */
	CheckTopkSameK(state1->k, state2->k);

	for (i = 0; i < state2->n; i++)
		TopkAdd(state1, state2->heap[i].id, state2->heap[i].score);

	PG_RETURN_POINTER(state1);
}

Datum
o2o_topk_serialfn(PG_FUNCTION_ARGS)
{
	O2oTopkState *state;
	StringInfoData buf;
	int32		i;

	(void) GetAggContext(fcinfo, "o2o_topk_serialfn");
	state = (O2oTopkState *) PG_GETARG_POINTER(0);

	pq_begintypsend(&buf);
	pq_sendint32(&buf, state->k);
	pq_sendint32(&buf, state->n);
	for (i = 0; i < state->n; i++)
	{
		pq_sendint64(&buf, state->heap[i].id);
		pq_sendfloat8(&buf, state->heap[i].score);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * Rebuilds the heap with TopkAdd rather than trusting the stored order, so
 * a malformed state cannot break the heap invariant.  Allocated in the
 * current context; the combine function copies it.
 */
Datum
o2o_topk_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *sstate;
	O2oTopkState *state;
	StringInfoData buf;
	int32		k;
	int32		n;
	int32		i;

	(void) GetAggContext(fcinfo, "o2o_topk_deserialfn");
	sstate = PG_GETARG_BYTEA_PP(0);
	InitStateReadBuffer(&buf, sstate);

	k = pq_getmsgint(&buf, 4);
	n = pq_getmsgint(&buf, 4);
	if (k < 1 || k > O2O_TOPK_MAX_K || n < 0 || n > k)
		elog(ERROR, "invalid serialized o2o_topk state");

	state = TopkCreate(CurrentMemoryContext, k, Max(n, 1));
	for (i = 0; i < n; i++)
	{
		int64		id = pq_getmsgint64(&buf);
		float8		score = pq_getmsgfloat8(&buf);

		if (isnan(score))
			elog(ERROR, "invalid serialized o2o_topk state");
		TopkAdd(state, id, score);
	}
	pq_getmsgend(&buf);
	pfree(buf.data);

	PG_RETURN_POINTER(state);
}

/* ----------------------------------------------------------------
 * o2o_fairness(load float8) -> float8
 *
 * Jain's index (Σx)² / (n·Σx²).  It does not depend on the scale of the
 * loads, and neither does its computation: the sums are kept relative to
 * the largest load seen so far (scale), as LAPACK's dnrm2 keeps a norm, so
 * every term is at most 1 and no finite load can overflow or underflow
 * them.  Both sums use Neumaier compensated summation, and combine folds
 * partial sums with the same compensated add, so a parallel plan agrees
 * with a serial one to within an ulp or so.
 * ----------------------------------------------------------------
 */

typedef struct O2oFairnessState
{
	int64		n;				/* non-NULL loads seen */
	float8		scale;			/* the largest load seen; 0: all zero */
	float8		sum;			/* Σ x/scale */
	float8		sumComp;		/* compensation for sum */
	float8		sumSq;			/* Σ (x/scale)² */
	float8		sumSqComp;		/* compensation for sumSq */
} O2oFairnessState;

/* Neumaier's variant of Kahan summation; also fine when |x| > |sum|. */
static inline void
NeumaierAdd(float8 *sum, float8 *comp, float8 x)
{
	float8		t = *sum + x;

	if (fabs(*sum) >= fabs(x))
		*comp += (*sum - t) + x;
	else
		*comp += (x - t) + *sum;
	*sum = t;
}

/* Make scale the state's scale, if larger: the sums shrink by the ratio. */
static void
FairnessRescale(O2oFairnessState *state, float8 scale)
{
	float8		r;

	if (scale <= state->scale)
		return;
	/* scale > 0, so this never divides by zero; tiny ratios may become 0 */
	r = state->scale / scale;
	state->sum *= r;
	state->sumComp *= r;
	state->sumSq *= r * r;
	state->sumSqComp *= r * r;
	state->scale = scale;
}

Datum
o2o_fairness_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = GetAggContext(fcinfo, "o2o_fairness_transfn");
	O2oFairnessState *state = (O2oFairnessState *) GetStateArg(fcinfo, 0);
	float8		load;

	if (state == NULL)
		state = (O2oFairnessState *)
			MemoryContextAllocZero(aggcontext, sizeof(O2oFairnessState));

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(state);

	load = PG_GETARG_FLOAT8(1);
	/* the index is only meaningful for finite, non-negative loads */
	if (isnan(load) || isinf(load) || load < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("load must be a finite non-negative number"),
				 errdetail("The given load was %s.",
						   float8out_internal(load))));

	state->n++;
	FairnessRescale(state, load);
	if (load > 0.0)
	{
		float8		x = load / state->scale;

		NeumaierAdd(&state->sum, &state->sumComp, x);
		NeumaierAdd(&state->sumSq, &state->sumSqComp, x * x);
	}
	PG_RETURN_POINTER(state);
}

Datum
o2o_fairness_finalfn(PG_FUNCTION_ARGS)
{
	O2oFairnessState *state;
	float8		sum;
	float8		sumSq;
	float8		result;

	(void) GetAggContext(fcinfo, "o2o_fairness_finalfn");
	state = (O2oFairnessState *) GetStateArg(fcinfo, 0);

	if (state == NULL || state->n == 0)
		PG_RETURN_NULL();

	/* all loads zero: nobody is favoured, so the split is perfectly even */
	if (state->scale == 0.0)
		PG_RETURN_FLOAT8(1.0);

	/* the largest load adds 1 to both sums: sum <= n and sumSq >= 1 */
	sum = state->sum + state->sumComp;
	sumSq = state->sumSq + state->sumSqComp;
	result = (sum / sumSq) * (sum / (float8) state->n);

	/* Cauchy-Schwarz bounds it by 1; clamp away rounding excess */
	PG_RETURN_FLOAT8(Min(result, 1.0));
}

Datum
o2o_fairness_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = GetAggContext(fcinfo, "o2o_fairness_combinefn");
	O2oFairnessState *state1 = (O2oFairnessState *) GetStateArg(fcinfo, 0);
	O2oFairnessState *state2 = (O2oFairnessState *) GetStateArg(fcinfo, 1);
	O2oFairnessState s2;

	if (state2 == NULL)
	{
		if (state1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state1);
	}

	if (state1 == NULL)
	{
		/* copy: state2 may live in a short-lived context */
		state1 = (O2oFairnessState *)
			MemoryContextAlloc(aggcontext, sizeof(O2oFairnessState));
		memcpy(state1, state2, sizeof(O2oFairnessState));
		PG_RETURN_POINTER(state1);
	}

	/* both on the larger scale; state2 is not ours to change */
	s2 = *state2;
	FairnessRescale(state1, s2.scale);
	FairnessRescale(&s2, state1->scale);
	state1->n += s2.n;
	NeumaierAdd(&state1->sum, &state1->sumComp, s2.sum);
	state1->sumComp += s2.sumComp;
	NeumaierAdd(&state1->sumSq, &state1->sumSqComp, s2.sumSq);
	state1->sumSqComp += s2.sumSqComp;
	PG_RETURN_POINTER(state1);
}

Datum
o2o_fairness_serialfn(PG_FUNCTION_ARGS)
{
	O2oFairnessState *state;
	StringInfoData buf;

	(void) GetAggContext(fcinfo, "o2o_fairness_serialfn");
	state = (O2oFairnessState *) PG_GETARG_POINTER(0);

	pq_begintypsend(&buf);
	pq_sendint64(&buf, state->n);
	pq_sendfloat8(&buf, state->scale);
	pq_sendfloat8(&buf, state->sum);
	pq_sendfloat8(&buf, state->sumComp);
	pq_sendfloat8(&buf, state->sumSq);
	pq_sendfloat8(&buf, state->sumSqComp);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Allocated in the current context; the combine function copies it. */
Datum
o2o_fairness_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *sstate;
	O2oFairnessState *state;
	StringInfoData buf;

	(void) GetAggContext(fcinfo, "o2o_fairness_deserialfn");
	sstate = PG_GETARG_BYTEA_PP(0);
	InitStateReadBuffer(&buf, sstate);

	state = (O2oFairnessState *) palloc(sizeof(O2oFairnessState));
	state->n = pq_getmsgint64(&buf);
	state->scale = pq_getmsgfloat8(&buf);
	state->sum = pq_getmsgfloat8(&buf);
	state->sumComp = pq_getmsgfloat8(&buf);
	state->sumSq = pq_getmsgfloat8(&buf);
	state->sumSqComp = pq_getmsgfloat8(&buf);
	pq_getmsgend(&buf);
	pfree(buf.data);

	if (state->n < 0 || !(state->scale >= 0.0) || isinf(state->scale))
		elog(ERROR, "invalid serialized o2o_fairness state");

	PG_RETURN_POINTER(state);
}
