/*
 * promise.c
 *		The storefront's questions, before any order exists: o2o_promise()
 *		and its bulk forms (can this reach this address, from which grid and
 *		dealer, on what day), and o2o_hold() (keep that for a checkout).
 *
 * A promise is the decision o2o_assign would make for an order of that
 * SKU, quantity and delivery point placed now (O2oDecide, assign.c), made
 * without reserving: the same ranking code on the query's snapshot, reading
 * only (index probes and the shared caches), so it answers under every
 * isolation level and on a hot standby.  When nobody can serve, the reason
 * is the one o2o_assign would record.
 *
 * A hold is that decision with the reservation: the units and the
 * installer slot are reserved as for an order (the stock ledger's entries
 * carry the hold's id), and an order placed with the hold's id takes them
 * over (O2oTakeHold, reserve.c).  Holds that expire are released by
 * o2o_expire_holds(), which o2o_hold and o2o_assign_pending also call.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "assign.h"
#include "candidates.h"
#include "dealercache.h"
#include "explain.h"
#include "geom.h"
#include "probe.h"
#include "promise.h"
#include "rank.h"
#include "reserve.h"
#include "score.h"
#include "tracking.h"

PG_FUNCTION_INFO_V1(o2o_promise);
PG_FUNCTION_INFO_V1(o2o_promise_skus);
PG_FUNCTION_INFO_V1(o2o_promise_places);
PG_FUNCTION_INFO_V1(o2o_hold);

/* the longest a checkout may hold units and a slot */
#define HOLD_MAX_TTL_USECS	(USECS_PER_DAY)

/* expired holds released on the way by each o2o_hold() */
#define HOLD_LAZY_EXPIRE	16

/* the answer to one question */
typedef struct Promise
{
	bool		deliverable;
	DateADT		promised_date;
	int32		grid_id;		/* -1: none */
	bool		same_grid;
	int32		dealer_id;
	double		distance_m;
	char	   *reason;			/* when not deliverable */
	O2oWindow	window;			/* of the promised date */
} Promise;

/*
 * the promise's columns, in the order of every form's result; a result
 * type of 0.8.0 (before ALTER EXTENSION ... UPDATE) has no window: the
 * tuple is formed with the columns the type has
 */
#define PROMISE_NCOLS 8
#define PROMISE_REASON 6

/*
 * What o2o_assign would do for this order now, without doing it.  Outside
 * every grid, or for a model not sold in the grid's climate, its filters
 * reject every dealer: nobody is looked at.
 */
static void
MakePromise(Order *o, Promise *p)
{
	Ranking		r;
	bool		busy = false;
	int			win = o->grid_id >= 0 && o->climate_ok ? O2oDecide(&r, o, NULL, &busy) : -1;

	memset(p, 0, sizeof(Promise));
	p->grid_id = o->grid_id;
	if (win >= 0)
	{
		const Cand *c = &r.cands[win];

		p->deliverable = true;
		p->promised_date = O2oPromisedDate(o, c);
		p->same_grid = c->same_grid;
		p->dealer_id = c->dealer_id;
		p->distance_m = c->distance_m;
		p->window = (O2oWindow) c->window;
	}
	else
		p->reason = O2oExplainUnassignable(o, NULL);
}

/* The promise's columns into values[0 ..] and nulls[0 ..]. */
static void
PromiseValues(const Promise *p, Datum *values, bool *nulls)
{
	values[0] = BoolGetDatum(p->deliverable);
	values[1] = DateADTGetDatum(p->promised_date);
	values[2] = Int32GetDatum(p->grid_id);
	values[3] = BoolGetDatum(p->same_grid);
	values[4] = Int32GetDatum(p->dealer_id);
	values[5] = Float8GetDatum(p->distance_m);
	values[6] = p->reason != NULL ? CStringGetTextDatum(p->reason) : (Datum) 0;
	values[7] = p->deliverable ? CStringGetTextDatum(O2oWindowName(p->window)) : (Datum) 0;
	for (int i = 0; i < PROMISE_NCOLS; i++)
		nulls[i] = !p->deliverable;
	nulls[0] = false;
	nulls[2] = p->grid_id < 0;
	nulls[PROMISE_REASON] = p->reason == NULL;
}

/*
 * One promise in a memory context of its own, reset after each: the bulk
 * forms make thousands.
 */
