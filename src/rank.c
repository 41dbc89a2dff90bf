/*
 * rank.c
 *		The nearest-first search for an order's candidates; their ranking.
 *
 * Assigning (RANK_ASSIGN), the search reads only what choosing needs: of
 * the order's grid, the nearest o2o_route.max_candidates active dealers
 * that hold the units (the (sku, grid_id) index gives every dealer of the
 * grid with a stock row; only the nearest rows are read); of other grids,
 * by o2o_route.cross_grid, the same within o2o_route.max_distance_m, the
 * grids read nearest first until none can come nearer than those found.
 * Only the bounds of the candidates are computed; O2oSettle() evaluates
 * them (score.c) as far as the ranking needs, as evaluating can only lower
 * a score.
 *
 * Promising (RANK_PROMISE: o2o_promise and its bulk forms), only the winner
 * counts: the same search, but stock rows are read only while a dealer that
 * far could still beat the best candidate evaluated so far (MayMatter()).
 * The winner is the one assigning would pick; fewer others are read.
 *
 * Explaining (RANK_EXPLAIN: o2o_candidates, the unassignable reason), every
 * dealer in reach is a candidate, every one evaluated; o2o_candidates sorts
 * the list.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "candidates.h"
#include "dealercache.h"
#include "guc.h"
#include "rank.h"
#include "score.h"

/* nearest first, then lowest dealer_id */
static int
CandDistCmp(const void *a, const void *b)
{
	const Cand *x = a,
			   *y = b;

	return O2oNearerFirst(x->distance_m, x->dealer_id, y->distance_m, y->dealer_id);
}

/*
 * The ranking: eligible first (or not evaluated yet); in-grid first under
 * "fallback"; score, the bound standing in for the score of a candidate
 * not evaluated yet; distance; id.
 */
static int
CandCmp(const void *a, const void *b)
{
	const Cand *x = a,
			   *y = b;

	if ((x->reason == REASON_NONE) != (y->reason == REASON_NONE))
		return x->reason == REASON_NONE ? -1 : 1;
	if (o2o_cross_grid == O2O_CROSS_FALLBACK && x->same_grid != y->same_grid)
		return x->same_grid ? -1 : 1;
	if (x->reason == REASON_NONE)
	{
		double		sx = x->evaluated ? x->score : x->bound,
					sy = y->evaluated ? y->score : y->bound;

		if (sx != sy)
			return sx > sy ? -1 : 1;
	}
	return O2oNearerFirst(x->distance_m, x->dealer_id, y->distance_m, y->dealer_id);
}

/* a grid with dealers near the delivery point, and how near they can be */
typedef struct NearGrid
{
	const GridInfo *g;
	double		min_m;
} NearGrid;

/* nearest first, then lowest grid_id */
static int
NearGridCmp(const void *a, const void *b)
{
	const NearGrid *x = a,
			   *y = b;

	return O2oNearerFirst(x->min_m, x->g->grid_id, y->min_m, y->g->grid_id);
}

/*
 * A lower bound of the distance from (lon, lat) to any dealer of the grid:
 * the distance to the nearest point of the box around its dealers, less
 * what a lon/lat box can bulge towards the pole (at most d^2 tan(lat) / 2R,
 * for d well under R; near the poles no bound is claimed).
 */
static double
MinDistanceToBox(double lon, double lat, const GridInfo *g)
{
	double		d = O2oHaversine(lon, lat, Min(Max(lon, g->minlon), g->maxlon),
								 Min(Max(lat, g->minlat), g->maxlat));
	double		maxlat = Max(fabs(g->minlat), fabs(g->maxlat));

	if (Max(fabs(lat), maxlat) > 80)
		return 0;
	return Max(0, d - d * d * tan(Max(fabs(lat), maxlat) * M_PI / 180) / EARTH_RADIUS_M - 1);
}

/*
 * What one search works with besides the candidates: the SKU, the box of
 * o2o_route.max_distance_m around the delivery point, the stock probes;
 * promising, what tells how far reading can still change the winner.
 */
typedef struct Search
{
	Ranking    *r;
	Datum		sku;
	Box			box;
	StockProbe	by_grid;
	StockProbe	by_dealer;
	SyncProbe	sync;			/* o2o_route.stock_max_age, or explaining */
	int			cap;			/* room in r->cands */
	int			filtered;		/* r->cands[0 .. filtered - 1] went through the filters */
	bool		own_grid;		/* reading the order's grid */
	double		best;			/* promising: see MayMatter() */
} Search;

