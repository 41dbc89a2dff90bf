/*
 * dealercache.c
 *		Every dealer's grid, location, service radius and state, its active
 *		installers, and every grid's region and climate, as one flat image
 *		(shcache.c: shared by every backend when the library is preloaded,
 *		else each backend's own copy) that changes to o2o.dealer,
 *		o2o.installer and o2o.grid replace.  These change rarely and are
 *		read on every assignment: in a city grid a popular model sits at
 *		hundreds of dealers.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "cache.h"
#include "dealercache.h"
#include "geom.h"
#include "o2o_route.h"
#include "shcache.h"

#define MAX_SKILLS 64

/* by O2oClimate */
static const char *const climate_names[] = {"north", "south"};

StaticAssertDecl(lengthof(climate_names) == O2O_CLIMATE_SOUTH + 1,
				 "climate_names must name every O2oClimate");

#define SKILL_LEN 64

/*
 * The image's data: arrays at offsets from the start of the data.  Dealers
 * are ordered by (grid_id, dealer_id), so each grid's are contiguous;
 * installers by (dealer_id, installer_id), each dealer's active ones
 * contiguous; grids by grid_id.
 */
typedef struct DealerImage
{
	int32		ndealers;
	int32		ngrids;
	int32		ninst;
	int32		ndealer_grids;
	int32		nskills;
	int32		max_dealer_id;	/* by_id covers 0 .. max_dealer_id; -1: no table */
	Size		dealers;		/* DealerInfo[ndealers] */
	Size		grids;			/* GridInfo[ngrids] */
	Size		inst;			/* InstallerInfo[ninst] */
	Size		dealer_grids;	/* int32[ndealer_grids]: the grids with dealers */
	Size		by_id;			/* int32[max_dealer_id + 1]: dealer index or -1 */
	Size		skills;			/* char[nskills][SKILL_LEN] */
} DealerImage;

/* the image in use, and where its arrays are in this backend */
typedef struct DealerView
{
	const DealerImage *im;
	const DealerInfo *dealers;
	const GridInfo *grids;
	const InstallerInfo *inst;
	const int32 *dealer_grids;
	const int32 *by_id;
	const char *skills;
} DealerView;

static const char *const DealerTables[] = {"dealer", "installer", "grid"};
static DealerView Cur;
static uint64 CurSerial = 0;
static bool CurValid = false;

static O2oImageHeader *DealerBuildImage(Snapshot snap);

void
O2oDealerCacheInit(void)
{
	O2oShCacheRegister(O2O_SH_DEALERS, "dealer cache", DealerTables, 3, DealerBuildImage);
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

/* what the build collects before laying out the image */
typedef struct BuildData
{
	DealerInfo *dealers;
	int32		ndealers;
	GridInfo   *grids;
	int32		ngrids;
	InstallerInfo *inst;
	int32		ninst;
	char		skills[MAX_SKILLS][SKILL_LEN];
	int			nskills;
} BuildData;

static uint64
SkillsOf(BuildData *bd, Datum arr)
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
		if (strlen(s) >= SKILL_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("installer skill \"%s\" is longer than %d bytes", s, SKILL_LEN - 1)));
		for (k = 0; k < bd->nskills; k++)
			if (strcmp(bd->skills[k], s) == 0)
				break;
		if (k == bd->nskills)
		{
			if (k == MAX_SKILLS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("installers have more than %d distinct skills", MAX_SKILLS)));
			strlcpy(bd->skills[bd->nskills++], s, SKILL_LEN);
		}
		mask |= UINT64CONST(1) << k;
	}
	return mask;
}

static int
DealerOrder(const void *a, const void *b)
{
	const DealerInfo *x = a,
			   *y = b;

	if (x->grid_id != y->grid_id)
		return x->grid_id < y->grid_id ? -1 : 1;
	return x->dealer_id < y->dealer_id ? -1 : x->dealer_id > y->dealer_id ? 1 : 0;
}

static int
GridOrder(const void *a, const void *b)
{
	int32		x = ((const GridInfo *) a)->grid_id,
				y = ((const GridInfo *) b)->grid_id;

	return x < y ? -1 : x > y ? 1 : 0;
}

