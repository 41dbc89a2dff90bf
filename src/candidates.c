/*
 * candidates.c
 *		The order being routed and the dealers that could serve it.
 *
 * The order row is read (and locked, for o2o_assign) by index probe, with
 * its product and earlier assignments; its grid comes from o2o_grid_of or
 * the nearest grid.  Stock is read by index probe too: by (sku, grid_id),
 * whose index includes dealer_id, so that only the rows of the nearest
 * dealers of a grid are read from the table; or by (dealer_id, sku) for one
 * dealer.  Dealers come from the dealer cache (dealercache.c).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/fmgroids.h"
#include "utils/snapmgr.h"

#include "candidates.h"
#include "tracking.h"
#include "dealercache.h"
#include "geom.h"
#include "grid.h"
#include "guc.h"
#include "o2o_route.h"
#include "probe.h"

/*
 * The snapshot the probes of one step read under: a new one for
 * o2o_assign, as each statement of a volatile function would take (it sees
 * what committed while the order's lock was awaited, and what this
 * transaction wrote so far); the query's own for the read-only
 * o2o_candidates.
 */
Snapshot
O2oOrderSnapshot(const Order *o)
{
	return RegisterSnapshot(o->read_only ? GetActiveSnapshot() : NewStatementSnapshot());
}

/* the active and the declined assignments of the order */
static void
ReadAssignments(Order *o)
{
	static const O2oProbeKey key[1] = {{"order_id", 1, BTEqualStrategyNumber, F_INT8EQ}};
	Snapshot	snap = O2oOrderSnapshot(o);
	O2oProbe	p;
	Datum		v[1] = {Int64GetDatum(o->order_id)};
	AttrNumber	a_dealer,
				a_state;
	int			cap = 0;

	o->active_dealer = -1;
	o->declined = NULL;
	o->ndeclined = 0;
	O2oProbeOpen(&p, "assignment", "assignment_order_idx", key, 1, snap);
	a_dealer = O2oProbeAttnum(&p, "dealer_id");
	a_state = O2oProbeAttnum(&p, "state");
	O2oProbeStart(&p, v);
	while (O2oProbeNext(&p))
	{
		bool		isnull;
		int32		dealer = DatumGetInt32(O2oProbeGet(&p, a_dealer, &isnull));
		text	   *state = DatumGetTextPP(O2oProbeGet(&p, a_state, &isnull));
		const char *st = VARDATA_ANY(state);
		int			len = VARSIZE_ANY_EXHDR(state);

		if (len == 6 && memcmp(st, "active", 6) == 0)
			o->active_dealer = dealer;
		else if (len == 8 && memcmp(st, "declined", 8) == 0)
		{
			if (o->ndeclined == cap)
			{
				cap = Max(cap * 2, 4);
				o->declined = o->declined ? repalloc(o->declined, cap * sizeof(int32)) : palloc(cap * sizeof(int32));
			}
			o->declined[o->ndeclined++] = dealer;
		}
	}
	O2oProbeClose(&p);
	UnregisterSnapshot(snap);
}

/* the great-circle distance on a sphere of the Earth's mean radius */
double
O2oHaversine(double lon1, double lat1, double lon2, double lat2)
{
	double		p1 = lat1 * M_PI / 180,
				p2 = lat2 * M_PI / 180,
				dp = p2 - p1,
				dl = (lon2 - lon1) * M_PI / 180,
				a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	return 2 * EARTH_RADIUS_M * asin(Min(1.0, sqrt(a)));
}

/* a climate's bit in a set of climates */
static inline uint32
ClimateBit(O2oClimate climate)
{
	return (uint32) 1 << climate;
}

/* the climates of a product's climates array, as a set of ClimateBit() */
static uint32
ClimateMask(Datum climates)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	uint32		mask = 0;

	deconstruct_array(DatumGetArrayTypeP(climates), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			mask |= ClimateBit(O2oClimateOf(TextDatumGetCString(elems[i])));
	return mask;
}

/*
 * The product of the order: category, installation, and the climates it is
 * sold in (by ClimateBit(); all when NULL).  false when there is no such
 * product.
 */