static bool MayMatter(void *arg, double distance_m);
static void RaiseBest(Search *s, double floor);
static void RaiseBestOfOthers(Search *s, int first, double below);

/* the box of o2o_route.max_distance_m around the delivery point */
static void
SearchBox(const Order *o, Box *box)
{
	double		dlat = o2o_max_distance_m / (EARTH_RADIUS_M * M_PI / 180),
				dlon = dlat / Max(cos(o->lat * M_PI / 180), 1e-6);

	box->minlon = o->lon - dlon;
	box->minlat = o->lat - dlat;
	box->maxlon = o->lon + dlon;
	box->maxlat = o->lat + dlat;
}

/* Explaining: every dealer of the order's grid, with its stock or none */
static void
AddEveryGridDealer(Ranking *r, Search *s)
{
	const Order *o = r->o;
	const GridInfo *g = O2oGridLookup(o->grid_id);

	O2oStockOpen(&s->by_dealer, false, r->snap);
	for (int i = 0; g != NULL && i < g->ndealers; i++)
	{
		const DealerInfo *d = O2oGridDealer(g, i);

		O2oAddCand(o, d, O2oDealerDistance(o, d),
				   o->lazy_stock ? STOCK_UNREAD : O2oDealerAvailable(&s->by_dealer, s->sku, d->dealer_id),
				   true, &r->cands, &r->ncands, &s->cap);
	}
}

/*
 * Assigning: the nearest o2o_route.max_candidates dealers of the order's
 * grid that hold the units; promising, only as many as can matter.
 */
static void
AddNearestGridHolders(Ranking *r, Search *s)
{
	O2oStockOpen(&s->by_grid, true, r->snap);
	s->own_grid = true;
	O2oAddGridStock(r->o, &s->by_grid, s->sku, r->o->grid_id, NULL, INFINITY,
					r->mode == RANK_PROMISE ? MayMatter : NULL, s, &r->cands, &r->ncands, &s->cap);
	s->own_grid = false;
	if (r->ncands > o2o_max_candidates)
	{
		qsort(r->cands, r->ncands, sizeof(Cand), CandDistCmp);
		r->ncands = o2o_max_candidates;
	}
}

/*
 * The grids other than the order's whose dealers' box meets the search box
 * (each grid's box tells which grids can have dealers inside it), in the
 * dealer cache's order, with how near their dealers can be.
 */
static NearGrid *
OtherGridsInBox(const Order *o, const Box *box, int *nnear)
{
	int			ngrids = O2oDealerGridCount();
	NearGrid   *near = palloc(Max(ngrids, 1) * sizeof(NearGrid));
	int		   *pos = palloc(Max(ngrids, 1) * sizeof(int));
	int			n = O2oDealerGridsInBox(box->minlon, box->minlat, box->maxlon, box->maxlat, pos);

	*nnear = 0;
	for (int k = 0; k < n; k++)
	{
		const GridInfo *g = O2oDealerGridAt(pos[k]);

		if (g->grid_id == o->grid_id)
			continue;
		near[*nnear].g = g;
		near[*nnear].min_m = MinDistanceToBox(o->lon, o->lat, g);
		(*nnear)++;
	}
	return near;
}

/* Explaining: every dealer of other grids in the box, with its stock */
static void
AddEveryOtherDealer(Ranking *r, Search *s)
{
	const Order *o = r->o;
	int			nnear;
	NearGrid   *near = OtherGridsInBox(o, &s->box, &nnear);

	for (int gi = 0; gi < nnear; gi++)
	{
		const GridInfo *g = near[gi].g;

		CHECK_FOR_INTERRUPTS();
		O2oStockOpen(&s->by_dealer, false, r->snap);
		for (int i = 0; i < g->ndealers; i++)
		{
			const DealerInfo *d = O2oGridDealer(g, i);
			int32		avail;

			if (!O2oInBox(&s->box, d->lon, d->lat))
				continue;
			avail = o->lazy_stock ? STOCK_UNREAD : O2oDealerAvailable(&s->by_dealer, s->sku, d->dealer_id);
			O2oAddCand(o, d, O2oDealerDistance(o, d), avail, false, &r->cands, &r->ncands, &s->cap);
		}
	}
}

