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

/* which of the two searches of O2oRank() */
typedef enum RankMode
{
	RANK_ASSIGN,				/* the nearest that hold the units, by bound */
	RANK_EXPLAIN				/* every dealer in reach, each evaluated */
} RankMode;

/*
 * The candidates of one ranking, and what evaluating more of them needs:
 * o2o_assign evaluates (reads the installers and bookings of) only the
 * candidates that can still be among the best, see O2oSettle().
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
 * Find the candidates of an order, with the dealers of other grids when
 * include_other_grids (and o2o_route.cross_grid allows), and apply the hard
 * filters.  O2oRankEnd() when done.
 */
extern void O2oRank(Ranking *r, const Order *o, bool include_other_grids, RankMode mode);

/* Assigning: settle positions from .. from + need - 1 (see rank.c). */
extern void O2oSettle(Ranking *r, int from, int need);

/* Close the probes and the snapshot; the candidates stay readable. */
extern void O2oRankEnd(Ranking *r);

#endif							/* O2O_RANK_H */
