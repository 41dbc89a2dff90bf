/*
 * assign.c
 *		o2o_assign() and o2o_candidates(): choose the dealer and installer for
 *		an order, reserve the stock and an installer slot, and record why.
 *
 * One decision, inside the caller's transaction:
 *	1. lock the order row (FOR NO KEY UPDATE, by index probe): concurrent
 *	   calls for one order queue here, and the second finds the first's
 *	   assignment (idempotence);
 *	2. the grid of the delivery point (o2o_grid_of, else the nearest grid
 *	   within o2o_route.nearest_grid_m);
 *	3. the dealers of that grid holding the units, the nearest
 *	   o2o_route.max_candidates, and -- by o2o_route.cross_grid -- the
 *	   nearest of other grids within o2o_route.max_distance_m (O2oRank());
 *	4. hard filters, then the score (see O2oScore()); in-grid dealers first
 *	   under the "fallback" policy.  Installers and bookings are read only
 *	   for candidates whose bound can still make the top (O2oSettle());
 *	5. for the best candidate, in a subtransaction: reserve the stock with a
 *	   guarded UPDATE (on_hand - reserved >= qty) and book a slot with a
 *	   guarded upsert (booked < capacity).  If either finds the last unit or
 *	   slot taken meanwhile, the subtransaction rolls back -- releasing its
 *	   row locks -- and the next candidate is tried;
 *	6. the assignment row with its explanation, the order's grid, status and
 *	   promised date, and an order event.
 *
 * Reads are index probes (probe.c) and the dealer cache (dealercache.c);
 * writes are SQL statements, so that every constraint and trigger applies.
 * Locks are taken in one order -- order row, stock row, booking row -- and
 * a failed attempt gives its locks back, so concurrent assignments wait for
 * each other but do not deadlock.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/plancache.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "assign.h"
#include "candidates.h"
#include "dealercache.h"
#include "geom.h"
#include "grid.h"
#include "guc.h"
#include "o2o_route.h"
#include "probe.h"
#include "rank.h"
#include "reserve.h"
#include "score.h"
#include "version.h"

PG_FUNCTION_INFO_V1(o2o_assign);
PG_FUNCTION_INFO_V1(o2o_candidates);
PG_FUNCTION_INFO_V1(o2o_assign_pending);

static const char *const reason_names[] = {
	[REASON_NONE] = NULL,
	[REASON_NO_STOCK] = "no stock",
	[REASON_OUT_OF_RADIUS] = "out of radius",
	[REASON_NO_SKILL] = "no installer with the skill",
	[REASON_NO_SLOT] = "no free slot",
	[REASON_DECLINED] = "declined before",
	[REASON_INACTIVE] = "inactive",
	[REASON_CLIMATE] = "model not sold in this climate zone",
	[REASON_RESERVED_MEANWHILE] = "reserved meanwhile",
	[REASON_BUSY] = "busy"
};

StaticAssertDecl(lengthof(reason_names) == REASON_BUSY + 1,
				 "reason_names must name every CandReason");


/*
 * The explanations are built as jsonb values directly: no text to print and
 * parse again.  Numbers are exact decimals of a fixed scale.
 */
typedef struct JsonOut
{
	JsonbParseState *st;
	JsonbValue *res;
} JsonOut;

static void
JPush(JsonOut *j, JsonbIteratorToken tok, JsonbValue *v)
{
	j->res = pushJsonbValue(&j->st, tok, v);
}

static void
JKey(JsonOut *j, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	JPush(j, WJB_KEY, &v);
}

static void
JStr(JsonOut *j, const char *key, const char *str)
{
	JsonbValue	v;

	JKey(j, key);
	v.type = jbvString;
	v.val.string.val = (char *) str;
	v.val.string.len = strlen(str);
	JPush(j, WJB_VALUE, &v);
}

/* x rounded to `scale` decimals (0: an integer) */
static void
JNum(JsonOut *j, const char *key, double x, int scale)
{
	JsonbValue	v;
	double		f = scale == 4 ? 1e4 : scale == 1 ? 10 : 1;

	Assert(scale == 0 || scale == 1 || scale == 4);
	JKey(j, key);
	v.type = jbvNumeric;
	v.val.numeric = scale == 0 ? int64_to_numeric((int64) x)
		: int64_div_fast_to_numeric((int64) llround(x * f), scale);
	JPush(j, WJB_VALUE, &v);
}