/*
 * Assigning: the nearest o2o_route.max_candidates active dealers of other
 * grids inside the box that hold the units.  The grids are read nearest
 * first, and the search stops at a grid none of whose dealers could be
 * among the nearest found so far.  Promising, the dealers that cannot
 * matter are left out, as if they held nothing: those left out are all
 * farther than those that can matter, so this only spares reading them.
 * After each grid, the candidates found that nothing read later can
 * displace may raise the best (RaiseBestOfOthers()).
 */
static void
AddNearestOtherHolders(Ranking *r, Search *s)
{
	const Order *o = r->o;
	bool		promise = r->mode == RANK_PROMISE;
	int			first = r->ncands,
				nnear;
	NearGrid   *near = OtherGridsInBox(o, &s->box, &nnear);

	/* the best of the order's grid, which every dealer of the others must beat */
	if (promise)
		RaiseBest(s, -INFINITY);
	if (nnear > 1)
		qsort(near, nnear, sizeof(NearGrid), NearGridCmp);
	for (int gi = 0; gi < nnear; gi++)
	{
		const GridInfo *g = near[gi].g;
		double		limit = INFINITY;

		CHECK_FOR_INTERRUPTS();
		if (r->ncands - first >= o2o_max_candidates)
		{
			/* the nearest max_candidates so far; a grid must beat the farthest */
			qsort(r->cands + first, r->ncands - first, sizeof(Cand), CandDistCmp);
			r->ncands = first + o2o_max_candidates;
			s->filtered = Min(s->filtered, r->ncands);
			limit = r->cands[r->ncands - 1].distance_m;
			if (near[gi].min_m > limit)
				break;
		}
		if (promise && !MayMatter(s, near[gi].min_m))
			break;				/* nor can any dealer of the farther grids */
		if (g->grid_id >= 0)
		{
			O2oStockOpen(&s->by_grid, true, r->snap);
			O2oAddGridStock(o, &s->by_grid, s->sku, g->grid_id, &s->box, limit,
							promise ? MayMatter : NULL, s, &r->cands, &r->ncands, &s->cap);
		}
		else
		{
			/* the dealers outside every grid, one by one */
			O2oStockOpen(&s->by_dealer, false, r->snap);
			for (int i = 0; i < g->ndealers; i++)
			{
				const DealerInfo *d = O2oGridDealer(g, i);
				double		dist;
				int32		avail;

				if (!O2oInBox(&s->box, d->lon, d->lat) || !d->active)
					continue;
				dist = O2oDealerDistance(o, d);
				if (promise && !MayMatter(s, dist))
					continue;
				avail = O2oDealerAvailable(&s->by_dealer, s->sku, d->dealer_id);
				if (avail >= o->qty)
					O2oAddCand(o, d, dist, avail, false, &r->cands, &r->ncands, &s->cap);
			}
		}
		if (promise)
			RaiseBestOfOthers(s, first, gi + 1 < nnear ? near[gi + 1].min_m : INFINITY);
	}
	if (r->ncands - first > o2o_max_candidates)
	{
		/* the nearest max_candidates of them */
		qsort(r->cands + first, r->ncands - first, sizeof(Cand), CandDistCmp);
		r->ncands = first + o2o_max_candidates;
		s->filtered = Min(s->filtered, r->ncands);
	}
}

/*
 * Counts taken before this are too old to route on (o2o_route.stock_max_age,
 * counted from the start of the transaction, as now()).
 */
static TimestampTz
StaleBefore(void)
{
	return GetCurrentTransactionStartTimestamp() - (TimestampTz) o2o_stock_max_age * USECS_PER_SEC;
}

/*
 * The hard filters that need no installer data, of the candidates from
 * position `from` on; unread stock read here.  Assigning and promising, the
 * bounds of those that pass.
 */
static void
ApplyFilters(Ranking *r, Search *s, int from)
{
	const Order *o = r->o;

	for (int i = from; i < r->ncands; i++)
	{
		Cand	   *c = &r->cands[i];

		for (int k = 0; k < o->ndeclined; k++)
			if (o->declined[k] == c->dealer_id)
				c->excluded = true;
		if (!c->active)
			c->reason = REASON_INACTIVE;
		else if (c->excluded)
			c->reason = REASON_DECLINED;
		else if (o->grid_id < 0)
			c->reason = REASON_NO_GRID; /* as o2o_assign: no grid, nobody */
		else if (!o->climate_ok)
			c->reason = REASON_CLIMATE;
		else if (c->distance_m > Min(c->radius_m, o2o_max_distance_m))
			c->reason = REASON_OUT_OF_RADIUS;
		else if (o2o_stock_max_age > 0
				 && (c->counted_at = O2oDealerCountedAt(&s->sync, c->dealer_id, r->snap)) < StaleBefore())
			c->reason = REASON_STALE;
		else
		{
			if (c->available == STOCK_UNREAD)
			{
				O2oStockOpen(&s->by_dealer, false, r->snap);
				c->available = O2oDealerAvailable(&s->by_dealer, s->sku, c->dealer_id);
			}
			if (c->available < o->qty)
				c->reason = REASON_NO_STOCK;
		}
		if (r->mode != RANK_EXPLAIN && c->reason == REASON_NONE)
			c->bound = O2oBound(o, c);
	}
}

