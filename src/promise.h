/*
 * promise.h
 *		o2o_promise(), its bulk forms and o2o_hold(): the decision of
 *		o2o_assign for an order not placed yet, read-only or held for a
 *		checkout.  SQL-callable entry points only; the decision itself is
 *		O2oDecide() (assign.h).
 */
#ifndef O2O_PROMISE_H
#define O2O_PROMISE_H

#include "fmgr.h"

extern Datum o2o_promise(PG_FUNCTION_ARGS);
extern Datum o2o_promise_skus(PG_FUNCTION_ARGS);
extern Datum o2o_promise_places(PG_FUNCTION_ARGS);
extern Datum o2o_hold(PG_FUNCTION_ARGS);

#endif							/* O2O_PROMISE_H */
