/*
 * triggers.c
 *		Every derived column, in one place, and the capacity check of
 *		installer bookings:
 *		- the grid and region of a dealer or an order, from its location;
 *		- the region of dealer-owned rows, and the grid of stock rows, from
 *		  their dealer, also when the dealer moves;
 *		- the region, number and transaction of an order event;
 *		and the NOTIFY of new events.
 *		Each reads one row by its primary key with an index probe (probe.c),
 *		under a new snapshot taken after advancing the command counter, as a
 *		statement of a volatile PL/pgSQL trigger would: rows written earlier
 *		in the same statement (a CTE, a multi-row INSERT) are seen.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/xid8.h"

#include "geom.h"
#include "guc.h"
#include "grid.h"
#include "o2o_route.h"
#include "probe.h"

PG_FUNCTION_INFO_V1(o2o_dealer_derive);
PG_FUNCTION_INFO_V1(o2o_order_derive);
PG_FUNCTION_INFO_V1(o2o_dealer_moved);
PG_FUNCTION_INFO_V1(o2o_region_from_dealer);
PG_FUNCTION_INFO_V1(o2o_stock_derive);
PG_FUNCTION_INFO_V1(o2o_event_derive);
PG_FUNCTION_INFO_V1(o2o_installer_day_check);
PG_FUNCTION_INFO_V1(o2o_event_notify);

#define MAX_COLS 3

/* The trigger data of a BEFORE ROW INSERT or UPDATE trigger, else an error. */
static TriggerData *
RowTrigger(FunctionCallInfo fcinfo, const char *fname)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event)
		|| !TRIGGER_FIRED_FOR_ROW(td->tg_event)
		|| !(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: must be called as a BEFORE ROW trigger on INSERT or UPDATE", fname)));
	return td;
}

static inline HeapTuple
NewRow(TriggerData *td)
{
	return TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
}