static void
JBool(JsonOut *j, const char *key, bool b)
{
	JsonbValue	v;

	JKey(j, key);
	v.type = jbvBool;
	v.val.boolean = b;
	JPush(j, WJB_VALUE, &v);
}

static void
JNull(JsonOut *j, const char *key)
{
	JsonbValue	v;

	JKey(j, key);
	v.type = jbvNull;
	JPush(j, WJB_VALUE, &v);
}

static Datum
JDatum(JsonOut *j)
{
	return JsonbPGetDatum(JsonbValueToJsonb(j->res));
}

/* a date as YYYY-MM-DD, whatever DateStyle is */
static char *
IsoDate(DateADT d)
{
	struct pg_tm tm;
	char		buf[MAXDATELEN + 1];

	j2date(d + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	EncodeDateOnly(&tm, USE_ISO_DATES, buf);
	return pstrdup(buf);
}

/* one candidate's decision parts, as an object */
static void
CandJson(JsonOut *j, const Order *o, const Cand *c)
{
	JPush(j, WJB_BEGIN_OBJECT, NULL);
	JNum(j, "dealer_id", c->dealer_id, 0);
	JNum(j, "grid_id", c->grid_id, 0);
	JBool(j, "same_grid", c->same_grid);
	JNum(j, "distance_m", c->distance_m, 1);
	JNum(j, "available", c->available, 0);
	JNum(j, "load", c->load, 4);
	if (c->installer_id >= 0)
	{
		JNum(j, "installer_id", c->installer_id, 0);
		JStr(j, "install_day", IsoDate(o->today + 1 + c->day_index));
	}
	JNum(j, "score", c->score, 4);
	JKey(j, "parts");
	JPush(j, WJB_BEGIN_OBJECT, NULL);
	JNum(j, "distance", c->s_distance, 4);
	JNum(j, "stock", c->s_stock, 4);
	JNum(j, "load", c->s_load, 4);
	JNum(j, "cross_grid_penalty", c->penalty, 4);
	JPush(j, WJB_END_OBJECT, NULL);
	JPush(j, WJB_END_OBJECT, NULL);
}

static const char *
CrossGridName(void)
{
	return o2o_cross_grid == O2O_CROSS_NEVER ? "never" :
		o2o_cross_grid == O2O_CROSS_FREE ? "free" : "fallback";
}

/* why nobody can serve: counts of the reasons, for the order and its event */
static char *
UnassignableReason(const Order *o, const Cand *cands, int ncands)
{
	StringInfoData s;

	/* the order of the counts; busy never shows, such an order stays pending */
	static const CandReason reasons[] = {
		REASON_NO_STOCK, REASON_OUT_OF_RADIUS, REASON_NO_SKILL, REASON_NO_SLOT,
		REASON_DECLINED, REASON_INACTIVE, REASON_CLIMATE, REASON_RESERVED_MEANWHILE
	};

	initStringInfo(&s);
	if (o->grid_id < 0)
	{
		appendStringInfoString(&s, "delivery point outside every grid");
		return s.data;
	}
	if (!o->climate_ok)
	{
		appendStringInfo(&s, "model not sold in the %s", O2oClimateName(o->climate));
		return s.data;
	}
	if (ncands == 0)
	{
		appendStringInfo(&s, "no dealer within %.0f m", o2o_max_distance_m);
		return s.data;
	}
	appendStringInfo(&s, "no dealer can serve (%d considered:", ncands);
	for (int r = 0; r < (int) lengthof(reasons); r++)
	{
		int			n = 0;

		for (int i = 0; i < ncands; i++)
			if (cands[i].reason == reasons[r])
				n++;
		if (n > 0)
			appendStringInfo(&s, " %d %s,", n, reason_names[reasons[r]]);
	}
	s.data[s.len - 1] = ')';
	return s.data;
}

int32
O2oAssign(int64 order_id, const AssignOptions *opts, bool *assigned)
{
	Order		o;
	Ranking		r;
	Cand	   *cands;
	int			ncands,
				win;
	int32		result = -1;
	bool		saw_busy = false;

	*assigned = false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	O2oPreparePlans();
	/* the candidates point into the dealer cache while triggers fire */
	O2oDealerCachePin();
	O2oLoadOrder(&o, order_id, true);

	/* idempotent: an order with an active assignment keeps it */
	if (o.active_dealer >= 0)
	{
		O2oDealerCacheUnpin();
		SPI_finish();
		*assigned = true;
		return o.active_dealer;
	}
	if (strcmp(o.status, "cancelled") == 0 || strcmp(o.status, "completed") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_O2O_WRONG_STATE),
				 errmsg("order %lld is %s", (long long) order_id, o.status),
				 errdetail("Only pending or unassignable orders can be assigned.")));

	/* in-grid dealers first; other grids when the policy lets them compete */
	O2oRank(&r, &o, o2o_cross_grid == O2O_CROSS_FREE, RANK_ASSIGN);
	win = o.grid_id >= 0 ? O2oChoose(&r, opts, &saw_busy) : -1;
	if (win < 0 && o2o_cross_grid == O2O_CROSS_FALLBACK && o.grid_id >= 0)
	{
		/* nobody of the grid could: rank again with the neighbours */
		O2oRankEnd(&r);
		O2oRank(&r, &o, true, RANK_ASSIGN);
		win = O2oChoose(&r, opts, &saw_busy);
	}
	if (win >= 0)
		O2oSettle(&r, win + 1, 3);	/* the runners-up, for the explanation */
	O2oRankEnd(&r);
	cands = r.cands;
	ncands = r.ncands;

	if (win >= 0)
	{
		Cand	   *c = &cands[win];
		JsonOut		detail = {0},
					ev = {0};
		int			shown = 0;

		O2oScore(&o, c);
		JPush(&detail, WJB_BEGIN_OBJECT, NULL);
		JStr(&detail, "policy", CrossGridName());
		JNum(&detail, "grid_id", o.grid_id, 0);
		JBool(&detail, "nearest_grid", o.nearest);
		JNum(&detail, "considered", ncands, 0);
		JKey(&detail, "winner");
		CandJson(&detail, &o, c);
		JKey(&detail, "runners_up");
		JPush(&detail, WJB_BEGIN_ARRAY, NULL);
		for (int i = win + 1; i < ncands && shown < 3; i++)
		{
			if (cands[i].reason != REASON_NONE)
				continue;
			CandJson(&detail, &o, &cands[i]);
			shown++;
		}
		JPush(&detail, WJB_END_ARRAY, NULL);
		JPush(&detail, WJB_END_OBJECT, NULL);

		O2oWriteAssignment(&o, c, JDatum(&detail));
		/* the full explanation is in the assignment; the event says who and when */
		JPush(&ev, WJB_BEGIN_OBJECT, NULL);
		JNum(&ev, "dealer_id", c->dealer_id, 0);
		if (c->installer_id >= 0)
			JNum(&ev, "installer_id", c->installer_id, 0);
		else
			JNull(&ev, "installer_id");
		JBool(&ev, "cross_grid", !c->same_grid);
		JPush(&ev, WJB_END_OBJECT, NULL);
		O2oAddEvent(&o, "assigned", "assigned", JDatum(&ev));
		result = c->dealer_id;
		*assigned = true;
	}
	else if (saw_busy)
	{
		/* o2o_assign_pending: some candidate was busy; leave it pending */
	}
	else
	{
		char	   *why;
		JsonOut		detail = {0};

		/* the fast path reads only dealers that could serve: explain in full */
		o.lazy_stock = true;
		O2oRank(&r, &o, o2o_cross_grid != O2O_CROSS_NEVER, RANK_EXPLAIN);
		O2oRankEnd(&r);
		cands = r.cands;
		ncands = r.ncands;
		for (int i = 0; i < ncands; i++)
			if (cands[i].reason == REASON_NONE)
				cands[i].reason = REASON_RESERVED_MEANWHILE;
		why = UnassignableReason(&o, cands, ncands);

		O2oWriteUnassignable(&o, why);
		JPush(&detail, WJB_BEGIN_OBJECT, NULL);
		JStr(&detail, "policy", CrossGridName());
		JNum(&detail, "considered", ncands, 0);
		JStr(&detail, "reason", why);
		JPush(&detail, WJB_END_OBJECT, NULL);
		O2oAddEvent(&o, "unassignable", "unassignable", JDatum(&detail));
	}
	O2oDealerCacheUnpin();
	SPI_finish();
	return result;
}