static void
PromiseFor(MemoryContext work, const char *sku, double lon, double lat, int32 qty,
		   Datum *values, bool *nulls)
{
	MemoryContext old = MemoryContextSwitchTo(work);
	Order		o;
	Promise		p;

	O2oLoadPlace(&o, sku, lon, lat, qty, true);
	MakePromise(&o, &p);
	MemoryContextSwitchTo(old);
	PromiseValues(&p, values, nulls);
	/* the reason is copied out of the work context */
	if (!nulls[PROMISE_REASON])
		values[PROMISE_REASON] = PointerGetDatum(DatumGetTextPCopy(values[PROMISE_REASON]));
	MemoryContextReset(work);
}

/*
 * The row type of o2o_promise's result, blessed, kept by the backend:
 * building it from the function's OUT parameters on each call cost a
 * twentieth of a promise.  Built again when the function's catalog row is
 * another (as PL/pgSQL checks the functions it keeps: by xmin and TID).
 */
static TupleDesc
PromiseRowType(FunctionCallInfo fcinfo)
{
	static TupleDesc desc = NULL;
	static Oid	fn_oid = InvalidOid;
	static TransactionId fn_xmin;
	static ItemPointerData fn_tid;
	HeapTuple	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	TransactionId xmin;
	ItemPointerData tid;

	if (!HeapTupleIsValid(proc))
		elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	xmin = HeapTupleHeaderGetRawXmin(proc->t_data);
	tid = proc->t_self;
	ReleaseSysCache(proc);
	if (desc == NULL || fn_oid != fcinfo->flinfo->fn_oid || fn_xmin != xmin || !ItemPointerEquals(&fn_tid, &tid))
	{
		TupleDesc	built,
					kept;
		MemoryContext old;

		if (get_call_result_type(fcinfo, NULL, &built) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "o2o_promise must return a record");
		old = MemoryContextSwitchTo(TopMemoryContext);
		kept = BlessTupleDesc(CreateTupleDescCopy(built));
		MemoryContextSwitchTo(old);
		if (desc != NULL)
			FreeTupleDesc(desc);
		desc = kept;
		fn_oid = fcinfo->flinfo->fn_oid;
		fn_xmin = xmin;
		fn_tid = tid;
	}
	return desc;
}

/*
 * o2o_promise(sku text, location geometry, qty int) returns record
 * (deliverable, promised_date, grid_id, same_grid, dealer_id, distance_m,
 * reason).
 */
Datum
o2o_promise(PG_FUNCTION_ARGS)
{
	char	   *sku = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		qty = PG_GETARG_INT32(2);
	double		lon,
				lat;
	TupleDesc	desc = PromiseRowType(fcinfo);
	Datum		values[PROMISE_NCOLS];
	bool		nulls[PROMISE_NCOLS];
	Order		o;
	Promise		p;

	O2oPointArg(PG_GETARG_DATUM(1), "o2o_promise", &lon, &lat);
	O2oLoadPlace(&o, sku, lon, lat, qty, true);
	MakePromise(&o, &p);
	PromiseValues(&p, values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* the elements of a one-dimensional array argument, NULLs flagged */
static int
ArrayArg(ArrayType *a, Oid elemtype, Datum **elems, bool **nulls)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("o2o_promise: arrays must be one-dimensional"),
				 errdetail("An array of %d dimensions was given.", ARR_NDIM(a))));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(a, elemtype, typlen, typbyval, typalign, elems, nulls, &n);
	return n;
}

/*
 * o2o_promise_skus(location geometry, skus text[], qtys int[]) returns
 * table (line, sku, qty, <the promise>): one promise per line of a cart or
 * listing, to one address, each as if it were the only order.
 */
