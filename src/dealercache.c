/*
 * dealercache.c
 *		Every dealer's grid, location, service radius and state, its active
 *		installers, and every grid's region and climate, cached per backend
 *		(invalidated through cache.c by statement triggers on o2o.dealer,
 *		o2o.installer and o2o.grid).  These change rarely and are read on
 *		every assignment: in a city grid a popular model sits at hundreds
 *		of dealers.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "cache.h"
#include "dealercache.h"
#include "geom.h"
#include "o2o_route.h"

#define MAX_SKILLS 64

/* by O2oClimate */
static const char *const climate_names[] = {"north", "south"};

StaticAssertDecl(lengthof(climate_names) == O2O_CLIMATE_SOUTH + 1,
				 "climate_names must name every O2oClimate");

typedef struct CacheData
{
	MemoryContext cxt;
	HTAB	   *dealers;
	const DealerInfo **by_id;	/* dealers by id, when ids are dense enough */
	int32		max_id;
	HTAB	   *grids;
	const GridInfo **dealer_grids;	/* the grids that have dealers */
	int			ndealer_grids;
	char	   *skills[MAX_SKILLS];
	int			nskills;
	Oid			relids[3];		/* dealer, installer, grid */
} CacheData;

/*
 * The current data, and data replaced while a caller still held pointers
 * into it (see O2oDealerCachePin), freed once nobody can.
 */
static CacheData *Current = NULL;
static List *Retired = NIL;
static int	Pins = 0;
static bool XactCallbackRegistered = false;
static O2oCache DealerCache;

void
O2oDealerCacheInit(void)
{
	O2oCacheRegister(&DealerCache);
}

static HTAB *
NewHash(const char *name, Size entrysize, MemoryContext cxt)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = entrysize;
	ctl.hcxt = cxt;
	return hash_create(name, 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static SPITupleTable *
Read(const char *sql, Snapshot snap)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	int			rc;

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	rc = SPI_execute_snapshot(plan, NULL, NULL, snap, InvalidSnapshot, true, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading for the dealer cache failed: %s", SPI_result_code_string(rc));
	return SPI_tuptable;
}

static inline Datum
Get(SPITupleTable *t, uint64 row, int col, bool *isnull)
{
	return SPI_getbinval(t->vals[row], t->tupdesc, col, isnull);
}

/* the grid entry of a dealer's grid_id, made when o2o.grid has no such row */
static GridInfo *
GridEntry(CacheData *cd, int32 grid_id)
{
	bool		found;
	GridInfo   *g = hash_search(cd->grids, &grid_id, HASH_ENTER, &found);

	if (!found)
	{
		g->exists = false;
		g->region_id = 0;
		g->climate = O2O_CLIMATE_NORTH;
		g->ndealers = 0;
		g->dealers = NULL;
		g->minlon = g->minlat = INFINITY;
		g->maxlon = g->maxlat = -INFINITY;
	}
	return g;
}

static uint64
SkillsOf(CacheData *cd, Datum arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	uint64		mask = 0;

	deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *s;
		int			k;

		if (nulls[i])
			continue;
		s = TextDatumGetCString(elems[i]);
		for (k = 0; k < cd->nskills; k++)
			if (strcmp(cd->skills[k], s) == 0)
				break;
		if (k == cd->nskills)
		{
			if (k == MAX_SKILLS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("installers have more than %d distinct skills", MAX_SKILLS)));
			cd->skills[cd->nskills++] = MemoryContextStrdup(cd->cxt, s);
		}
		mask |= UINT64CONST(1) << k;
	}
	return mask;
}

