/*
 * reserve.h
 *		The writes of an assignment: reserving stock and an installer slot
 *		for the best candidate that still can, then the assignment, the
 *		order's new state and its event.  Statements, not direct writes, so
 *		that every constraint and trigger applies.
 */
#ifndef O2O_RESERVE_H
#define O2O_RESERVE_H

#include "candidates.h"
#include "rank.h"

/* how the reservations of one O2oAssign() call behave */
typedef struct AssignOptions
{
	/*
	 * Wait at most o2o_route.pending_lock_timeout for a row lock; a dealer
	 * whose rows stay locked is busy.  For o2o_assign_pending, whose
	 * transaction holds many row locks.
	 */
	bool		nowait;
} AssignOptions;

/* Prepare the statements once per backend; an error without the extension. */
extern void O2oPreparePlans(void);

/*
 * Reserve for the best candidate of an assigning ranking that still can;
 * its index, or -1 when none can.  Sets *saw_busy when, with opts->nowait,
 * some candidate was busy.
 */
extern int	O2oChoose(Ranking *r, const AssignOptions *opts, bool *saw_busy);

/* The assignment row with its explanation, and the order assigned. */
extern void O2oWriteAssignment(const Order *o, const Cand *c, Datum detail);

/* The order unassignable, with why. */
extern void O2oWriteUnassignable(const Order *o, const char *why);

/* what became of an order's checkout hold when the order came */
typedef enum HoldOutcome
{
	HOLD_TAKEN,					/* assigned to the hold's dealer, installer and day */
	HOLD_BUSY,					/* its rows are held by another transaction (only when not waiting) */
	HOLD_ENDED,					/* expired, released, taken before or gone: route as usual */
	HOLD_MISMATCH				/* held for another SKU, quantity or grid (only when not waiting) */
} HoldOutcome;

/*
 * Assign the order (locked) to its checkout hold, if the hold is still
 * held (o2o._hold_take); *dealer is the hold's dealer when taken.  When the
 * order does not match a held hold: O2012 when waiting (o2o_assign), else
 * HOLD_MISMATCH with why in *why (o2o_assign_pending goes on).
 */
extern HoldOutcome O2oTakeHold(const Order *o, bool wait, int32 *dealer, char **why);

/* An event of the order. */
extern void O2oAddEvent(const Order *o, const char *event, const char *status, Datum detail);

/* Whether bookings are kept per time window (0.9.0 on); after O2oPreparePlans(). */
extern bool O2oBooksWindows(void);

#endif							/* O2O_RESERVE_H */