Datum
o2o_promise_skus(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	double		lon,
				lat;
	Datum	   *skus,
			   *qtys = NULL;
	bool	   *sku_nulls,
			   *qty_nulls = NULL;
	int			n,
				nq = 0;
	MemoryContext work;
	bool		keep;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
	{
		/* no address or no lines: no rows, as a STRICT function would give */
		InitMaterializedSRF(fcinfo, 0);
		return (Datum) 0;
	}
	O2oPointArg(PG_GETARG_DATUM(0), "o2o_promise_skus", &lon, &lat);
	n = ArrayArg(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, &skus, &sku_nulls);
	if (!PG_ARGISNULL(2))
	{
		nq = ArrayArg(PG_GETARG_ARRAYTYPE_P(2), INT4OID, &qtys, &qty_nulls);
		if (nq != n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("o2o_promise_skus: qtys must have one element per SKU"),
					 errdetail("%d SKUs and %d quantities were given.", n, nq)));
	}
	for (int i = 0; i < n; i++)
		if (sku_nulls[i] || (qtys != NULL && qty_nulls[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("o2o_promise_skus: a line has no SKU or no quantity"),
					 errdetail("Line %d is NULL.", i + 1)));
	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "o2o_promise", ALLOCSET_DEFAULT_SIZES);
	/* the lines read the same tables under the same snapshot */
	keep = O2oProbeKeepBegin();
	for (int i = 0; i < n; i++)
	{
		Datum		values[PROMISE_NCOLS + 3];
		bool		nulls[PROMISE_NCOLS + 3] = {0};
		int32		qty = qtys != NULL ? DatumGetInt32(qtys[i]) : 1;

		CHECK_FOR_INTERRUPTS();
		values[0] = Int32GetDatum(i + 1);
		values[1] = skus[i];
		values[2] = Int32GetDatum(qty);
		PromiseFor(work, TextDatumGetCString(skus[i]), lon, lat, qty, values + 3, nulls + 3);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (keep)
		O2oProbeKeepEnd();
	MemoryContextDelete(work);
	return (Datum) 0;
}

/*
 * o2o_promise_places(sku text, locations geometry[], qty int) returns table
 * (place, <the promise>): one promise per delivery point, for BI (a NULL
 * point gives a row of NULLs).
 */
