/*
 * price.c
 *		One national price: o2o_national_price(), the trigger that holds every
 *		online order to it, and the per-backend cache of o2o.national_price.
 *
 * The cache holds every price period, grouped by SKU and sorted by
 * valid_from.  It is built with one SPI query and invalidated like the grid
 * index (cache.c): a statement-level trigger on o2o.national_price
 * registers a relcache invalidation.  So a price change committed by any session is seen by
 * the next statement of every other, and existing orders are never touched:
 * the price of an order is fixed when it is inserted.
 */
#include "postgres.h"

#include "access/xact.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/sinval.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "cache.h"
#include "o2o_route.h"
#include "price.h"

PG_FUNCTION_INFO_V1(o2o_national_price);
PG_FUNCTION_INFO_V1(o2o_orders_price_guard);

typedef struct PricePeriod
{
	TimestampTz valid_from;
	TimestampTz valid_to;
	bool		open;			/* valid_to is NULL: no end, not even at infinity */
	Numeric		price;
} PricePeriod;

/* the periods of one SKU; SKUs of any length */
typedef struct PriceEntry
{
	char	   *sku;
	int			nperiods;
	PricePeriod *periods;		/* sorted by valid_from */
} PriceEntry;

/* every SKU with a price, sorted by strcmp for a binary search */
typedef struct PriceTable
{
	int			nentries;
	PriceEntry *entries;
} PriceTable;

static MemoryContext PriceContext = NULL;
static PriceTable *Prices = NULL;
static O2oCache PriceCache;

void
O2oPriceInit(void)
{
	O2oCacheRegister(&PriceCache);
}

static void
PriceBuild(void)
{
	Oid			relid = O2oCacheTable("national_price");
	uint64		begun = O2oCacheBuildBegin(&PriceCache);
	MemoryContext newcxt,
				old;
	PriceTable *table;
	SPIPlanPtr	plan;
	int			rc;

	newcxt = AllocSetContextCreate(TopMemoryContext, "o2o national prices", ALLOCSET_DEFAULT_SIZES);
	table = MemoryContextAllocZero(newcxt, sizeof(PriceTable));

	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		/* byte order (COLLATE "C") is strcmp's, whatever the database's collation */
		plan = SPI_prepare("SELECT sku, valid_from, valid_to, price FROM o2o.national_price "
						   "ORDER BY sku COLLATE \"C\", valid_from", 0, NULL);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		rc = SPI_execute_snapshot(plan, NULL, NULL, O2oCacheSnapshot(), InvalidSnapshot, true, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "reading national prices failed: %s", SPI_result_code_string(rc));
		/* at most one entry per row */
		table->entries = MemoryContextAlloc(newcxt, Max(SPI_processed, 1) * sizeof(PriceEntry));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *sku;
			PriceEntry *e = table->nentries > 0 ? &table->entries[table->nentries - 1] : NULL;
			PricePeriod *p;
			Datum		to;

			CHECK_FOR_INTERRUPTS();
			old = MemoryContextSwitchTo(newcxt);
			sku = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
			if (e == NULL || strcmp(e->sku, sku) != 0)
			{
				e = &table->entries[table->nentries++];
				e->sku = sku;
				e->nperiods = 0;
				e->periods = palloc(sizeof(PricePeriod));
			}
			else
			{
				pfree(sku);
				e->periods = repalloc(e->periods, (e->nperiods + 1) * sizeof(PricePeriod));
			}
			p = &e->periods[e->nperiods++];
			p->valid_from = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
			to = SPI_getbinval(tup, desc, 3, &isnull);
			p->open = isnull;
			p->valid_to = isnull ? DT_NOEND : DatumGetTimestampTz(to);
			p->price = DatumGetNumericCopy(SPI_getbinval(tup, desc, 4, &isnull));
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	PG_CATCH();
	{
		MemoryContextDelete(newcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (PriceContext)
		MemoryContextDelete(PriceContext);
	PriceContext = newcxt;
	Prices = table;
	O2oCacheBuildDone(&PriceCache, relid, begun);
}

static PriceTable *
PriceGet(FunctionCallInfo fcinfo)
{
	if (O2oCacheStale(&PriceCache, fcinfo))
		PriceBuild();
	O2oCacheCheckAccess(&PriceCache, fcinfo);
	return Prices;
}

/* The period of sku in force at "at", or NULL; *known: the SKU has any price. */
static PricePeriod *
PeriodAt(PriceTable *prices, const char *sku, TimestampTz at, bool *known)
{
	PriceEntry *e = NULL;
	int			lo = 0,
				hi = prices->nentries - 1;

	*known = false;
	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = strcmp(sku, prices->entries[mid].sku);

		if (c == 0)
		{
			e = &prices->entries[mid];
			break;
		}
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	if (e == NULL)
		return NULL;
	*known = true;
	for (int i = e->nperiods - 1; i >= 0; i--)
		if (e->periods[i].valid_from <= at)
			return e->periods[i].open || at < e->periods[i].valid_to ? &e->periods[i] : NULL;
	return NULL;
}

static bool
SkuExists(const char *sku)
{
	Oid			t[1] = {TEXTOID};
	Datum		a[1] = {CStringGetTextDatum(sku)};
	int			rc;
	bool		exists;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT 1 FROM o2o.product WHERE sku = $1", 1, t, a, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading products failed: %s", SPI_result_code_string(rc));
	exists = SPI_processed > 0;
	SPI_finish();
	return exists;
}

static char *
TimestampText(TimestampTz t)
{
	return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(t)));
}

