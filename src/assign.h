/*
 * assign.h
 *		Choosing, reserving and recording the dealer of an order.
 */
#ifndef O2O_ASSIGN_H
#define O2O_ASSIGN_H

#include "rank.h"
#include "reserve.h"				/* AssignOptions */

/*
 * Assign one order inside the current transaction (see assign.c).  Returns
 * the dealer and sets *assigned, or returns -1 with *assigned false when
 * nobody can serve (the order is then marked unassignable) or, with
 * opts->nowait, when a candidate was busy (the order stays pending).
 */
extern int32 O2oAssign(int64 order_id, const AssignOptions *opts, bool *assigned);

/*
 * The one decision of o2o_assign, o2o_hold and o2o_promise: rank by the
 * cross-grid policy and, with opts, reserve for the best candidate that
 * still can; without, only find it (reading only what can change it, so
 * that r->cands holds fewer runners-up).  The winner's index in r->cands,
 * or -1.
 */
extern int	O2oDecide(Ranking *r, const Order *o, const AssignOptions *opts, bool *saw_busy);

/*
 * Why nobody can serve the order, in the words o2o_assign records; the
 * number of dealers considered in *nconsidered, unless NULL.
 */
extern char *O2oExplainUnassignable(Order *o, int *nconsidered);

/* 25006 in a read-only transaction or on a hot standby, naming fn. */
extern void O2oRequireWritable(const char *fn);

#endif							/* O2O_ASSIGN_H */