/*
 * Promising, only the winner matters.  A dealer at distance_m cannot win
 * when it would be out of radius, or when an eligible candidate of the
 * order's grid already scores more than any dealer that far can
 * (O2oBoundAt: it could not even tie).  The order's grid is read first,
 * nearest first, and every candidate read there stays in the ranking, so
 * the best score evaluated there is a floor for the winner's.  While it is
 * read, the candidates read so far that could beat the bound at distance_m
 * are evaluated to find out.  Other grids' candidates count in the best
 * only once nothing read later can displace them (RaiseBestOfOthers()).
 * Reading stops at the first dealer that cannot matter: those after it are
 * farther.  (A best that rises leaves out more; whatever was left out could
 * not have beaten the final best either, and the candidate that holds it
 * is kept.)
 */
static bool
MayMatter(void *arg, double distance_m)
{
	Search	   *s = arg;
	double		top;

	if (distance_m > o2o_max_distance_m)
		return false;
	top = O2oBoundAt(s->r->o, distance_m, s->own_grid);
	if (s->own_grid)
		RaiseBest(s, top);
	return !(s->best > top);
}

/* how many of the other grids' candidates (from position first on) are nearer than c */
static int
NearerOthers(Ranking *r, int first, const Cand *c)
{
	int			n = 0;

	for (int i = first; i < r->ncands; i++)
		if (CandDistCmp(&r->cands[i], c) < 0)
			n++;
	return n;
}

/*
 * Promising: filter the candidates read since the last call, then evaluate
 * those of positions first on, the best by bound first, while one could
 * score more than both the best so far and floor.  O2oSettle() does not
 * evaluate them again.
 *	- the order's grid (first 0, below infinite): every candidate read;
 *	- other grids (others): only a candidate nearer than `below` (no grid not read yet
 *	  has a dealer that near) with fewer than o2o_route.max_candidates found
 *	  nearer, which stays among the nearest whatever is read later.
 */
static void
RaiseBestFrom(Search *s, int first, double floor, double below, bool others)
{
	Ranking    *r = s->r;

	ApplyFilters(r, s, s->filtered);
	s->filtered = r->ncands;
	for (;;)
	{
		Cand	   *next = NULL;

		CHECK_FOR_INTERRUPTS();
		for (int i = first; i < r->ncands; i++)
		{
			Cand	   *c = &r->cands[i];

			if (c->reason != REASON_NONE || c->evaluated || c->bound <= Max(s->best, floor)
				|| !(c->distance_m < below) || (next != NULL && CandCmp(c, next) >= 0)
				|| (others && r->ncands - first > o2o_max_candidates
					&& NearerOthers(r, first, c) >= o2o_max_candidates))
				continue;
			next = c;
		}
		if (next == NULL)
			return;
		O2oEvaluate(&r->ev, next);
		if (next->reason == REASON_NONE)
			s->best = Max(s->best, next->score);
	}
}

/* the order's grid */
static void
RaiseBest(Search *s, double floor)
{
	RaiseBestFrom(s, 0, floor, INFINITY, false);
}

/* the other grids' candidates, from position first on */
static void
RaiseBestOfOthers(Search *s, int first, double below)
{
	RaiseBestFrom(s, first, -INFINITY, below, true);
}

/* Explaining: evaluate every candidate that passed the filters */
static void
EvaluateAll(Ranking *r)
{
	for (int i = 0; i < r->ncands; i++)
	{
		Cand	   *c = &r->cands[i];

		CHECK_FOR_INTERRUPTS();
		if (c->reason != REASON_NONE)
			continue;
		O2oEvaluate(&r->ev, c);
	}
}

/*
 * Explaining: the candidates in their final order, for o2o_candidates (the
 * unassignable reason only counts them: hundreds of candidates in reach
 * made sorting them most of its cost).
 */
