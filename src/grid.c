/*
 * grid.c
 *		o2o_grid_of(), o2o_grid_nearest(), o2o_grid_index_stats() and the
 *		build of the grid index.
 *
 * The index over all rows of o2o.grid (gridindex.c) is an image that
 * shcache.c keeps: built once per database and shared by every backend
 * when the library is preloaded, else each backend's own copy.  Either
 * way it is built under the latest snapshot, so it reflects the newest
 * committed grids (and the caller's own uncommitted changes), whatever
 * the caller's isolation level, and a change committed by another session
 * is seen by the next statement.
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
#include "shcache.h"

PG_FUNCTION_INFO_V1(o2o_grid_of);
PG_FUNCTION_INFO_V1(o2o_grid_of_lonlat);
PG_FUNCTION_INFO_V1(o2o_grid_nearest);
PG_FUNCTION_INFO_V1(o2o_grid_index_stats);

static const char *const GridTables[] = {"grid"};

/* the view of the image in use, the image, and which one it is */
static GridIndex GridView;
static const O2oImageHeader *GridViewImage = NULL;
static uint64 GridViewSerial = 0;
static bool GridViewValid = false;

static O2oImageHeader *GridBuildImage(Snapshot snap);

void
O2oGridInit(void)
{
	O2oShCacheRegister(O2O_SH_GRID, "grid index", GridTables, 1, GridBuildImage);
}

static double *
RingSink(void *arg, int npoints)
{
	GridIndexBuilder *b = ((void **) arg)[0];
	int32		grid_id = *(int32 *) ((void **) arg)[1];

	return GridIndexAddRing(b, grid_id, npoints);
}

/*
 * Read every grid polygon under snap and build the index's image.  The rows
 * stream through a cursor in the table's own order (no sort, which spilled
 * to disk on real borders); the index numbers the grids itself.
 */
static O2oImageHeader *
GridBuildImage(Snapshot snap)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext buildcxt = AllocSetContextCreate(caller, "o2o grid index build",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt;
	GridIndexBuilder *b;
	GridIndex  *idx;
	SPIPlanPtr	plan;
	Portal		portal;
	O2oImageHeader *h;
	Oid			relid = O2oCacheTable("grid");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare("SELECT grid_id, geom::bytea FROM o2o.grid", 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	PushActiveSnapshot(snap);
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	PopActiveSnapshot();

	oldcxt = MemoryContextSwitchTo(buildcxt);
	b = GridIndexBegin();
	MemoryContextSwitchTo(oldcxt);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 256);
		if (SPI_processed == 0)
			break;
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
			oldcxt = MemoryContextSwitchTo(buildcxt);
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
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();

	oldcxt = MemoryContextSwitchTo(buildcxt);
	idx = GridIndexFinish(b);
	MemoryContextSwitchTo(oldcxt);
	h = O2oImageAlloc(O2O_SH_GRID, GridIndexFlatSize(idx), &relid, 1);
	GridIndexFlatten(idx, O2O_IMAGE_DATA(h));
	MemoryContextDelete(buildcxt);
	return h;
}

/*
 * The index to read now: the shared image or this backend's own copy
 * (shcache.c), which moves to the newest once per statement and call site.
 */
static const GridIndex *
GridGet(FunctionCallInfo fcinfo)
{
	uint64		serial;
	const O2oImageHeader *h = O2oShCacheGet(O2O_SH_GRID, fcinfo, &serial);

	if (!GridViewValid || serial != GridViewSerial)
	{
		GridIndexView(O2O_IMAGE_DATA(h), &GridView);
		GridViewImage = h;
		GridViewSerial = serial;
		GridViewValid = true;
	}
	return &GridView;
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
 * o2o_grid_index_stats() returns record: the index this backend reads
 * (built now if there is none) -- its size, its memory and how long its
 * last build took.
 */
Datum
o2o_grid_index_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	const GridIndex *g = GridGet(fcinfo);
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
	values[7] = Float8GetDatum(GridViewImage->build_ms);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