Datum
o2o_promise_places(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sku = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *points = PG_GETARG_ARRAYTYPE_P(1);
	int32		qty = PG_GETARG_INT32(2);
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;
	MemoryContext work;
	bool		keep;

	n = ArrayArg(points, ARR_ELEMTYPE(points), &elems, &elem_nulls);
	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "o2o_promise", ALLOCSET_DEFAULT_SIZES);
	keep = O2oProbeKeepBegin();
	for (int i = 0; i < n; i++)
	{
		Datum		values[PROMISE_NCOLS + 1];
		bool		nulls[PROMISE_NCOLS + 1];
		double		lon,
					lat;

		CHECK_FOR_INTERRUPTS();
		values[0] = Int32GetDatum(i + 1);
		nulls[0] = false;
		if (elem_nulls[i])
		{
			for (int j = 1; j <= PROMISE_NCOLS; j++)
				nulls[j] = true;
		}
		else
		{
			O2oPointArg(elems[i], "o2o_promise_places", &lon, &lat);
			PromiseFor(work, sku, lon, lat, qty, values + 1, nulls + 1);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (keep)
		O2oProbeKeepEnd();
	MemoryContextDelete(work);
	return (Datum) 0;
}

/* the hold row, inserted once the reservation is made */
static void
InsertHold(const Order *o, const Cand *c, Datum location, Oid location_type, Datum detail,
		   TimestampTz expires_at)
{
	Oid			types[16] = {INT8OID, INT4OID, TEXTOID, INT4OID, location_type, INT4OID, INT4OID,
	INT4OID, DATEOID, DATEOID, BOOLOID, FLOAT8OID, FLOAT8OID, JSONBOID, TIMESTAMPTZOID, TEXTOID};
	Datum		v[16];
	char		n[16];
	int			rc;

	memset(n, ' ', sizeof(n));
	v[0] = Int64GetDatum(o->hold_id);
	v[1] = Int32GetDatum(c->region_id);
	v[2] = CStringGetTextDatum(o->sku);
	v[3] = Int32GetDatum(o->qty);
	v[4] = location;
	v[5] = Int32GetDatum(o->grid_id);
	v[6] = Int32GetDatum(c->dealer_id);
	v[7] = Int32GetDatum(c->installer_id);
	n[7] = c->installer_id < 0 ? 'n' : ' ';
	v[8] = DateADTGetDatum(o->today + 1 + c->day_index);
	n[8] = n[7];
	v[9] = DateADTGetDatum(O2oPromisedDate(o, c));
	v[10] = BoolGetDatum(c->same_grid);
	v[11] = Float8GetDatum(c->distance_m);
	v[12] = Float8GetDatum(c->score);
	v[13] = detail;
	v[14] = TimestampTzGetDatum(expires_at);
	v[15] = CStringGetTextDatum(O2oWindowName((O2oWindow) c->window));
	rc = SPI_execute_with_args(O2oBooksWindows()
							   ? "INSERT INTO o2o.hold (hold_id, region_id, sku, qty, location, grid_id, "
							   "       dealer_id, installer_id, install_day, promised_date, same_grid, "
							   "       distance_m, score, detail, expires_at, install_window) "
							   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
							   "        $15, $16)"
							   : "INSERT INTO o2o.hold (hold_id, region_id, sku, qty, location, grid_id, "
							   "       dealer_id, installer_id, install_day, promised_date, same_grid, "
							   "       distance_m, score, detail, expires_at) "
							   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
							   "        $15)",
							   O2oBooksWindows() ? 16 : 15, types, v, n, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "writing the hold failed: %s", SPI_result_code_string(rc));
}

/*
 * The delivery point as the hold stores it: a 2D point of SRID 4326 (a Z or
 * M point the promise accepts would not fit o2o.hold.location), made by the
 * geometry type's own input function.
 */
static Datum
FlatPoint(Oid geometry_type, double lon, double lat)
{
	Oid			typinput,
				typioparam;
	char		buf[96];

	getTypeInputInfo(geometry_type, &typinput, &typioparam);
	snprintf(buf, sizeof(buf), "SRID=4326;POINT(%.17g %.17g)", lon, lat);
	return OidInputFunctionCall(typinput, buf, typioparam, -1);
}

/* a new hold's id, from the hold table's sequence */
static int64
NextHoldId(void)
{
	bool		isnull;
	int			rc = SPI_execute("SELECT pg_catalog.nextval('o2o.hold_hold_id_seq'::pg_catalog.regclass)", false, 1);

	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "drawing a hold id failed: %s", SPI_result_code_string(rc));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * o2o_hold(sku text, location geometry, qty int, ttl interval) returns
 * bigint: reserve what the promise found -- the units and the installer
 * slot -- for ttl, and return the hold's id; NULL when nothing can be held
 * (o2o_promise says why).
 */
Datum
o2o_hold(PG_FUNCTION_ARGS)
{
	char	   *sku = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		location = PG_GETARG_DATUM(1);
	int32		qty = PG_GETARG_INT32(2);
	Interval   *ttl = PG_GETARG_INTERVAL_P(3);
	AssignOptions opts = {.nowait = false};
	double		lon,
				lat;
	Order		o;
	Ranking		r;
	int			win;
	bool		busy = false;
	int64		hold_id = -1;
	TimestampTz now = GetCurrentTransactionStartTimestamp(),
				expires_at;

	O2oRequireWritable("o2o_hold()");
	/* the end as now() + ttl computes it (calendar months and days), at most a day away */
	expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(now),
														 IntervalPGetDatum(ttl)));
	if (expires_at <= now || expires_at - now > HOLD_MAX_TTL_USECS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("o2o_hold: ttl must be more than 0 and at most 1 day"),
				 errdetail("ttl is %s.", DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(ttl))))));
	O2oPointArg(location, "o2o_hold", &lon, &lat);
	O2oLoadPlace(&o, sku, lon, lat, qty, false);
	location = FlatPoint(get_fn_expr_argtype(fcinfo->flinfo, 1), lon, lat);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	O2oPreparePlans();
	/* the candidates point into the dealer cache while triggers fire */
	O2oDealerCachePin();
	o.hold_id = NextHoldId();
	o.for_hold = true;
	win = O2oDecide(&r, &o, &opts, &busy);
	if (win >= 0)
	{
		Cand	   *c = &r.cands[win];

		O2oScore(&o, c);
		InsertHold(&o, c, location, get_fn_expr_argtype(fcinfo->flinfo, 1),
				   O2oAssignmentDetail(&o, r.cands, r.ncands, win), expires_at);
		hold_id = o.hold_id;
	}
	O2oDealerCacheUnpin();
	/* on the way, give back what expired checkouts held (never waits) */
	if (SPI_execute("SELECT o2o._expire_holds(" CppAsString2(HOLD_LAZY_EXPIRE) ")", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "releasing expired holds failed");
	SPI_finish();
	if (hold_id < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(hold_id);
}