static bool
ReadProduct(Order *o, Snapshot snap, uint32 *allowed)
{
	static const O2oProbeKey pkey[1] = {{"sku", 1, BTEqualStrategyNumber, F_TEXTEQ}};
	O2oProbe	p;
	Datum		key = CStringGetTextDatum(o->sku);
	bool		isnull;
	Datum		d;

	O2oProbeOpen(&p, "product", "product_pkey", pkey, 1, snap);
	O2oProbeStart(&p, &key);
	if (!O2oProbeNext(&p))
	{
		O2oProbeClose(&p);
		return false;
	}
	o->category = TextDatumGetCString(O2oProbeGet(&p, O2oProbeAttnum(&p, "category"), &isnull));
	o->needs_install = DatumGetBool(O2oProbeGet(&p, O2oProbeAttnum(&p, "needs_install"), &isnull));
	d = O2oProbeGet(&p, O2oProbeAttnum(&p, "climates"), &isnull);
	/* resolved against the grid's climate in FindGrid(); NULL: sold everywhere */
	o->climate_ok = isnull;
	*allowed = isnull ? ~(uint32) 0 : ClimateMask(d);
	O2oProbeClose(&p);
	return true;
}

/*
 * The grid of the delivery point when it has none yet: the covering one,
 * else the nearest within o2o_route.nearest_grid_m; its region and climate.
 */
static void
FindGrid(Order *o, uint32 allowed)
{
	o->nearest = false;
	if (o->grid_id < 0)
	{
		int32		g;

		g = O2oGridNearest(o->lon, o->lat, o2o_nearest_grid_m);
		if (g >= 0)
		{
			o->grid_id = g;
			o->nearest = true;
		}
	}
	if (o->grid_id >= 0)
	{
		const GridInfo *g;

		O2oDealerCacheRefresh();
		g = O2oGridLookup(o->grid_id);
		if (g == NULL || !g->exists)
			elog(ERROR, "grid %d of order %lld not found", o->grid_id, (long long) o->order_id);
		o->region_id = g->region_id;
		o->climate = g->climate;
		o->climate_ok = (allowed & ClimateBit(o->climate)) != 0;
	}
}

/*
 * Read (and, for o2o_assign, lock) the order; find its grid.  Raises the
 * documented errors for an unknown order.
 */
void
O2oLoadOrder(Order *o, int64 order_id, bool lock)
{
	static const O2oProbeKey okey[1] = {{"order_id", 1, BTEqualStrategyNumber, F_INT8EQ}};
	Snapshot	snap = RegisterSnapshot(lock ? NewStatementSnapshot() : GetActiveSnapshot());
	O2oProbe	p;
	Datum		key = Int64GetDatum(order_id);
	bool		found,
				followed = false,
				isnull;
	Datum		d;
	AttrNumber	a_hold;
	uint32		allowed;		/* the product's climates, by ClimateBit() */

	o->order_id = order_id;

	/* the order, locked FOR NO KEY UPDATE when assigning */
	if (lock)
		O2oProbeOpenForLock(&p, "orders", "orders_pkey", okey, 1, snap);
	else
		O2oProbeOpen(&p, "orders", "orders_pkey", okey, 1, snap);
	O2oProbeStart(&p, &key);
	found = O2oProbeNext(&p);
	if (found && lock)
	{
		found = O2oProbeLock(&p, &followed);
		/* a later version of the row must still be this order */
		if (found && followed
			&& DatumGetInt64(O2oProbeGet(&p, O2oProbeAttnum(&p, "order_id"), &isnull)) != order_id)
			found = false;
	}
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_O2O_UNKNOWN_ORDER),
				 errmsg("unknown order"),
				 errdetail("No row of o2o.orders has order_id %lld.", (long long) order_id)));
	d = O2oProbeGet(&p, O2oProbeAttnum(&p, "sku"), &isnull);
	o->sku = TextDatumGetCString(d);
	o->qty = DatumGetInt32(O2oProbeGet(&p, O2oProbeAttnum(&p, "qty"), &isnull));
	o->status = O2oOrderStatusOf(TextDatumGetCString(O2oProbeGet(&p, O2oProbeAttnum(&p, "status"), &isnull)));
	O2oPointArg(O2oProbeGet(&p, O2oProbeAttnum(&p, "location"), &isnull), "o2o_assign", &o->lon, &o->lat);
	d = O2oProbeGet(&p, O2oProbeAttnum(&p, "grid_id"), &isnull);
	o->grid_id = isnull ? -1 : DatumGetInt32(d);
	d = O2oProbeGet(&p, O2oProbeAttnum(&p, "region_id"), &isnull);
	o->region_id = isnull ? -1 : DatumGetInt32(d);
	/* the checkout's hold (0.8.0 on) */
	o->hold_id = -1;
	a_hold = O2oProbeAttnumIf(&p, "hold_id");
	if (a_hold != InvalidAttrNumber)
	{
		d = O2oProbeGet(&p, a_hold, &isnull);
		if (!isnull)
			o->hold_id = DatumGetInt64(d);
	}
	O2oProbeClose(&p);

	if (!ReadProduct(o, snap, &allowed))
		elog(ERROR, "product %s of order %lld not found", o->sku, (long long) order_id);
	UnregisterSnapshot(snap);
	o->today = GetSQLCurrentDate();

	/*
	 * The active assignment, read after the lock with a new snapshot (a
	 * decline that committed while we waited has replaced it), and the
	 * dealers that declined the order before.
	 */
	o->read_only = !lock;
	o->lazy_stock = false;
	o->for_hold = false;
	ReadAssignments(o);
	FindGrid(o, allowed);
}

