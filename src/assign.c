/*
 * assign.c
 *		o2o_assign(), o2o_candidates() and o2o_assign_pending(): choose the
 *		dealer and installer for an order, reserve the stock and an
 *		installer slot, and record why.
 *
 * One decision, inside the caller's transaction (O2oAssign):
 *	1. lock the order row (FOR NO KEY UPDATE, by index probe): concurrent
 *	   calls for one order queue here, and the second finds the first's
 *	   assignment (idempotence) -- candidates.c;
 *	2. the grid of the delivery point (o2o_grid_of, else the nearest grid
 *	   within o2o_route.nearest_grid_m) -- candidates.c;
 *	3. the dealers of that grid holding the units, the nearest
 *	   o2o_route.max_candidates, and -- by o2o_route.cross_grid -- the
 *	   nearest of other grids within o2o_route.max_distance_m, with the
 *	   hard filters -- rank.c;
 *	4. the score (score.c); in-grid dealers first under the "fallback"
 *	   policy.  Installers and bookings are read only for candidates whose
 *	   bound can still make the top (O2oSettle);
 *	5. for the best candidate, reserve the stock and book a slot in a
 *	   subtransaction, else try the next -- reserve.c;
 *	6. the assignment row with its explanation (explain.c), the order's
 *	   grid, status and promised date, and an order event -- reserve.c.
 *
 * Reads are index probes (probe.c) and the dealer cache (dealercache.c);
 * writes are SQL statements, so that every constraint and trigger applies.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "assign.h"
#include "candidates.h"
#include "dealercache.h"
#include "explain.h"
#include "guc.h"
#include "o2o_route.h"
#include "orderstate.h"
#include "rank.h"
#include "reserve.h"
#include "score.h"

PG_FUNCTION_INFO_V1(o2o_assign);
PG_FUNCTION_INFO_V1(o2o_candidates);
PG_FUNCTION_INFO_V1(o2o_assign_pending);

/*
 * The best eligible candidate of a ranking, for a promise: what O2oChoose()
 * would reserve when nothing changes meanwhile.
 */
static int
FirstEligible(Ranking *r)
{
	O2oSettle(r, 0, 1);
	return r->ncands > 0 && r->cands[0].reason == REASON_NONE ? 0 : -1;
}

/*
 * Choose the dealer: in-grid dealers first, other grids when the policy
 * lets them compete, or -- under "fallback" -- when nobody of the grid
 * could.  With opts, reserve for the best that still can (o2o_assign,
 * o2o_hold); without, only find it (o2o_promise): one decision for both.
 * The winner's index in r->cands, or -1; the ranking is ended.
 */
int
O2oDecide(Ranking *r, const Order *o, const AssignOptions *opts, bool *saw_busy)
{
	RankMode	mode = opts != NULL ? RANK_ASSIGN : RANK_PROMISE;
	int			win;

	O2oRank(r, o, o2o_cross_grid == O2O_CROSS_FREE ? SCOPE_ALL : SCOPE_GRID, mode);
	win = o->grid_id < 0 ? -1 : opts != NULL ? O2oChoose(r, opts, saw_busy) : FirstEligible(r);
	if (win < 0 && o2o_cross_grid == O2O_CROSS_FALLBACK && o->grid_id >= 0)
	{
		/*
		 * nobody of the grid could: rank again with the neighbours (a
		 * promise, having reserved nothing, knows that nobody of the grid
		 * still can, and reads only the neighbours)
		 */
		O2oRankEnd(r);
		O2oRank(r, o, opts != NULL ? SCOPE_ALL : SCOPE_OTHERS, mode);
		win = opts != NULL ? O2oChoose(r, opts, saw_busy) : FirstEligible(r);
	}
	if (win >= 0 && opts != NULL)
		O2oSettle(r, win + 1, 3);	/* the runners-up, for the explanation */
	O2oRankEnd(r);
	return win;
}

/* Record the winner: final score, assignment with explanation, event. */
static void
RecordAssignment(const Order *o, Cand *cands, int ncands, int win)
{
	Cand	   *c = &cands[win];

	O2oScore(o, c);
	O2oWriteAssignment(o, c, O2oAssignmentDetail(o, cands, ncands, win));
	O2oAddEvent(o, "assigned", "assigned", O2oAssignedEventDetail(c));
}

/*
 * Why nobody can serve, in the words o2o_assign records.  The fast path read
 * only dealers that could serve: explain in full, every eligible one having
 * been reserved by others meanwhile.  Without nconsidered (a promise), an
 * order that nobody could serve in any case -- outside every grid, or a
 * model not sold in the grid's climate -- is not looked into.
 */
char *
O2oExplainUnassignable(Order *o, int *nconsidered)
{
	Ranking		r;

	if (nconsidered == NULL && (o->grid_id < 0 || !o->climate_ok))
		return O2oUnassignableReason(o, NULL, 0);
	o->lazy_stock = true;
	O2oRank(&r, o, SCOPE_ALL, RANK_EXPLAIN);
	O2oRankEnd(&r);
	for (int i = 0; i < r.ncands; i++)
		if (r.cands[i].reason == REASON_NONE)
			r.cands[i].reason = REASON_RESERVED_MEANWHILE;
	if (nconsidered != NULL)
		*nconsidered = r.ncands;
	return O2oUnassignableReason(o, r.cands, r.ncands);
}

