/*
 * triggers.c
 *		The row triggers that every assignment fires, in C: the region of
 *		dealer-owned rows, of stock rows (and their grid), of order events,
 *		and the capacity check of installer bookings.  Each reads one row by
 *		its primary key with an index probe (probe.c), under a new snapshot
 *		taken after advancing the command counter, as a statement of a
 *		volatile PL/pgSQL trigger would: rows written earlier in the same
 *		statement (a CTE, a multi-row INSERT) are seen.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "o2o_route.h"
#include "probe.h"

PG_FUNCTION_INFO_V1(o2o_region_from_dealer);
PG_FUNCTION_INFO_V1(o2o_stock_derive);
PG_FUNCTION_INFO_V1(o2o_event_derive);
PG_FUNCTION_INFO_V1(o2o_installer_day_check);

#define MAX_COLS 2

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

/* o2o._event_derive(): region_id of an order event is its order's */
Datum
o2o_event_derive(PG_FUNCTION_ARGS)
{
	TriggerData *td = RowTrigger(fcinfo, "o2o._event_derive");
	static const char *const cols[1] = {"region_id"};
	Datum		order_id,
				v[1];
	bool		isnull,
				nulls[1];

	order_id = ColValue(td, "order_id", &isnull);
	if (isnull)
		nulls[0] = true;
	else
		(void) ReadByKey("orders", "orders_pkey", "order_id", F_INT8EQ, order_id, 1, cols, v, nulls);
	return SetCols(td, 1, cols, v, nulls);
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

		if (!isnull && !inulls[0] && DatumGetInt32(booked) > DatumGetInt32(iv[0]))
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