static char *
NumericText(Numeric n)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
}

/*
 * o2o_national_price(sku text, at timestamptz) returns numeric: the one
 * online price in force; NULL when the SKU has no price at that time.
 */
Datum
o2o_national_price(PG_FUNCTION_ARGS)
{
	char	   *sku = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	bool		known;
	PricePeriod *period = PeriodAt(PriceGet(fcinfo), sku, at, &known);

	if (!known && !SkuExists(sku))
		ereport(ERROR,
				(errcode(ERRCODE_O2O_UNKNOWN_SKU),
				 errmsg("unknown SKU"),
				 errdetail("No row of o2o.product has sku \"%s\".", sku)));
	if (period == NULL)
		PG_RETURN_NULL();
	PG_RETURN_NUMERIC(DatumGetNumericCopy(NumericGetDatum(period->price)));
}

static bool
NumericEq(Numeric a, Numeric b)
{
	return DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(a), NumericGetDatum(b)));
}

/*
 * BEFORE INSERT OR UPDATE OF unit_price, sku, created_at ON o2o.orders:
 * an online order costs the national price in force at its created_at --
 * filled in when unit_price is NULL, refused when it differs -- and keeps
 * that price for ever.
 */
Datum
o2o_orders_price_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	newtup;
	int			a_sku,
				a_price,
				a_created,
				a_id,
				a_from;
	PricePeriod *period;
	bool		isnull,
				price_null,
				known;
	char	   *sku;
	TimestampTz created;
	Numeric		given = NULL,
				national;
	PriceTable *prices;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("o2o_orders_price_guard: must be a BEFORE ROW trigger")));
	desc = RelationGetDescr(td->tg_relation);
	newtup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	a_sku = SPI_fnumber(desc, "sku");
	a_price = SPI_fnumber(desc, "unit_price");
	a_created = SPI_fnumber(desc, "created_at");
	a_id = SPI_fnumber(desc, "order_id");
	a_from = SPI_fnumber(desc, "price_from");
	if (a_sku <= 0 || a_price <= 0 || a_created <= 0 || a_id <= 0 || a_from <= 0)
		elog(ERROR, "o2o_orders_price_guard: o2o.orders lacks sku, unit_price, created_at, order_id or price_from");

	{
		Datum		d = heap_getattr(newtup, a_price, desc, &price_null);

		if (!price_null)
			given = DatumGetNumeric(d);
	}

	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		bool		old_null;
		Datum		od = heap_getattr(td->tg_trigtuple, a_price, desc, &old_null);

		if (old_null != price_null || (!price_null && !NumericEq(DatumGetNumeric(od), given)))
			ereport(ERROR,
					(errcode(ERRCODE_O2O_PRICE_FIXED),
					 errmsg("the unit price of an order cannot change"),
					 errdetail("Order %s was placed at %s and keeps that price.",
							   DatumGetCString(DirectFunctionCall1(int8out, heap_getattr(newtup, a_id, desc, &isnull))),
							   old_null ? "no price" : NumericText(DatumGetNumeric(od)))));
	}

	{
		Datum		d = heap_getattr(newtup, a_sku, desc, &isnull);

		if (isnull)
			return PointerGetDatum(newtup);	/* NOT NULL reports it */
		sku = TextDatumGetCString(d);
	}
	created = DatumGetTimestampTz(heap_getattr(newtup, a_created, desc, &isnull));
	if (isnull)
		return PointerGetDatum(newtup);
	prices = PriceGet(fcinfo);
	period = PeriodAt(prices, sku, created, &known);
	national = period ? period->price : NULL;
	if (national == NULL)
	{
		/* an unknown SKU is left to the foreign key, which names it */
		if (!known && !SkuExists(sku))
			return PointerGetDatum(newtup);
		ereport(ERROR,
				(errcode(ERRCODE_O2O_NO_PRICE),
				 errmsg("no national price in force"),
				 errdetail("SKU %s has no national price at %s.", sku, TimestampText(created)),
				 errhint("Add a period to o2o.national_price that covers the order's created_at.")));
	}
	if (!price_null && !NumericEq(given, national))
		ereport(ERROR,
				(errcode(ERRCODE_O2O_WRONG_PRICE),
				 errmsg("unit price differs from the national price"),
				 errdetail("SKU %s: the order says %s, the national price at %s is %s.",
						   sku, NumericText(given), TimestampText(created), NumericText(national)),
				 errhint("Leave unit_price NULL to have the national price filled in.")));
	{
		/* the price, and the period it comes from (a foreign key to it) */
		Datum		v[2] = {NumericGetDatum(national), TimestampTzGetDatum(period->valid_from)};
		bool		n[2] = {false, false};
		int			cols[2] = {a_price, a_from};

		newtup = heap_modify_tuple_by_cols(newtup, desc, 2, cols, v, n);
	}
	return PointerGetDatum(newtup);
}