static int
InstOrder(const void *a, const void *b)
{
	const InstallerInfo *x = a,
			   *y = b;

	if (x->dealer_id != y->dealer_id)
		return x->dealer_id < y->dealer_id ? -1 : 1;
	return x->installer_id < y->installer_id ? -1 : x->installer_id > y->installer_id ? 1 : 0;
}

/* binary search of a sorted array of GridInfo by grid_id */
static GridInfo *
FindGrid(GridInfo *grids, int32 ngrids, int32 grid_id)
{
	int32		lo = 0,
				hi = ngrids - 1;

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (grids[mid].grid_id == grid_id)
			return &grids[mid];
		if (grids[mid].grid_id < grid_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* Read the three tables under one snapshot into bd (sorted as the image wants). */
static void
Collect(BuildData *bd, Snapshot snap)
{
	SPITupleTable *grids,
			   *dealers,
			   *installers;
	bool		isnull;
	int32		nextra = 0;

	grids = Read("SELECT grid_id, region_id, climate FROM o2o.grid", snap);
	dealers = Read("SELECT dealer_id, grid_id, region_id, active, location, service_radius_m "
				   "FROM o2o.dealer", snap);
	installers = Read("SELECT installer_id, dealer_id, daily_capacity, skills, active "
					  "FROM o2o.installer", snap);

	/* grids, and room for dealers' grid ids that o2o.grid lacks (-1: none) */
	bd->grids = palloc0((grids->numvals + dealers->numvals + 1) * sizeof(GridInfo));
	for (uint64 i = 0; i < grids->numvals; i++)
	{
		GridInfo   *g = &bd->grids[i];

		g->grid_id = DatumGetInt32(Get(grids, i, 1, &isnull));
		g->exists = true;
		g->region_id = DatumGetInt32(Get(grids, i, 2, &isnull));
		g->climate = O2oClimateOf(TextDatumGetCString(Get(grids, i, 3, &isnull)));
	}
	bd->ngrids = (int32) grids->numvals;
	qsort(bd->grids, bd->ngrids, sizeof(GridInfo), GridOrder);

	bd->dealers = palloc0(Max(dealers->numvals, 1) * sizeof(DealerInfo));
	for (uint64 i = 0; i < dealers->numvals; i++)
	{
		DealerInfo *d = &bd->dealers[i];
		Datum		v;

		CHECK_FOR_INTERRUPTS();
		d->dealer_id = DatumGetInt32(Get(dealers, i, 1, &isnull));
		v = Get(dealers, i, 2, &isnull);
		d->grid_id = isnull ? -1 : DatumGetInt32(v);
		v = Get(dealers, i, 3, &isnull);
		d->region_id = isnull ? 0 : DatumGetInt32(v);
		d->active = DatumGetBool(Get(dealers, i, 4, &isnull));
		O2oPointArg(Get(dealers, i, 5, &isnull), "o2o_assign", &d->lon, &d->lat);
		d->radius_m = DatumGetFloat8(Get(dealers, i, 6, &isnull));
	}
	bd->ndealers = (int32) dealers->numvals;
	qsort(bd->dealers, bd->ndealers, sizeof(DealerInfo), DealerOrder);

	/* each grid's dealers: a contiguous run, and the box around them */
	for (int32 i = 0; i < bd->ndealers;)
	{
		DealerInfo *d = &bd->dealers[i];
		GridInfo   *g = FindGrid(bd->grids, bd->ngrids, d->grid_id);
		int32		j;

		if (g == NULL)
		{
			/* a grid_id o2o.grid does not have (or none): an entry that does not exist */
			g = &bd->grids[bd->ngrids + nextra++];
			g->grid_id = d->grid_id;
			g->exists = false;
			g->region_id = 0;
			g->climate = O2O_CLIMATE_NORTH;
		}
		g->dealer_start = i;
		g->minlon = g->minlat = INFINITY;
		g->maxlon = g->maxlat = -INFINITY;
		for (j = i; j < bd->ndealers && bd->dealers[j].grid_id == d->grid_id; j++)
		{
			g->minlon = Min(g->minlon, bd->dealers[j].lon);
			g->minlat = Min(g->minlat, bd->dealers[j].lat);
			g->maxlon = Max(g->maxlon, bd->dealers[j].lon);
			g->maxlat = Max(g->maxlat, bd->dealers[j].lat);
		}
		g->ndealers = j - i;
		i = j;
	}
	if (nextra > 0)
	{
		bd->ngrids += nextra;
		qsort(bd->grids, bd->ngrids, sizeof(GridInfo), GridOrder);
	}

	/* installers, sorted by dealer; each dealer's active ones */
	bd->inst = palloc0(Max(installers->numvals, 1) * sizeof(InstallerInfo));
	bd->ninst = 0;
	for (uint64 i = 0; i < installers->numvals; i++)
	{
		InstallerInfo *in = &bd->inst[bd->ninst];

		CHECK_FOR_INTERRUPTS();
		in->installer_id = DatumGetInt32(Get(installers, i, 1, &isnull));
		in->dealer_id = DatumGetInt32(Get(installers, i, 2, &isnull));
		in->capacity = DatumGetInt32(Get(installers, i, 3, &isnull));
		in->skills = SkillsOf(bd, Get(installers, i, 4, &isnull));
		in->active = DatumGetBool(Get(installers, i, 5, &isnull));
		if (in->active)
			bd->ninst++;		/* only active installers serve */
	}
	qsort(bd->inst, bd->ninst, sizeof(InstallerInfo), InstOrder);
}

/* (dealer_id, index) pairs by dealer_id */
static int
IdOrder(const void *a, const void *b)
{
	int32		x = ((const int32 *) a)[0],
				y = ((const int32 *) b)[0];

	return x < y ? -1 : x > y ? 1 : 0;
}

static O2oImageHeader *
DealerBuildImage(Snapshot snap)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "o2o dealer cache build", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	BuildData  *bd;
	DealerImage im = {0};
	Size		off;
	O2oImageHeader *h;
	char	   *data;
	int32	   *pairs;			/* (dealer_id, index) sorted by id */
	int32		min_id = 0,
				max_id = -1;
	Oid			relids[3];

	for (int t = 0; t < 3; t++)
		relids[t] = O2oCacheTable(DealerTables[t]);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	old = MemoryContextSwitchTo(cxt);
	bd = palloc0(sizeof(BuildData));
	snap = RegisterSnapshot(snap);
	Collect(bd, snap);
	UnregisterSnapshot(snap);

	/* each dealer's active installers */
	for (int32 i = 0; i < bd->ndealers; i++)
	{
		DealerInfo *d = &bd->dealers[i];
		InstallerInfo *first;
		int32		lo = 0,
					hi = bd->ninst;

		/* the first of its installers (sorted by dealer_id) */
		while (lo < hi)
		{
			int32		mid = lo + (hi - lo) / 2;

			if (bd->inst[mid].dealer_id < d->dealer_id)
				lo = mid + 1;
			else
				hi = mid;
		}
		first = &bd->inst[lo];
		d->inst_start = lo;
		d->ninst = 0;
		while (lo + d->ninst < bd->ninst && first[d->ninst].dealer_id == d->dealer_id)
			d->ninst++;
	}

	/* the grids that have dealers */
	im.ndealer_grids = 0;
	for (int32 g = 0; g < bd->ngrids; g++)
		if (bd->grids[g].ndealers > 0)
			im.ndealer_grids++;

	/* ids: a direct table when dense enough, else a sorted (id, index) array */
	pairs = palloc(Max(bd->ndealers, 1) * 2 * sizeof(int32));
	for (int32 i = 0; i < bd->ndealers; i++)
	{
		pairs[2 * i] = bd->dealers[i].dealer_id;
		pairs[2 * i + 1] = i;
	}
	qsort(pairs, bd->ndealers, 2 * sizeof(int32), IdOrder);
	if (bd->ndealers > 0)
	{
		min_id = pairs[0];
		max_id = pairs[2 * (bd->ndealers - 1)];
	}
	im.ndealers = bd->ndealers;
	im.ngrids = bd->ngrids;
	im.ninst = bd->ninst;
	im.nskills = bd->nskills;
	im.max_dealer_id = (bd->ndealers > 0 && min_id >= 0 && max_id < 4 * (int64) bd->ndealers + 1024)
		? max_id : -1;

	/* lay out */
	off = MAXALIGN(sizeof(DealerImage));
	im.dealers = off;
	off += MAXALIGN(im.ndealers * sizeof(DealerInfo));
	im.grids = off;
	off += MAXALIGN(im.ngrids * sizeof(GridInfo));
	im.inst = off;
	off += MAXALIGN(im.ninst * sizeof(InstallerInfo));
	im.dealer_grids = off;
	off += MAXALIGN(im.ndealer_grids * sizeof(int32));
	im.by_id = off;
	off += MAXALIGN(im.max_dealer_id >= 0 ? (im.max_dealer_id + 1) * sizeof(int32)
					: im.ndealers * 2 * sizeof(int32));
	im.skills = off;
	off += MAXALIGN(im.nskills * SKILL_LEN);
	MemoryContextSwitchTo(caller);
	h = O2oImageAlloc(O2O_SH_DEALERS, off, relids, 3);
	MemoryContextSwitchTo(old);
	data = O2O_IMAGE_DATA(h);
	memcpy(data, &im, sizeof(im));
	memcpy(data + im.dealers, bd->dealers, im.ndealers * sizeof(DealerInfo));
	memcpy(data + im.grids, bd->grids, im.ngrids * sizeof(GridInfo));
	memcpy(data + im.inst, bd->inst, im.ninst * sizeof(InstallerInfo));
	for (int32 g = 0, n = 0; g < bd->ngrids; g++)
		if (bd->grids[g].ndealers > 0)
			((int32 *) (data + im.dealer_grids))[n++] = g;
	if (im.max_dealer_id >= 0)
	{
		int32	   *t = (int32 *) (data + im.by_id);

		for (int32 i = 0; i <= im.max_dealer_id; i++)
			t[i] = -1;
		for (int32 i = 0; i < bd->ndealers; i++)
			t[pairs[2 * i]] = pairs[2 * i + 1];
	}
	else
		memcpy(data + im.by_id, pairs, im.ndealers * 2 * sizeof(int32));
	for (int k = 0; k < im.nskills; k++)
		memcpy(data + im.skills + k * SKILL_LEN, bd->skills[k], SKILL_LEN);
	SPI_finish();
	MemoryContextDelete(cxt);
	return h;
}

void
O2oDealerCachePin(void)
{
	O2oShCachePin(O2O_SH_DEALERS);
}

void
O2oDealerCacheUnpin(void)
{
	O2oShCacheUnpin(O2O_SH_DEALERS);
}

/*
 * Move to the newest image (changes other sessions committed since the
 * last look included) after checking that the caller may read the tables.
 */
void
O2oDealerCacheRefresh(void)
{
	uint64		serial;
	const O2oImageHeader *h;

	AcceptInvalidationMessages();
	h = O2oShCacheGet(O2O_SH_DEALERS, NULL, &serial);
	if (!CurValid || serial != CurSerial)
	{
		const char *data = O2O_IMAGE_DATA(h);

		Cur.im = (const DealerImage *) data;
		Cur.dealers = (const DealerInfo *) (data + Cur.im->dealers);
		Cur.grids = (const GridInfo *) (data + Cur.im->grids);
		Cur.inst = (const InstallerInfo *) (data + Cur.im->inst);
		Cur.dealer_grids = (const int32 *) (data + Cur.im->dealer_grids);
		Cur.by_id = (const int32 *) (data + Cur.im->by_id);
		Cur.skills = data + Cur.im->skills;
		CurSerial = serial;
		CurValid = true;
	}
}

const DealerInfo *
O2oDealerLookup(int32 dealer_id)
{
	int32		lo,
				hi;

	Assert(CurValid);
	if (Cur.im->max_dealer_id >= 0)
	{
		int32		i;

		if (dealer_id < 0 || dealer_id > Cur.im->max_dealer_id)
			return NULL;
		i = Cur.by_id[dealer_id];
		return i >= 0 ? &Cur.dealers[i] : NULL;
	}
	lo = 0;
	hi = Cur.im->ndealers - 1;
	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		int32		id = Cur.by_id[2 * mid];

		if (id == dealer_id)
			return &Cur.dealers[Cur.by_id[2 * mid + 1]];
		if (id < dealer_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

const GridInfo *
O2oGridLookup(int32 grid_id)
{
	Assert(CurValid);
	return FindGrid((GridInfo *) Cur.grids, Cur.im->ngrids, grid_id);
}

int
O2oDealerGridCount(void)
{
	Assert(CurValid);
	return Cur.im->ndealer_grids;
}

const GridInfo *
O2oDealerGridAt(int i)
{
	Assert(CurValid && i >= 0 && i < Cur.im->ndealer_grids);
	return &Cur.grids[Cur.dealer_grids[i]];
}

/*
 * The grids with dealers by the west edge of the box around their dealers,
 * for O2oDealerGridsInBox(), built for the image in use when first needed;
 * the dealers outside every grid (grid -1, a box as wide as the country)
 * apart.
 */
static struct
{
	const DealerImage *im;		/* built for this image */
	uint64		serial;
	int32	   *pos;			/* positions for O2oDealerGridAt(), by minlon */
	int			n;
	double		widest;			/* the widest box among them, in degrees */
	int			outside;		/* the position of grid -1, or -1 */
} ByWest;

/* by the west edge of the box, then by position */
static int
WestOrder(const void *a, const void *b)
{
	int32		i = *(const int32 *) a,
				j = *(const int32 *) b;
	double		x = O2oDealerGridAt(i)->minlon,
				y = O2oDealerGridAt(j)->minlon;

	if (x != y)
		return x < y ? -1 : 1;
	return (i > j) - (i < j);
}

static void
BuildByWest(void)
{
	int			ngrids = Cur.im->ndealer_grids;

	if (ByWest.pos != NULL)
		pfree(ByWest.pos);
	ByWest.pos = MemoryContextAlloc(TopMemoryContext, Max(ngrids, 1) * sizeof(int32));
	ByWest.n = 0;
	ByWest.widest = 0;
	ByWest.outside = -1;
	for (int i = 0; i < ngrids; i++)
	{
		const GridInfo *g = O2oDealerGridAt(i);

		if (g->grid_id < 0)
		{
			ByWest.outside = i;
			continue;
		}
		ByWest.pos[ByWest.n++] = i;
		ByWest.widest = Max(ByWest.widest, g->maxlon - g->minlon);
	}
	qsort(ByWest.pos, ByWest.n, sizeof(int32), WestOrder);
	ByWest.im = Cur.im;
	ByWest.serial = CurSerial;
}

static bool
BoxMeets(const GridInfo *g, double minlon, double minlat, double maxlon, double maxlat)
{
	return !(g->maxlon < minlon || g->minlon > maxlon || g->maxlat < minlat || g->minlat > maxlat);
}

static int
PosOrder(const void *a, const void *b)
{
	int			i = *(const int *) a,
				j = *(const int *) b;

	return (i > j) - (i < j);
}

int
O2oDealerGridsInBox(double minlon, double minlat, double maxlon, double maxlat, int *out)
{
	int			n = 0,
				lo = 0,
				hi;
	double		west;

	Assert(CurValid);
	if (ByWest.im != Cur.im || ByWest.serial != CurSerial)
		BuildByWest();
	/* no box west of this (a degree to spare for rounding) reaches minlon */
	west = minlon - ByWest.widest - 1;
	hi = ByWest.n;
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (O2oDealerGridAt(ByWest.pos[mid])->minlon < west)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int k = lo; k < ByWest.n; k++)
	{
		const GridInfo *g = O2oDealerGridAt(ByWest.pos[k]);

		if (g->minlon > maxlon)
			break;
		if (BoxMeets(g, minlon, minlat, maxlon, maxlat))
			out[n++] = ByWest.pos[k];
	}
	if (ByWest.outside >= 0 && BoxMeets(O2oDealerGridAt(ByWest.outside), minlon, minlat, maxlon, maxlat))
		out[n++] = ByWest.outside;
	if (n > 1)
		qsort(out, n, sizeof(int), PosOrder);
	return n;
}

const DealerInfo *
O2oGridDealer(const GridInfo *g, int i)
{
	Assert(CurValid && i >= 0 && i < g->ndealers);
	return &Cur.dealers[g->dealer_start + i];
}

const InstallerInfo *
O2oDealerInstaller(const DealerInfo *d, int i)
{
	Assert(CurValid && i >= 0 && i < d->ninst);
	return &Cur.inst[d->inst_start + i];
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
	Assert(CurValid);
	for (int k = 0; k < Cur.im->nskills; k++)
		if (strcmp(Cur.skills + k * SKILL_LEN, skill) == 0)
			return UINT64CONST(1) << k;
	return 0;
}
