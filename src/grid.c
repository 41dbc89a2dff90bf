/*
 * grid.c
 *		o2o_grid_of(), o2o_grid_nearest(), o2o_grid_index_stats() and the
 *		trigger that invalidates the grid index.
 *
 * Each backend keeps one GridIndex (gridindex.c) over all rows of o2o.grid
 * in its own memory context.  It is built on first use with one SPI query,
 * under the latest snapshot, so it always reflects the newest committed
 * grids (and the caller's own uncommitted changes), whatever the caller's
 * isolation level.
 *
 * Invalidation follows the usual relcache pattern (cache.c): a
 * statement-level trigger on o2o.grid registers a relcache invalidation;
 * every backend (the writer at its next command, the others when they next
 * process invalidations) marks its index stale.  The functions accept
 * pending invalidations once per statement, so a change committed by
 * another session is seen by the next statement.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/sinval.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "cache.h"
#include "geom.h"
#include "grid.h"
#include "gridindex.h"
#include "o2o_route.h"

PG_FUNCTION_INFO_V1(o2o_grid_of);
PG_FUNCTION_INFO_V1(o2o_grid_of_lonlat);
PG_FUNCTION_INFO_V1(o2o_grid_nearest);
PG_FUNCTION_INFO_V1(o2o_grid_index_stats);

static MemoryContext GridContext = NULL;
static GridIndex *Grid = NULL;
static O2oCache GridCache;
static double GridBuildMs = 0;

void
O2oGridInit(void)
{
	O2oCacheRegister(&GridCache);
}

static double *
RingSink(void *arg, int npoints)
{
	GridIndexBuilder *b = ((void **) arg)[0];
	int32		grid_id = *(int32 *) ((void **) arg)[1];

	return GridIndexAddRing(b, grid_id, npoints);
}

/* Read every grid polygon and build a new index in a new memory context. */
static void
GridBuild(void)
{
	Oid			relid = O2oCacheTable("grid");
	uint64		begun = O2oCacheBuildBegin(&GridCache);
	MemoryContext newcxt,
				oldcxt;
	GridIndexBuilder *b;
	GridIndex  *idx;
	SPIPlanPtr	plan;
	instr_time	start,
				elapsed;
	int			rc;

	INSTR_TIME_SET_CURRENT(start);
	newcxt = AllocSetContextCreate(TopMemoryContext, "o2o grid index",
								   ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		plan = SPI_prepare("SELECT grid_id, geom::bytea FROM o2o.grid ORDER BY grid_id", 0, NULL);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		rc = SPI_execute_snapshot(plan, NULL, NULL, O2oCacheSnapshot(), InvalidSnapshot,
								  true, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(rc));

		oldcxt = MemoryContextSwitchTo(newcxt);
		b = GridIndexBegin();
		MemoryContextSwitchTo(oldcxt);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;
			int32		grid_id = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			Datum		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
			bytea	   *wkb;
			void	   *arg[2];
			bool		ok;

			CHECK_FOR_INTERRUPTS();
			if (isnull)
				continue;
			wkb = DatumGetByteaPP(d);
			arg[0] = b;
			arg[1] = &grid_id;
			oldcxt = MemoryContextSwitchTo(newcxt);
			ok = O2oReadPolygonalWkb((const uint8 *) VARDATA_ANY(wkb), VARSIZE_ANY_EXHDR(wkb),
									 RingSink, arg);
			MemoryContextSwitchTo(oldcxt);
			if (!ok)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("geometry of grid %d is not a polygon or multipolygon", grid_id)));
			if ((Pointer) wkb != DatumGetPointer(d))
				pfree(wkb);
		}
		oldcxt = MemoryContextSwitchTo(newcxt);
		idx = GridIndexFinish(b);
		MemoryContextSwitchTo(oldcxt);
		SPI_finish();
	}
	PG_CATCH();
	{
		MemoryContextDelete(newcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (GridContext)
		MemoryContextDelete(GridContext);
	GridContext = newcxt;
	Grid = idx;
	/* an invalidation that arrived during the build leaves the index stale */
	O2oCacheBuildDone(&GridCache, relid, begun);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	GridBuildMs = INSTR_TIME_GET_MILLISEC(elapsed);
}

/*
 * The current index.  Once per statement (per call site), pending
 * invalidations are accepted first, so that grids committed by other
 * sessions are seen.
 */
static GridIndex *
GridGet(FunctionCallInfo fcinfo)
{
	if (O2oCacheStale(&GridCache, fcinfo))
		GridBuild();
	O2oCacheCheckAccess(&GridCache, fcinfo);
	return Grid;
}

int32
O2oGridOfPoint(FunctionCallInfo fcinfo, double lon, double lat)
{
	int32		grid_id;

	if (!GridIndexLookup(GridGet(fcinfo), lon, lat, &grid_id))
		return -1;
	return grid_id;
}

int32
O2oGridNearest(double lon, double lat, double max_m)
{
	int32		grid_id;
	double		dist;

	if (!GridIndexNearest(GridGet(NULL), lon, lat, max_m, &grid_id, &dist))
		return -1;
	return grid_id;
}

/* o2o_grid_of(geometry) returns int */
Datum
o2o_grid_of(PG_FUNCTION_ARGS)
{
	double		lon,
				lat;
	int32		grid_id;

	O2oPointArg(PG_GETARG_DATUM(0), "o2o_grid_of", &lon, &lat);
	if (!GridIndexLookup(GridGet(fcinfo), lon, lat, &grid_id))
		PG_RETURN_NULL();
	PG_RETURN_INT32(grid_id);
}

/* o2o_grid_of(lon float8, lat float8) returns int */
Datum
o2o_grid_of_lonlat(PG_FUNCTION_ARGS)
{
	double		lon = PG_GETARG_FLOAT8(0),
				lat = PG_GETARG_FLOAT8(1);
	int32		grid_id;

	O2oCheckLonLat("o2o_grid_of", lon, lat);
	if (!GridIndexLookup(GridGet(fcinfo), lon, lat, &grid_id))
		PG_RETURN_NULL();
	PG_RETURN_INT32(grid_id);
}

/* o2o_grid_nearest(geometry, max_distance_m float8) returns int */
Datum
o2o_grid_nearest(PG_FUNCTION_ARGS)
{
	double		lon,
				lat,
				max_m = PG_GETARG_FLOAT8(1),
				dist;
	int32		grid_id;

	O2oPointArg(PG_GETARG_DATUM(0), "o2o_grid_nearest", &lon, &lat);
	if (isnan(max_m) || max_m < 0 || isinf(max_m))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("o2o_grid_nearest: max_distance_m must be a finite distance of 0 or more"),
				 errdetail("max_distance_m is %g.", max_m)));
	if (!GridIndexNearest(GridGet(fcinfo), lon, lat, max_m, &grid_id, &dist))
		PG_RETURN_NULL();
	PG_RETURN_INT32(grid_id);
}

/*
 * o2o_grid_index_stats() returns record: the index of this backend (built
 * now if needed) — its size, its memory and how long its last build took.
 */
Datum
o2o_grid_index_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	GridIndex  *g = GridGet(fcinfo);
	Datum		values[8];
	bool		nulls[8] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int32GetDatum(g->npolys);
	values[1] = Int64GetDatum(g->nverts);
	values[2] = Int64GetDatum(g->nedges_total);
	values[3] = Int64GetDatum((int64) g->nx * g->ny);
	values[4] = Int64GetDatum(g->nedge_refs);
	values[5] = Int64GetDatum((int64) g->index_bytes);
	values[6] = Int64GetDatum((int64) g->vertex_bytes);
	values[7] = Float8GetDatum(GridBuildMs);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
