/*
 * dealercache.c
 *		Every dealer's grid, location, service radius and state, cached per
 *		backend (invalidated through cache.c by a statement trigger on
 *		o2o.dealer).  Dealers change rarely and are read on every
 *		assignment: in a city grid a popular model sits at hundreds of them.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "cache.h"
#include "dealercache.h"
#include "geom.h"
#include "o2o_route.h"

static MemoryContext DealerContext = NULL;
static HTAB *Dealers = NULL;
static O2oCache DealerCache;

void
O2oDealerCacheInit(void)
{
	O2oCacheRegister(&DealerCache);
}

static void
DealerBuild(void)
{
	Oid			relid = O2oCacheTable("dealer");
	uint64		begun = O2oCacheBuildBegin(&DealerCache);
	MemoryContext newcxt;
	HASHCTL		ctl;
	HTAB	   *htab;
	SPIPlanPtr	plan;
	int			rc;

	newcxt = AllocSetContextCreate(TopMemoryContext, "o2o dealers", ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(DealerInfo);
	ctl.hcxt = newcxt;
	htab = hash_create("o2o dealers", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		plan = SPI_prepare("SELECT dealer_id, grid_id, region_id, active, location, service_radius_m "
						   "FROM o2o.dealer", 0, NULL);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		rc = SPI_execute_snapshot(plan, NULL, NULL, O2oCacheSnapshot(), InvalidSnapshot, true, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "reading dealers failed: %s", SPI_result_code_string(rc));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int32		id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
			DealerInfo *d = hash_search(htab, &id, HASH_ENTER, NULL);
			Datum		v;

			v = SPI_getbinval(tup, desc, 2, &isnull);
			d->grid_id = isnull ? -1 : DatumGetInt32(v);
			v = SPI_getbinval(tup, desc, 3, &isnull);
			d->region_id = isnull ? 0 : DatumGetInt32(v);
			d->active = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
			O2oPointArg(SPI_getbinval(tup, desc, 5, &isnull), "o2o_assign", &d->lon, &d->lat);
			d->radius_m = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
		}
		SPI_finish();
	}
	PG_CATCH();
	{
		MemoryContextDelete(newcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (DealerContext)
		MemoryContextDelete(DealerContext);
	DealerContext = newcxt;
	Dealers = htab;
	O2oCacheBuildDone(&DealerCache, relid, begun);
}

const DealerInfo *
O2oDealerLookup(int32 dealer_id)
{
	if (O2oCacheStale(&DealerCache, NULL))
		DealerBuild();
	return hash_search(Dealers, &dealer_id, HASH_FIND, NULL);
}
