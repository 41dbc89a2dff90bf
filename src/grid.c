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
 * Invalidation follows the usual relcache pattern: a statement-level
 * trigger on o2o.grid calls CacheInvalidateRelcacheByRelid; every backend
 * (the writer at its next command, the others when they next process
 * invalidations) runs GridRelcacheCallback, which only bumps a counter.
 * The functions accept pending invalidations once per statement, so a
 * change committed by another session is seen by the next statement.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "portability/instr_time.h"
#include "storage/sinval.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "geom.h"
#include "grid.h"
#include "gridindex.h"
#include "o2o_route.h"

PG_FUNCTION_INFO_V1(o2o_grid_of);
PG_FUNCTION_INFO_V1(o2o_grid_of_lonlat);
PG_FUNCTION_INFO_V1(o2o_grid_nearest);
PG_FUNCTION_INFO_V1(o2o_grid_index_stats);
PG_FUNCTION_INFO_V1(o2o_grid_changed);

static MemoryContext GridContext = NULL;
static GridIndex *Grid = NULL;
static Oid	GridRelid = InvalidOid;
static uint64 GridInvalCount = 0;	/* invalidations seen */
static uint64 GridBuiltAt = 0;	/* GridInvalCount when Grid was built */
static double GridBuildMs = 0;

static void
GridRelcacheCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == GridRelid || GridRelid == InvalidOid)
		GridInvalCount++;
}

void
O2oGridInit(void)
{
	CacheRegisterRelcacheCallback(GridRelcacheCallback, (Datum) 0);
}

static double *
RingSink(void *arg, int npoints)
{
	GridIndexBuilder *b = ((void **) arg)[0];
	int32		grid_id = *(int32 *) ((void **) arg)[1];

	return GridIndexAddRing(b, grid_id, npoints);
}

/*
 * The snapshot a cache is built under: the latest one, so that it reflects
 * every committed change whatever the caller's isolation level -- except in
 * a parallel operation, which may not take a new snapshot, where the
 * query's own snapshot serves (a worker's cache dies with the query).
 */
static Snapshot
BuildSnapshot(void)
{
	return IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot();
}

/* Read every grid polygon and build a new index in a new memory context. */
static void
GridBuild(void)
{
	Oid			nsp = get_namespace_oid("o2o", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("grid", nsp) : InvalidOid;
	uint64		inval_at_start = GridInvalCount;
	MemoryContext newcxt,
				oldcxt;
	GridIndexBuilder *b;
	GridIndex  *idx;
	SPIPlanPtr	plan;
	instr_time	start,
				elapsed;
	int			rc;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table o2o.grid does not exist"),
				 errhint("Run CREATE EXTENSION %s CASCADE.", O2O_EXTENSION_NAME)));
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
		rc = SPI_execute_snapshot(plan, NULL, NULL, BuildSnapshot(), InvalidSnapshot,
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
	GridRelid = relid;
	/* an invalidation that arrived during the build leaves the index stale */
	GridBuiltAt = inval_at_start;
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
	if (fcinfo != NULL && fcinfo->flinfo->fn_extra == NULL)
	{
		AcceptInvalidationMessages();
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, 1);
	}
	if (Grid == NULL || GridBuiltAt != GridInvalCount)
		GridBuild();
	return Grid;
}

int32
O2oGridOf(double lon, double lat)
{
	int32		grid_id;

	if (!GridIndexLookup(GridGet(NULL), lon, lat, &grid_id))
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

/*
 * Statement-level trigger on o2o.grid: every backend's index of this table
 * is stale once this transaction commits (and this backend's at its next
 * command).
 */
Datum
o2o_grid_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("o2o_grid_changed: must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	PG_RETURN_POINTER(NULL);
}
