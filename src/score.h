/*
 * score.h
 *		A candidate's installer, first free day and score.  Evaluating reads
 *		the installers' bookings, so the search (rank.c) evaluates only the
 *		candidates whose bound can still make the top.
 */
#ifndef O2O_SCORE_H
#define O2O_SCORE_H

#include "utils/date.h"
#include "utils/snapshot.h"

#include "candidates.h"
#include "probe.h"

/*
 * What evaluating the candidates of one order needs: one bookings window
 * for all, and the bookings probe, opened when first needed.
 */
typedef struct Evaluator
{
	const Order *o;
	Snapshot	snap;			/* the ranking's; not owned */
	DateADT		start;			/* the bookings window: [start, start + window) */
	int			window;
	uint64		skill;			/* the installers' skill the model needs */
	O2oProbe	bookings;
	bool		bookings_open;
	AttrNumber	a_day,
				a_booked,
				a_win[3];		/* jobs per window: morning, afternoon, evening */
} Evaluator;

/*
 * Prepare to evaluate the order's candidates under snap (not owned);
 * O2oEvaluatorEnd() closes the bookings probe.
 */
extern void O2oEvaluatorBegin(Evaluator *ev, const Order *o, Snapshot snap);
extern void O2oEvaluatorEnd(Evaluator *ev);

/*
 * Read a candidate's installers and bookings: its eligibility (reason),
 * installer, first free day and score.
 */
extern void O2oEvaluate(Evaluator *ev, Cand *c);

/* The score of an evaluated candidate, with its parts (see score.c). */
extern void O2oScore(const Order *o, Cand *c);

/* The score a candidate can reach at most: its score with nothing booked. */
extern double O2oBound(const Order *o, const Cand *c);

/*
 * The bound of any candidate at distance_m or farther, of the order's grid
 * or of another: O2oBound with the most spare stock that counts.
 */
extern double O2oBoundAt(const Order *o, double distance_m, bool same_grid);

/* The first day an install or delivery can happen for this candidate. */
extern DateADT O2oStartDay(const Order *o, const Cand *c);

/* The day promised to the buyer if this candidate serves (evaluated). */
extern DateADT O2oPromisedDate(const Order *o, const Cand *c);

/* Installer k's first day index in [from, to) with a window with room; -1: none. */
extern int	O2oFirstFreeDay(const Cand *c, int k, int from, int to);

/* installer_id and day_index from the installers' first free days */
extern void O2oPickInstaller(Cand *c);

#endif							/* O2O_SCORE_H */