/*
 * An order not placed yet, for o2o_promise (read_only) and o2o_hold: qty
 * units of the SKU delivered at (lon, lat), with nobody declined.  Raises
 * the documented errors for an unknown SKU and a quantity below 1.
 */
void
O2oLoadPlace(Order *o, const char *sku, double lon, double lat, int32 qty, bool read_only)
{
	Snapshot	snap;
	uint32		allowed;

	if (qty < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantity must be at least 1"),
				 errdetail("qty is %d.", qty)));
	memset(o, 0, sizeof(Order));
	o->order_id = -1;
	o->hold_id = -1;
	o->sku = pstrdup(sku);
	o->qty = qty;
	o->status = O2O_PENDING;
	o->lon = lon;
	o->lat = lat;
	o->active_dealer = -1;
	o->read_only = read_only;
	snap = RegisterSnapshot(read_only ? GetActiveSnapshot() : NewStatementSnapshot());
	if (!ReadProduct(o, snap, &allowed))
		ereport(ERROR,
				(errcode(ERRCODE_O2O_UNKNOWN_SKU),
				 errmsg("unknown SKU"),
				 errdetail("No row of o2o.product has sku \"%s\".", sku)));
	UnregisterSnapshot(snap);
	o->today = GetSQLCurrentDate();
	o->grid_id = O2oGridOfPoint(NULL, lon, lat);
	o->region_id = -1;
	FindGrid(o, allowed);
}

/* Add a dealer to the candidates of the order. */
void
O2oAddCand(const Order *o, const DealerInfo *d, double distance_m, int32 available, bool same_grid,
		   Cand **cands, int *ncands, int *cap)
{
	Cand	   *c;

	if (*ncands >= *cap)
	{
		*cap = Max(*cap * 2, 64);
		*cands = *cands ? repalloc(*cands, *cap * sizeof(Cand)) : palloc(*cap * sizeof(Cand));
	}
	c = &(*cands)[(*ncands)++];
	memset(c, 0, sizeof(Cand));
	c->d = d;
	c->dealer_id = d->dealer_id;
	c->grid_id = d->grid_id;
	c->region_id = d->region_id;
	c->active = d->active;
	c->radius_m = d->radius_m;
	c->available = available;
	c->distance_m = distance_m;
	c->same_grid = same_grid;
	c->installer_id = -1;
	c->day_index = -1;
	c->window = O2O_WIN_DAY;
	TIMESTAMP_NOBEGIN(c->counted_at);
}