static void
Build(CacheData *cd)
{
	SPITupleTable *grids,
			   *dealers,
			   *installers;
	DealerInfo **dlist;
	InstallerInfo *inst;
	bool		isnull;
	HASH_SEQ_STATUS seq;
	GridInfo   *g;
	int			ng = 0;

	Snapshot	snap;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* one snapshot for the three tables */
	snap = RegisterSnapshot(O2oCacheSnapshot());
	grids = Read("SELECT grid_id, region_id, climate FROM o2o.grid", snap);
	dealers = Read("SELECT dealer_id, grid_id, region_id, active, location, service_radius_m "
				   "FROM o2o.dealer ORDER BY dealer_id", snap);
	installers = Read("SELECT installer_id, dealer_id, daily_capacity, skills, active "
					  "FROM o2o.installer ORDER BY dealer_id, installer_id", snap);
	UnregisterSnapshot(snap);

	cd->grids = NewHash("o2o grids", sizeof(GridInfo), cd->cxt);
	cd->dealers = NewHash("o2o dealers", sizeof(DealerInfo), cd->cxt);

	for (uint64 i = 0; i < grids->numvals; i++)
	{
		g = GridEntry(cd, DatumGetInt32(Get(grids, i, 1, &isnull)));
		g->exists = true;
		g->region_id = DatumGetInt32(Get(grids, i, 2, &isnull));
		g->climate = O2oClimateOf(TextDatumGetCString(Get(grids, i, 3, &isnull)));
	}

	/* dealers, and the count of each grid's */
	dlist = MemoryContextAlloc(cd->cxt, Max(dealers->numvals, 1) * sizeof(DealerInfo *));
	for (uint64 i = 0; i < dealers->numvals; i++)
	{
		int32		id = DatumGetInt32(Get(dealers, i, 1, &isnull));
		DealerInfo *d = hash_search(cd->dealers, &id, HASH_ENTER, NULL);
		Datum		v;

		v = Get(dealers, i, 2, &isnull);
		d->grid_id = isnull ? -1 : DatumGetInt32(v);
		v = Get(dealers, i, 3, &isnull);
		d->region_id = isnull ? 0 : DatumGetInt32(v);
		d->active = DatumGetBool(Get(dealers, i, 4, &isnull));
		O2oPointArg(Get(dealers, i, 5, &isnull), "o2o_assign", &d->lon, &d->lat);
		d->radius_m = DatumGetFloat8(Get(dealers, i, 6, &isnull));
		d->ninst = 0;
		d->inst = NULL;
		dlist[i] = d;
		g = GridEntry(cd, d->grid_id);
		g->ndealers++;
		g->minlon = Min(g->minlon, d->lon);
		g->minlat = Min(g->minlat, d->lat);
		g->maxlon = Max(g->maxlon, d->lon);
		g->maxlat = Max(g->maxlat, d->lat);
	}
	/* each grid's dealers, by dealer_id */
	hash_seq_init(&seq, cd->grids);
	while ((g = hash_seq_search(&seq)) != NULL)
	{
		if (g->ndealers > 0)
		{
			g->dealers = MemoryContextAlloc(cd->cxt, g->ndealers * sizeof(DealerInfo *));
			g->ndealers = 0;
			ng++;
		}
	}
	for (uint64 i = 0; i < dealers->numvals; i++)
	{
		g = hash_search(cd->grids, &dlist[i]->grid_id, HASH_FIND, NULL);
		g->dealers[g->ndealers++] = dlist[i];
	}
	cd->dealer_grids = MemoryContextAlloc(cd->cxt, Max(ng, 1) * sizeof(GridInfo *));
	cd->ndealer_grids = 0;
	hash_seq_init(&seq, cd->grids);
	while ((g = hash_seq_search(&seq)) != NULL)
		if (g->ndealers > 0)
			cd->dealer_grids[cd->ndealer_grids++] = g;

	/* installers; each dealer's active ones, by installer_id */
	inst = MemoryContextAlloc(cd->cxt, Max(installers->numvals, 1) * sizeof(InstallerInfo));
	for (int pass = 0; pass < 2; pass++)
	{
		for (uint64 i = 0; i < installers->numvals; i++)
		{
			int32		dealer_id = DatumGetInt32(Get(installers, i, 2, &isnull));
			DealerInfo *d = hash_search(cd->dealers, &dealer_id, HASH_FIND, NULL);

			if (pass == 0)
			{
				inst[i].installer_id = DatumGetInt32(Get(installers, i, 1, &isnull));
				inst[i].dealer_id = dealer_id;
				inst[i].capacity = DatumGetInt32(Get(installers, i, 3, &isnull));
				inst[i].skills = SkillsOf(cd, Get(installers, i, 4, &isnull));
				inst[i].active = DatumGetBool(Get(installers, i, 5, &isnull));
				if (d != NULL && inst[i].active)
					d->ninst++;
			}
			else if (d != NULL && inst[i].active)
			{
				if (d->inst == NULL)
				{
					d->inst = MemoryContextAlloc(cd->cxt, d->ninst * sizeof(InstallerInfo *));
					d->ninst = 0;
				}
				d->inst[d->ninst++] = &inst[i];
			}
		}
	}

	/* a direct table of the dealers when their ids are dense enough */
	cd->by_id = NULL;
	cd->max_id = -1;
	if (dealers->numvals > 0)
	{
		int32		min_id = dlist[0]->dealer_id,
					max_id = dlist[dealers->numvals - 1]->dealer_id;	/* read by dealer_id */

		if (min_id >= 0 && max_id < 4 * (int64) dealers->numvals + 1024)
		{
			cd->by_id = MemoryContextAllocZero(cd->cxt, (max_id + 1) * sizeof(DealerInfo *));
			for (uint64 i = 0; i < dealers->numvals; i++)
				cd->by_id[dlist[i]->dealer_id] = dlist[i];
			cd->max_id = max_id;
		}
	}
	SPI_finish();
}