static void
RecordUnassignable(Order *o)
{
	int			n;
	char	   *why = O2oExplainUnassignable(o, &n);

	O2oWriteUnassignable(o, why);
	O2oAddEvent(o, "unassignable", "unassignable", O2oUnassignableEventDetail(n, why));
}

/* assign one order: see the top of this file and assign.h */
int32
O2oAssign(int64 order_id, const AssignOptions *opts, bool *assigned)
{
	Order		o;
	Ranking		r;
	int			win;
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
	(void) O2oOrderTakeStep(order_id, o.status, O2O_STEP_ASSIGN);

	/* placed with a checkout hold: it takes the hold's units and slot */
	if (o.hold_id >= 0)
	{
		char	   *why = NULL;
		HoldOutcome h = O2oTakeHold(&o, !opts->nowait, &result, &why);

		if (h == HOLD_MISMATCH)
		{
			/* in a batch: this order cannot be routed as placed; the others go on */
			O2oWriteUnassignable(&o, why);
			O2oAddEvent(&o, "unassignable", "unassignable", O2oUnassignableEventDetail(0, why));
		}
		if (h != HOLD_ENDED)
		{
			O2oDealerCacheUnpin();
			SPI_finish();
			*assigned = h == HOLD_TAKEN;
			return h == HOLD_TAKEN ? result : -1;
		}
		/* the hold ended before the order came: route it as any other */
	}

	win = O2oDecide(&r, &o, opts, &saw_busy);
	if (win >= 0)
	{
		RecordAssignment(&o, r.cands, r.ncands, win);
		result = r.cands[win].dealer_id;
		*assigned = true;
	}
	else if (!saw_busy)
		RecordUnassignable(&o);
	/* else o2o_assign_pending: some candidate was busy; leave it pending */
	O2oDealerCacheUnpin();
	SPI_finish();
	return result;
}

/*
 * Routing writes: refused with 25006 in a read-only transaction and on a hot
 * standby, before anything is read (not an internal error deep inside).
 */
void
O2oRequireWritable(const char *fn)
{
	PreventCommandIfReadOnly(fn);
	PreventCommandDuringRecovery(fn);
}

/* o2o_assign(order_id bigint) returns int: the dealer, or NULL */
Datum
o2o_assign(PG_FUNCTION_ARGS)
{
	AssignOptions opts = {.nowait = false};
	bool		assigned;
	int32		dealer;

	O2oRequireWritable("o2o_assign()");
	dealer = O2oAssign(PG_GETARG_INT64(0), &opts, &assigned);

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
	bool		extra;
	StockProbe	stock = {0};
	SyncProbe	sync = {0};
	Snapshot	snap = NULL;
	Datum		sku = (Datum) 0;

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
	O2oRank(&r, &o, SCOPE_ALL, RANK_EXPLAIN);
	O2oRankEnd(&r);
	O2oRankSort(&r);
	cands = r.cands;
	ncands = r.ncands;
	/* the safety stock and the last count of each dealer shown (0.7.0 on) */
	extra = rsinfo->setDesc->natts >= 18;
	if (extra)
	{
		snap = RegisterSnapshot(GetTransactionSnapshot());
		O2oStockOpen(&stock, false, snap);
		sku = CStringGetTextDatum(o.sku);
	}
	for (int i = 0; i < ncands; i++)
	{
		Cand	   *c = &cands[i];
		Datum		values[18];
		bool		nulls[18] = {0};
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
		values[15] = c->reason != REASON_NONE ? CStringGetTextDatum(O2oCandReasonText(c)) : (Datum) 0;
		nulls[15] = c->reason == REASON_NONE;
		if (extra)
		{
			TimestampTz t = O2oDealerCountedAt(&sync, c->dealer_id, snap);

			values[16] = Int32GetDatum(O2oDealerSafety(&stock, sku, c->dealer_id));
			values[17] = TimestampTzGetDatum(t);
			nulls[17] = TIMESTAMP_NOT_FINITE(t);
		}
		old = MemoryContextSwitchTo(callcxt);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
	}
	if (extra)
	{
		O2oStockClose(&stock);
		O2oSyncClose(&sync);
		UnregisterSnapshot(snap);
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

	O2oRequireWritable("o2o_assign_pending()");
	if (max < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("o2o_assign_pending: max must be 0 or more"),
				 errdetail("max is %d.", max)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* first give back what expired checkouts held (0.8.0 on; never waits) */
	rc = SPI_execute("SELECT pg_catalog.to_regprocedure('o2o._expire_holds(int)') IS NOT NULL", false, 1);
	if (rc == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;

		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))
			&& SPI_execute("SELECT o2o._expire_holds(1000)", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "releasing expired holds failed");
	}
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