/* open the probe once: by the (sku, grid_id) index or the table's key */
void
O2oStockOpen(StockProbe *sp, bool by_grid, Snapshot snap)
{
	static const O2oProbeKey grid_keys[2] = {
		{"sku", 1, BTEqualStrategyNumber, F_TEXTEQ},
		{"grid_id", 2, BTEqualStrategyNumber, F_INT4EQ}
	};
	static const O2oProbeKey dealer_keys[2] = {
		{"dealer_id", 1, BTEqualStrategyNumber, F_INT4EQ},
		{"sku", 2, BTEqualStrategyNumber, F_TEXTEQ}
	};

	if (sp->open)
		return;
	O2oProbeOpen(&sp->p, "stock", by_grid ? "stock_sku_grid_idx" : "stock_pkey",
				 by_grid ? grid_keys : dealer_keys, 2, snap);
	sp->a_dealer = O2oProbeAttnum(&sp->p, "dealer_id");
	sp->a_on_hand = O2oProbeAttnum(&sp->p, "on_hand");
	sp->a_reserved = O2oProbeAttnum(&sp->p, "reserved");
	/* before ALTER EXTENSION ... UPDATE to 0.7.0 there is no safety stock */
	sp->a_safety = O2oProbeAttnumIf(&sp->p, "safety");
	if (by_grid)
	{
		/* the dealer comes from the index tuple: (sku, grid_id) INCLUDE (dealer_id) */
		Form_pg_index ix = sp->p.index->rd_index;

		if (ix->indnatts < 3 || ix->indkey.values[2] != sp->a_dealer)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("index o2o.stock_sku_grid_idx does not include dealer_id"),
					 errhint("ALTER EXTENSION o2o_route UPDATE.")));
		O2oProbeWantIndexTuples(&sp->p);
	}
	sp->open = true;
}

/* what online may take of the stock row just read: on_hand - reserved - safety */
static inline int32
StockAvailable(StockProbe *sp)
{
	bool		isnull;

	return DatumGetInt32(O2oProbeGet(&sp->p, sp->a_on_hand, &isnull))
		- DatumGetInt32(O2oProbeGet(&sp->p, sp->a_reserved, &isnull))
		- (sp->a_safety != InvalidAttrNumber ? DatumGetInt32(O2oProbeGet(&sp->p, sp->a_safety, &isnull)) : 0);
}

/* a stock row found in the index, to be read if near enough */
typedef struct StockEntry
{
	ItemPointerData tid;
	const DealerInfo *d;
	double		distance_m;
} StockEntry;

/* nearest first, then lowest dealer_id */
static int
StockEntryCmp(const void *a, const void *b)
{
	const StockEntry *x = a,
			   *y = b;

	return O2oNearerFirst(x->distance_m, x->d->dealer_id, y->distance_m, y->d->dealer_id);
}

/* restore the heap order (nearest at the top) below position i of e[0 .. n - 1] */
static void
SiftDown(StockEntry *e, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					m = i;
		StockEntry	t;

		if (l < n && StockEntryCmp(&e[l], &e[m]) < 0)
			m = l;
		if (l + 1 < n && StockEntryCmp(&e[l + 1], &e[m]) < 0)
			m = l + 1;
		if (m == i)
			return;
		t = e[i];
		e[i] = e[m];
		e[m] = t;
		i = m;
	}
}

/*
 * Assigning: the nearest o2o_route.max_candidates active dealers of one
 * grid with qty units of the SKU available; with a box, only those of
 * other grids than the order's inside the box.  The index gives every
 * dealer of the grid that has a row for the SKU; only the rows of the
 * nearest are read from the table, until enough have the units -- or,
 * promising, until may_matter says that no dealer that far can.
 */