/*
 * The caller may read what the cache holds only if it could read the tables:
 * the cache is shared by every role of the backend.
 */
static void
CheckAccess(const CacheData *cd)
{
	static const char *const names[3] = {"dealer", "installer", "grid"};

	for (int i = 0; i < 3; i++)
	{
		AclResult	acl = pg_class_aclcheck(cd->relids[i], GetUserId(), ACL_SELECT);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, names[i]);
		if (check_enable_rls(cd->relids[i], InvalidOid, false) == RLS_ENABLED)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("o2o_route does not support row-level security on o2o.%s", names[i])));
	}
}

static void
FreeRetired(void)
{
	ListCell   *lc;

	foreach(lc, Retired)
	{
		CacheData  *old = lfirst(lc);

		MemoryContextDelete(old->cxt);
		pfree(old);
	}
	list_free(Retired);
	Retired = NIL;
}

/* at the end of a transaction no caller holds pointers into the cache */
static void
DealerCacheXactCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT
		|| event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT
		|| event == XACT_EVENT_PREPARE)
	{
		Pins = 0;
		FreeRetired();
	}
}

void
O2oDealerCachePin(void)
{
	if (!XactCallbackRegistered)
	{
		RegisterXactCallback(DealerCacheXactCallback, NULL);
		XactCallbackRegistered = true;
	}
	Pins++;
}

void
O2oDealerCacheUnpin(void)
{
	if (Pins > 0 && --Pins == 0)
		FreeRetired();
}

void
O2oDealerCacheRefresh(void)
{
	Oid			relids[3];
	uint64		begun;
	CacheData  *cd;

	/* changes other sessions committed since the last look */
	AcceptInvalidationMessages();
	if (!O2oCacheStale(&DealerCache, NULL))
	{
		CheckAccess(Current);
		return;
	}
	relids[0] = O2oCacheTable("dealer");
	relids[1] = O2oCacheTable("installer");
	relids[2] = O2oCacheTable("grid");
	begun = O2oCacheBuildBegin(&DealerCache);
	cd = MemoryContextAllocZero(TopMemoryContext, sizeof(CacheData));
	cd->cxt = AllocSetContextCreate(TopMemoryContext, "o2o dealers", ALLOCSET_DEFAULT_SIZES);
	memcpy(cd->relids, relids, sizeof(relids));
	PG_TRY();
	{
		CheckAccess(cd);
		Build(cd);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cd->cxt);
		pfree(cd);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (Current != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		Retired = lappend(Retired, Current);
		MemoryContextSwitchTo(old);
	}
	Current = cd;
	if (Pins == 0)
		FreeRetired();
	O2oCacheBuildDoneRels(&DealerCache, relids, 3, begun);
}

const DealerInfo *
O2oDealerLookup(int32 dealer_id)
{
	Assert(Current != NULL);
	if (Current->by_id != NULL)
		return dealer_id >= 0 && dealer_id <= Current->max_id ? Current->by_id[dealer_id] : NULL;
	return hash_search(Current->dealers, &dealer_id, HASH_FIND, NULL);
}

const GridInfo *
O2oGridLookup(int32 grid_id)
{
	Assert(Current != NULL);
	return hash_search(Current->grids, &grid_id, HASH_FIND, NULL);
}

const GridInfo *const *
O2oDealerGrids(int *ngrids)
{
	Assert(Current != NULL);
	*ngrids = Current->ndealer_grids;
	return Current->dealer_grids;
}

/* the climate named by a grid's or a product's text */
O2oClimate
O2oClimateOf(const char *name)
{
	for (int c = 0; c < (int) lengthof(climate_names); c++)
		if (strcmp(climate_names[c], name) == 0)
			return (O2oClimate) c;
	elog(ERROR, "unknown climate \"%s\"", name);
	return O2O_CLIMATE_NORTH;	/* keep the compiler quiet */
}

/* the name shown to users, as stored in the tables */
const char *
O2oClimateName(O2oClimate climate)
{
	Assert((int) climate >= 0 && (int) climate < (int) lengthof(climate_names));
	return climate_names[climate];
}

uint64
O2oSkillMask(const char *skill)
{
	Assert(Current != NULL);
	for (int k = 0; k < Current->nskills; k++)
		if (strcmp(Current->skills[k], skill) == 0)
			return UINT64CONST(1) << k;
	return 0;
}
