/*
 * orderstate.h
 *		The life cycle of an order: its statuses, the steps that move it, and
 *		which step is allowed in which status.  The one place that knows;
 *		o2o_assign (C) and the life-cycle functions (SQL, through
 *		o2o._order_step) both ask it.
 */
#ifndef O2O_ORDERSTATE_H
#define O2O_ORDERSTATE_H

typedef enum O2oOrderStatus
{
	O2O_PENDING,
	O2O_ASSIGNED,
	O2O_UNASSIGNABLE,
	O2O_CANCELLED,
	O2O_COMPLETED,
	O2O_NSTATUS
} O2oOrderStatus;

typedef enum O2oOrderStep
{
	O2O_STEP_ASSIGN,			/* o2o_assign: to assigned or unassignable */
	O2O_STEP_DECLINE,			/* o2o_decline: back to pending, then assign */
	O2O_STEP_CANCEL,			/* o2o_cancel */
	O2O_STEP_COMPLETE,			/* o2o_complete */
	O2O_STEP_SHORTFALL,			/* o2o_stock_sync: a count below reservations releases it */
	O2O_STEP_JEOPARDY,			/* its slot is gone (dealer closed, installer cut): re-routed */
	O2O_NSTEPS
} O2oOrderStep;

/* The status of a name in o2o.orders.status; an error for an unknown one. */
extern O2oOrderStatus O2oOrderStatusOf(const char *name);
extern const char *O2oOrderStatusName(O2oOrderStatus status);

/*
 * The status after the step, or an O2006 error naming the order when the
 * step is not allowed in its status.  For O2O_STEP_ASSIGN the result is
 * decided by routing: the status given is returned.
 */
extern O2oOrderStatus O2oOrderTakeStep(int64 order_id, O2oOrderStatus status, O2oOrderStep step);

#endif							/* O2O_ORDERSTATE_H */