void
O2oAddGridStock(const Order *o, StockProbe *sp, Datum sku, int32 grid_id, const Box *box, double limit_m,
				O2oMayMatter may_matter, void *arg, Cand **cands, int *ncands, int *cap)
{
	Datum		v[2] = {sku, Int32GetDatum(grid_id)};
	StockEntry *e = NULL;
	int			n = 0,
				size = 0,
				found = 0;
	bool		heap;
	ItemPointerData tid;

	O2oProbeStart(&sp->p, v);
	while (O2oProbeNextEntry(&sp->p, &tid))
	{
		bool		isnull;
		const DealerInfo *d = O2oDealerLookup(DatumGetInt32(O2oProbeIndexGet(&sp->p, 3, &isnull)));
		double		dist;

		if (d == NULL || !d->active)
			continue;
		if (box != NULL && (d->grid_id == o->grid_id || !O2oInBox(box, d->lon, d->lat)))
			continue;
		dist = O2oDealerDistance(o, d);
		if (dist > limit_m)
			continue;			/* farther than enough others already found */
		if (n == size)
		{
			size = Max(size * 2, 64);
			e = e ? repalloc(e, size * sizeof(StockEntry)) : palloc(size * sizeof(StockEntry));
		}
		e[n].tid = tid;
		e[n].d = d;
		e[n].distance_m = dist;
		n++;
	}
	/*
	 * Nearest first, as far as needed: a dense district has hundreds of
	 * holders and only the nearest few are read, so the entries become a
	 * heap (linear) rather than being sorted.  When every entry is read
	 * anyway, the order does not matter -- unless may_matter stops early.
	 */
	heap = n > o2o_max_candidates || may_matter != NULL;
	if (heap)
		for (int i = n / 2 - 1; i >= 0; i--)
			SiftDown(e, n, i);
	for (int i = 0, left = n; i < n && found < o2o_max_candidates; i++)
	{
		StockEntry	next;
		int32		avail;

		if (heap)
		{
			next = e[0];
			e[0] = e[--left];
			SiftDown(e, left, 0);
		}
		else
			next = e[i];
		if (may_matter != NULL && !may_matter(arg, next.distance_m))
			break;				/* nor can any farther one */
		/* an entry of a row version this snapshot does not see finds nothing */
		if (!O2oProbeFetch(&sp->p, &next.tid))
			continue;
		avail = StockAvailable(sp);
		if (avail < o->qty)
			continue;
		O2oAddCand(o, next.d, next.distance_m, avail, box == NULL, cands, ncands, cap);
		found++;
	}
	if (e != NULL)
		pfree(e);
}

/* units of the SKU available at a dealer; -1 when it has no stock row */
int32
O2oDealerAvailable(StockProbe *sp, Datum sku, int32 dealer_id)
{
	Datum		v[2] = {Int32GetDatum(dealer_id), sku};

	O2oProbeStart(&sp->p, v);
	return O2oProbeNext(&sp->p) ? StockAvailable(sp) : -1;
}

/* the safety stock of a dealer's stock row; 0 when it has none */
int32
O2oDealerSafety(StockProbe *sp, Datum sku, int32 dealer_id)
{
	Datum		v[2] = {Int32GetDatum(dealer_id), sku};
	bool		isnull;

	if (sp->a_safety == InvalidAttrNumber)
		return 0;
	O2oProbeStart(&sp->p, v);
	return O2oProbeNext(&sp->p) ? DatumGetInt32(O2oProbeGet(&sp->p, sp->a_safety, &isnull)) : 0;
}

/* the time of a dealer's last applied count; DT_NOBEGIN when it never synced */
TimestampTz
O2oDealerCountedAt(SyncProbe *sp, int32 dealer_id, Snapshot snap)
{
	static const O2oProbeKey keys[1] = {{"dealer_id", 1, BTEqualStrategyNumber, F_INT4EQ}};
	Datum		v = Int32GetDatum(dealer_id);
	TimestampTz t;
	bool		isnull;

	if (!sp->open)
	{
		O2oProbeOpen(&sp->p, "dealer_sync", "dealer_sync_pkey", keys, 1, snap);
		sp->a_counted_at = O2oProbeAttnum(&sp->p, "counted_at");
		sp->open = true;
	}
	O2oProbeStart(&sp->p, &v);
	if (O2oProbeNext(&sp->p))
	{
		t = DatumGetTimestampTz(O2oProbeGet(&sp->p, sp->a_counted_at, &isnull));
		if (!isnull)
			return t;
	}
	TIMESTAMP_NOBEGIN(t);
	return t;
}

void
O2oSyncClose(SyncProbe *sp)
{
	if (sp->open)
		O2oProbeClose(&sp->p);
	sp->open = false;
}

/* close the probe if it was opened */
void
O2oStockClose(StockProbe *sp)
{
	if (sp->open)
		O2oProbeClose(&sp->p);
	sp->open = false;
}
