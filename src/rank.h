/*
 * rank.h
 *		The nearest-first search for an order's candidates, with the hard
 *		filters, and their ranking.  Two modes: assigning reads as little as
 *		choosing the best needs; explaining reads every dealer in reach.
 */
#ifndef O2O_RANK_H
#define O2O_RANK_H

#include "utils/snapshot.h"

#include "candidates.h"
#include "score.h"

/* which search O2oRank() makes */
typedef enum RankMode
{
	RANK_ASSIGN,				/* the nearest that hold the units, by bound */
	RANK_PROMISE,				/* the same, read only as far as the best can change */
	RANK_EXPLAIN				/* every dealer in reach, each evaluated */
} RankMode;

/* whose dealers O2oRank() reads */
typedef enum RankScope
{
	SCOPE_GRID,					/* of the order's grid */
	SCOPE_ALL,					/* and of other grids, as o2o_route.cross_grid allows */
	SCOPE_OTHERS				/* of other grids only: a promise's fallback */
} RankScope;

/*
 * The candidates of one ranking, and what evaluating more of them needs:
 * o2o_assign evaluates (reads the installers and bookings of) only the
 * candidates that can still be among the best, see O2oSettle(); a promise
 * reads only the stock rows that can still change the best (rank.c).
 */
typedef struct Ranking
{
	RankMode	mode;
	const Order *o;
	Cand	   *cands;
	int			ncands;
	Snapshot	snap;
	Evaluator	ev;				/* evaluates candidates under snap */
} Ranking;

/*
 * Find the candidates of an order among the dealers of scope, and apply the
 * hard filters.  O2oRankEnd() when done.
 */
extern void O2oRank(Ranking *r, const Order *o, RankScope scope, RankMode mode);

/* Assigning or promising: settle positions from .. from + need - 1 (see rank.c). */
extern void O2oSettle(Ranking *r, int from, int need);

/* Explaining: sort the candidates, eligible first, best first. */
extern void O2oRankSort(Ranking *r);

/* Close the probes and the snapshot; the candidates stay readable. */
extern void O2oRankEnd(Ranking *r);

#endif							/* O2O_RANK_H */
