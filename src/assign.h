/*
 * assign.h
 *		Choosing, reserving and recording the dealer of an order.
 */
#ifndef O2O_ASSIGN_H
#define O2O_ASSIGN_H

#include "reserve.h"				/* AssignOptions */

/*
 * Assign one order inside the current transaction (see assign.c).  Returns
 * the dealer and sets *assigned, or returns -1 with *assigned false when
 * nobody can serve (the order is then marked unassignable) or, with
 * opts->nowait, when a candidate was busy (the order stays pending).
 */
extern int32 O2oAssign(int64 order_id, const AssignOptions *opts, bool *assigned);

#endif							/* O2O_ASSIGN_H */