static int
ColNumber(TriggerData *td, const char *name)
{
	int			n = SPI_fnumber(RelationGetDescr(td->tg_relation), name);

	if (n <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column %s of %s does not exist", name, RelationGetRelationName(td->tg_relation))));
	return n;
}

static Datum
ColValue(TriggerData *td, const char *name, bool *isnull)
{
	return heap_getattr(NewRow(td), ColNumber(td, name), RelationGetDescr(td->tg_relation), isnull);
}

/* the row with columns names[] set to values[] */
static Datum
SetCols(TriggerData *td, int n, const char *const *names, const Datum *values, const bool *nulls)
{
	int			cols[MAX_COLS];

	for (int i = 0; i < n; i++)
		cols[i] = ColNumber(td, names[i]);
	return PointerGetDatum(heap_modify_tuple_by_cols(NewRow(td), RelationGetDescr(td->tg_relation),
													 n, cols, (Datum *) values, (bool *) nulls));
}

/*
 * Read columns cols[] of the row of o2o.table whose key column (the first
 * of index) equals key; false when there is none.
 */
static bool
ReadByKey(const char *table, const char *index, const char *keycol, RegProcedure eq, Datum key,
		  int n, const char *const *cols, Datum *values, bool *nulls)
{
	O2oProbeKey pk = {keycol, 1, BTEqualStrategyNumber, eq};
	Snapshot	snap = RegisterSnapshot(NewStatementSnapshot());
	O2oProbe	p;
	bool		found;

	O2oProbeOpen(&p, table, index, &pk, 1, snap);
	O2oProbeStart(&p, &key);
	found = O2oProbeNext(&p);
	for (int i = 0; i < n; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
		if (found)
			values[i] = O2oProbeGet(&p, O2oProbeAttnum(&p, cols[i]), &nulls[i]);
	}
	/* the values are of by-value types: they outlive the scan */
	O2oProbeClose(&p);
	UnregisterSnapshot(snap);
	return found;
}

/* a point as ST_AsText writes it: up to 15 decimals, trailing zeros dropped */
static char *
PointText(double lon, double lat)
{
	char		c[2][64];
	double		v[2] = {lon, lat};

	for (int i = 0; i < 2; i++)
	{
		char	   *end;

		snprintf(c[i], sizeof(c[i]), "%.15f", v[i]);
		end = c[i] + strlen(c[i]) - 1;
		while (*end == '0')
			*end-- = '\0';
		if (*end == '.')
			*end = '\0';
		if (strcmp(c[i], "-0") == 0)
			strcpy(c[i], "0");
	}
	return psprintf("POINT(%s %s)", c[0], c[1]);
}

/*
 * grid_id and region_id of the new row from its location: the covering
 * grid (o2o_grid_of) and that grid's region.  Outside every grid both are
 * NULL, or for a dealer (must_cover) an O2001 error.  An empty or out of
 * range location leaves them NULL for the table's check constraints.
 */
static Datum
FromLocation(FunctionCallInfo fcinfo, const char *fname, bool must_cover)
{
	static const char *const cols[2] = {"grid_id", "region_id"};
	static const char *const gcols[1] = {"region_id"};
	TriggerData *td = RowTrigger(fcinfo, fname);
	bool		isnull,
				nulls[2] = {true, true};
	Datum		location = ColValue(td, "location", &isnull),
				v[2] = {0, 0};
	double		lon,
				lat;

	if (!isnull && O2oPointInRange(location, fname, &lon, &lat))
	{
		int32		grid_id = O2oGridOfPoint(fcinfo, lon, lat);

		if (grid_id < 0 && must_cover)
		{
			Datum		dealer = ColValue(td, "dealer_id", &isnull);

			ereport(ERROR,
					(errcode(ERRCODE_O2O_OUTSIDE_GRIDS),
					 errmsg("dealer location is outside every service grid"),
					 errdetail("Dealer %s is at %s, which no row of o2o.grid covers.",
							   isnull ? "" : DatumGetCString(DirectFunctionCall1(int4out, dealer)),
							   PointText(lon, lat))));
		}
		if (grid_id >= 0)
		{
			v[0] = Int32GetDatum(grid_id);
			nulls[0] = false;
			(void) ReadByKey("grid", "grid_pkey", "grid_id", F_INT4EQ, v[0], 1, gcols, &v[1], &nulls[1]);
		}
	}
	return SetCols(td, 2, cols, v, nulls);
}

/* o2o._dealer_derive(): a dealer's grid and region, from its location */
Datum
o2o_dealer_derive(PG_FUNCTION_ARGS)
{
	return FromLocation(fcinfo, "o2o._dealer_derive", true);
}

/* o2o._order_derive(): an order's grid and region, from its delivery location */
Datum
o2o_order_derive(PG_FUNCTION_ARGS)
{
	return FromLocation(fcinfo, "o2o._order_derive", false);
}

/*
 * o2o._dealer_moved(): AFTER UPDATE of a dealer whose grid or region
 * changed, whatever the statement set (a move sets only the location, a
 * grid reshape not even that): its stock rows take its region and grid;
 * its installers, their bookings and its active assignments its region.
 * Finished assignments stay in the region where they were served.
 */
static const char *const dealer_moved_sql[] = {
	"UPDATE o2o.stock SET region_id = $1, grid_id = $2 WHERE dealer_id = $3",
	"UPDATE o2o.installer SET region_id = $1 WHERE dealer_id = $3",
	"UPDATE o2o.installer_day b SET region_id = $1 FROM o2o.installer i "
	" WHERE i.installer_id = b.installer_id AND i.dealer_id = $3 AND b.region_id IS DISTINCT FROM $1",
	"UPDATE o2o.assignment SET region_id = $1 "
	" WHERE dealer_id = $3 AND state = 'active' AND region_id IS DISTINCT FROM $1",
};

Datum
o2o_dealer_moved(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Oid			types[3] = {INT4OID, INT4OID, INT4OID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		isnull;
	HeapTuple	row;
	TupleDesc	desc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event)
		|| !TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("o2o._dealer_moved: must be called as an AFTER ROW trigger on UPDATE")));
	row = td->tg_newtuple;
	desc = RelationGetDescr(td->tg_relation);
	args[0] = heap_getattr(row, ColNumber(td, "region_id"), desc, &isnull);
	nulls[0] = isnull ? 'n' : ' ';
	args[1] = heap_getattr(row, ColNumber(td, "grid_id"), desc, &isnull);
	nulls[1] = isnull ? 'n' : ' ';
	args[2] = heap_getattr(row, ColNumber(td, "dealer_id"), desc, &isnull);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	for (int i = 0; i < (int) lengthof(dealer_moved_sql); i++)
		if (SPI_execute_with_args(dealer_moved_sql[i], 3, types, args, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "o2o._dealer_moved: \"%s\" failed", dealer_moved_sql[i]);
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * Columns cols[0 .. n - 1] of the new row from its dealer's row; region_id
 * (cols[0]) is 0 for an unknown dealer, which the foreign key then reports.
 */
static Datum
FromDealer(FunctionCallInfo fcinfo, const char *fname, int n)
{
	static const char *const cols[2] = {"region_id", "grid_id"};
	TriggerData *td = RowTrigger(fcinfo, fname);
	Datum		dealer,
				v[2];
	bool		isnull,
				nulls[2] = {true, true};

	Assert(n <= 2);
	dealer = ColValue(td, "dealer_id", &isnull);
	if (!isnull)
		(void) ReadByKey("dealer", "dealer_pkey", "dealer_id", F_INT4EQ, dealer, n, cols, v, nulls);
	if (nulls[0])
	{
		v[0] = Int32GetDatum(0);
		nulls[0] = false;
	}
	return SetCols(td, n, cols, v, nulls);
}

/* o2o._region_from_dealer(): region_id of a dealer-owned row (installer, assignment) */
Datum
o2o_region_from_dealer(PG_FUNCTION_ARGS)
{
	return FromDealer(fcinfo, "o2o._region_from_dealer", 1);
}

/* o2o._stock_derive(): region_id and grid_id of a stock row are its dealer's */
Datum
o2o_stock_derive(PG_FUNCTION_ARGS)
{
	return FromDealer(fcinfo, "o2o._stock_derive", 2);
}

/*
 * The next number of an order's timeline: one more than its last event's.
 * Every writer of events holds the order's row lock, so that two
 * transactions never number the same order at once; the latest snapshot
 * sees the last event also under REPEATABLE READ, where the transaction's
 * own would miss one committed since it began.
 */
static int32
NextEventSeq(Datum order_id)
{
	O2oProbeKey pk = {"order_id", 1, BTEqualStrategyNumber, F_INT8EQ};
	Snapshot	snap;
	O2oProbe	p;
	AttrNumber	a_seq;
	int32		last = 0;

	CommandCounterIncrement();
	snap = RegisterSnapshot(GetLatestSnapshot());
	O2oProbeOpen(&p, "order_event", "order_event_seq_key", &pk, 1, snap);
	a_seq = O2oProbeAttnum(&p, "seq");
	O2oProbeStart(&p, &order_id);
	while (O2oProbeNext(&p))
	{
		bool		isnull;
		Datum		v = O2oProbeGet(&p, a_seq, &isnull);

		if (!isnull)
			last = Max(last, DatumGetInt32(v));
	}
	O2oProbeClose(&p);
	UnregisterSnapshot(snap);
	return last + 1;
}

/*
 * o2o._event_derive(): region_id of an order event is its order's; seq
 * (0.9.0 on), unless given, the next of the order's timeline; xid the
 * writing transaction
 */
Datum
o2o_event_derive(PG_FUNCTION_ARGS)
{
	TriggerData *td = RowTrigger(fcinfo, "o2o._event_derive");
	static const char *const cols[3] = {"region_id", "seq", "xid"};
	Datum		order_id,
				v[3];
	bool		isnull,
				nulls[3] = {true, true, true};
	int			n = SPI_fnumber(RelationGetDescr(td->tg_relation), "seq") > 0 ? 3 : 1;

	order_id = ColValue(td, "order_id", &isnull);
	if (!isnull)
	{
		(void) ReadByKey("orders", "orders_pkey", "order_id", F_INT8EQ, order_id, 1, cols, v, nulls);
		if (n == 3)
		{
			/* a number given is kept: pg_restore copies the timeline as it was */
			v[1] = ColValue(td, "seq", &nulls[1]);
			if (nulls[1])
			{
				v[1] = Int32GetDatum(NextEventSeq(order_id));
				nulls[1] = false;
			}
		}
	}
	if (n == 3)
	{
		/*
		 * Always the writing transaction, whatever was given: o2o_events reads
		 * by it, and an id restored from another cluster would lie in this
		 * one's future (invisible, then seen late and out of order).
		 */
		v[2] = FullTransactionIdGetDatum(GetTopFullTransactionId());
		nulls[2] = false;
	}
	return SetCols(td, n, cols, v, nulls);
}

/*
 * o2o._installer_day_check(): a booking never exceeds its installer's
 * daily capacity (O2004); region_id is the installer's dealer's.  An
 * unknown installer is left to the foreign key.
 */
Datum
o2o_installer_day_check(PG_FUNCTION_ARGS)
{
	TriggerData *td = RowTrigger(fcinfo, "o2o._installer_day_check");
	static const char *const icols[2] = {"daily_capacity", "dealer_id"};
	static const char *const dcols[1] = {"region_id"};
	Datum		installer,
				iv[2],
				region[1];
	bool		isnull,
				inulls[2],
				rnull[1] = {true};

	installer = ColValue(td, "installer_id", &isnull);
	if (!isnull && ReadByKey("installer", "installer_pkey", "installer_id", F_INT4EQ, installer, 2, icols, iv, inulls))
	{
		Datum		booked = ColValue(td, "booked", &isnull);
		bool		grew = true;

		/* a day over-booked by a capacity cut may still shrink (o2o._jeopardy) */
		if (!isnull && TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		{
			bool		oldnull;
			Datum		old = heap_getattr(td->tg_trigtuple, ColNumber(td, "booked"),
										   RelationGetDescr(td->tg_relation), &oldnull);

			grew = oldnull || DatumGetInt32(booked) > DatumGetInt32(old);
		}
		if (!isnull && !inulls[0] && grew && DatumGetInt32(booked) > DatumGetInt32(iv[0]))
		{
			Datum		day = ColValue(td, "day", &isnull);

			ereport(ERROR,
					(errcode(ERRCODE_O2O_OVER_CAPACITY),
					 errmsg("installer booked past capacity"),
					 errdetail("Installer %d can take %d jobs a day; %d were booked on %s.",
							   DatumGetInt32(installer), DatumGetInt32(iv[0]), DatumGetInt32(booked),
							   isnull ? "(null)" : DatumGetCString(DirectFunctionCall1(date_out, day)))));
		}
		if (!inulls[1])
			(void) ReadByKey("dealer", "dealer_pkey", "dealer_id", F_INT4EQ, iv[1], 1, dcols, region, rnull);
	}
	return SetCols(td, 1, dcols, region, rnull);
}

/*
 * o2o._event_notify(): NOTIFY o2o_events, from a statement-level trigger on
 * o2o.order_event.  Identical notifications of one transaction are
 * delivered once, at commit, and none on rollback: one wake-up per
 * committing transaction.  o2o_route.notify_events = off skips it, for a
 * transaction that will be prepared.
 */
Datum
o2o_event_notify(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event)
		|| !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("o2o._event_notify: must be called as an AFTER STATEMENT trigger")));
	if (o2o_notify_events)
		Async_Notify("o2o_events", "");
	return PointerGetDatum(NULL);
}
