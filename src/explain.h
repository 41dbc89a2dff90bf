/*
 * explain.h
 *		What users read about a decision: the reason names, the jsonb
 *		explanation of an assignment, the reason an order is unassignable.
 */
#ifndef O2O_EXPLAIN_H
#define O2O_EXPLAIN_H

#include "fmgr.h"

#include "candidates.h"

/* The words for a reason (o2o_candidates.reason); NULL for REASON_NONE. */
extern const char *O2oReasonName(CandReason reason);

/* Why a candidate cannot serve, in words (with the time, for stale stock). */
extern char *O2oCandReasonText(const Cand *c);

/*
 * The detail of an assignment: the policy, the grid, the winner cands[win]
 * and up to three eligible runners-up after it, each with its score parts.
 */
extern Datum O2oAssignmentDetail(const Order *o, const Cand *cands, int ncands, int win);

/* The detail of the "assigned" event: who serves. */
extern Datum O2oAssignedEventDetail(const Cand *c);

/* Why nobody can serve: for the order's status_reason and its event. */
extern char *O2oUnassignableReason(const Order *o, const Cand *cands, int ncands);

/* The detail of the "unassignable" event. */
extern Datum O2oUnassignableEventDetail(int ncands, const char *why);

#endif							/* O2O_EXPLAIN_H */