/* o2o_assign(order_id bigint) returns int: the dealer, or NULL */
Datum
o2o_assign(PG_FUNCTION_ARGS)
{
	AssignOptions opts = {.nowait = false};
	bool		assigned;
	int32		dealer = O2oAssign(PG_GETARG_INT64(0), &opts, &assigned);

	if (!assigned)
		PG_RETURN_NULL();
	PG_RETURN_INT32(dealer);
}

/*
 * o2o_candidates(order_id bigint, k int) returns table: the k best eligible
 * dealers with the parts of their scores, then every dealer that was
 * considered and filtered out, with why.  Reads only.
 */
Datum
o2o_candidates(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		order_id = PG_GETARG_INT64(0);
	int32		k = PG_GETARG_INT32(1);
	Order		o;
	Ranking		r;
	Cand	   *cands;
	int			ncands,
				rank = 0;
	MemoryContext callcxt = CurrentMemoryContext;

	if (k < 1 || k > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("o2o_candidates: k must be between 1 and 1000"),
				 errdetail("k is %d.", k)));
	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	O2oPreparePlans();
	O2oLoadOrder(&o, order_id, false);
	O2oRank(&r, &o, o2o_cross_grid != O2O_CROSS_NEVER, RANK_EXPLAIN);
	O2oRankEnd(&r);
	cands = r.cands;
	ncands = r.ncands;
	for (int i = 0; i < ncands; i++)
	{
		Cand	   *c = &cands[i];
		Datum		values[16];
		bool		nulls[16] = {0};
		MemoryContext old;

		if (c->reason == REASON_NONE && ++rank > k)
			continue;
		values[0] = Int32GetDatum(rank);
		nulls[0] = c->reason != REASON_NONE;
		values[1] = Int32GetDatum(c->dealer_id);
		values[2] = Int32GetDatum(c->grid_id);
		values[3] = BoolGetDatum(c->same_grid);
		values[4] = Float8GetDatum(c->distance_m);
		values[5] = Int32GetDatum(Max(c->available, 0));
		values[6] = Int32GetDatum(c->installer_id);
		nulls[6] = c->installer_id < 0;
		values[7] = DateADTGetDatum(o.today + 1 + c->day_index);
		nulls[7] = c->installer_id < 0;
		values[8] = Float8GetDatum(c->load);
		values[9] = Float8GetDatum(c->score);
		values[10] = Float8GetDatum(c->s_distance);
		values[11] = Float8GetDatum(c->s_stock);
		values[12] = Float8GetDatum(c->s_load);
		values[13] = Float8GetDatum(c->penalty);
		for (int j = 8; j <= 13; j++)
			nulls[j] = c->reason != REASON_NONE;
		values[14] = BoolGetDatum(c->reason == REASON_NONE);
		values[15] = c->reason != REASON_NONE ? CStringGetTextDatum(reason_names[c->reason]) : (Datum) 0;
		nulls[15] = c->reason == REASON_NONE;
		old = MemoryContextSwitchTo(callcxt);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * o2o_assign_pending(max int) returns int: assign up to max pending orders,
 * oldest first, skipping orders that other sessions hold; returns how many
 * were assigned.  Orders nobody can serve become unassignable; orders whose
 * candidates were busy stay pending.
 *
 * One transaction assigns many orders here and so holds many row locks; it
 * must never wait long for a lock while holding others, or two such calls
 * could deadlock.  So the reservations do not wait (AssignOptions.nowait):
 * a candidate that stays locked counts as busy, and the order stays
 * pending for a later round.
 */
Datum
o2o_assign_pending(PG_FUNCTION_ARGS)
{
	int32		max = PG_GETARG_INT32(0);
	AssignOptions opts = {.nowait = true};
	int64	   *ids;
	int64		nids;
	int32		assigned_count = 0;
	Datum		arg[1];
	Oid			t[1] = {INT4OID};
	int			rc;

	if (max < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("o2o_assign_pending: max must be 0 or more"),
				 errdetail("max is %d.", max)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	arg[0] = Int32GetDatum(max);
	rc = SPI_execute_with_args("SELECT order_id FROM o2o.orders WHERE status = 'pending' "
							   "ORDER BY order_id LIMIT $1 FOR NO KEY UPDATE SKIP LOCKED",
							   1, t, arg, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading pending orders failed: %s", SPI_result_code_string(rc));
	nids = SPI_processed;
	ids = MemoryContextAlloc(TopTransactionContext, Max(nids, 1) * sizeof(int64));
	for (int64 i = 0; i < nids; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();

	for (int64 i = 0; i < nids; i++)
	{
		bool		assigned;

		CHECK_FOR_INTERRUPTS();
		(void) O2oAssign(ids[i], &opts, &assigned);
		if (assigned)
			assigned_count++;
	}
	pfree(ids);
	PG_RETURN_INT32(assigned_count);
}