void
O2oRankSort(Ranking *r)
{
	Assert(r->mode == RANK_EXPLAIN);
	if (r->ncands > 1)
		qsort(r->cands, r->ncands, sizeof(Cand), CandCmp);
}

/*
 * Find the candidates of an order among the dealers of scope (other grids
 * only as o2o_route.cross_grid allows) and apply the hard filters (setting
 * reason).  Three paths share the filters:
 *	RANK_ASSIGN: the nearest o2o_route.max_candidates dealers that hold the
 *	  units, of the grid and of the other grids; only their bounds are
 *	  computed, and O2oSettle() evaluates and orders as far as needed;
 *	RANK_PROMISE: the same, but a dealer is read only while it could still
 *	  be the winner (MayMatter), so that O2oSettle() finds the winner the
 *	  assigning path would, from fewer candidates;
 *	RANK_EXPLAIN: every dealer of the grid and of the other grids in the
 *	  box, each evaluated; O2oRankSort() puts them in their final order.
 * O2oRankEnd() when done.
 */
void
O2oRank(Ranking *r, const Order *o, RankScope scope, RankMode mode)
{
	Search		s = {0};

	O2oDealerCacheRefresh();
	r->mode = mode;
	r->o = o;
	r->cands = NULL;
	r->ncands = 0;
	r->snap = O2oOrderSnapshot(o);
	/* a promise evaluates while it reads */
	O2oEvaluatorBegin(&r->ev, o, r->snap);
	s.r = r;
	s.sku = CStringGetTextDatum(o->sku);
	s.best = -INFINITY;
	SearchBox(o, &s.box);
	if (o->grid_id >= 0 && scope != SCOPE_OTHERS)
	{
		if (mode == RANK_EXPLAIN)
			AddEveryGridDealer(r, &s);
		else
			AddNearestGridHolders(r, &s);
	}
	if (scope != SCOPE_GRID && o2o_cross_grid != O2O_CROSS_NEVER)
	{
		if (mode == RANK_EXPLAIN)
			AddEveryOtherDealer(r, &s);
		else
			AddNearestOtherHolders(r, &s);
	}
	ApplyFilters(r, &s, s.filtered);
	O2oStockClose(&s.by_grid);
	O2oStockClose(&s.by_dealer);
	O2oSyncClose(&s.sync);

	if (mode == RANK_EXPLAIN)
		EvaluateAll(r);
}

/* move the best of the candidates from position i on to position i */
static void
SelectBest(Ranking *r, int i)
{
	int			best = i;

	for (int j = i + 1; j < r->ncands; j++)
		if (CandCmp(&r->cands[j], &r->cands[best]) < 0)
			best = j;
	if (best != i)
	{
		Cand		t = r->cands[i];

		r->cands[i] = r->cands[best];
		r->cands[best] = t;
	}
}

/*
 * Make positions from .. from + need - 1 hold, in order, the best
 * candidates of those from position `from` on, evaluating only what that
 * takes.  A candidate not evaluated yet is ranked by its bound; once the
 * first `need` in that order are all evaluated, no other can beat them, as
 * evaluating can only lower a score.  Rows before `from` stay where they
 * are; those after the first `need` come in no particular order (after a
 * rejected one, all are rejected).
 *
 * Each position is filled by selecting the best of the rest: need is 1 or
 * 3, and sorting the whole list of up to 60 candidates in every round was a
 * tenth of a promise's CPU.  CandCmp orders distinct dealers totally, so
 * the candidates evaluated, round by round, are those a sort would put there.
 */
void
O2oSettle(Ranking *r, int from, int need)
{
	bool		changed = true;

	Assert(r->mode != RANK_EXPLAIN);
	while (changed)
	{
		int			seen = 0;

		changed = false;
		for (int i = from; i < r->ncands && seen < need; i++)
		{
			Cand	   *c;

			CHECK_FOR_INTERRUPTS();
			SelectBest(r, i);
			c = &r->cands[i];
			if (c->reason != REASON_NONE)
				break;			/* the best is rejected: all the rest are */
			if (!c->evaluated)
			{
				O2oEvaluate(&r->ev, c);
				changed = true;
			}
			seen++;
		}
	}
}

/* the candidates stay: they live in the caller's memory context */
void
O2oRankEnd(Ranking *r)
{
	O2oEvaluatorEnd(&r->ev);
	UnregisterSnapshot(r->snap);
}
