/*
 * orderstate.c
 *		The life cycle of an order (see orderstate.h), and
 *		o2o._order_step(order_id, status, step), through which the SQL
 *		life-cycle functions check their step.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "o2o_route.h"
#include "orderstate.h"

PG_FUNCTION_INFO_V1(o2o_order_step);

#define BIT(s) (1u << (s))

static const char *const status_names[O2O_NSTATUS] = {
	[O2O_PENDING] = "pending",
	[O2O_ASSIGNED] = "assigned",
	[O2O_UNASSIGNABLE] = "unassignable",
	[O2O_CANCELLED] = "cancelled",
	[O2O_COMPLETED] = "completed",
};

/* each step: its function's name, the statuses it may start from, where it leads */
static const struct
{
	const char *name;
	uint32		from;
	int			to;				/* -1: decided by routing */
} steps[O2O_NSTEPS] = {
	[O2O_STEP_ASSIGN] = {"o2o_assign", BIT(O2O_PENDING) | BIT(O2O_UNASSIGNABLE) | BIT(O2O_ASSIGNED), -1},
	[O2O_STEP_DECLINE] = {"o2o_decline", BIT(O2O_ASSIGNED), O2O_PENDING},
	[O2O_STEP_CANCEL] = {"o2o_cancel", BIT(O2O_PENDING) | BIT(O2O_UNASSIGNABLE) | BIT(O2O_ASSIGNED), O2O_CANCELLED},
	[O2O_STEP_COMPLETE] = {"o2o_complete", BIT(O2O_ASSIGNED), O2O_COMPLETED},
	[O2O_STEP_SHORTFALL] = {"o2o_stock_sync", BIT(O2O_ASSIGNED), O2O_PENDING},
	[O2O_STEP_JEOPARDY] = {"o2o_jeopardy", BIT(O2O_ASSIGNED), O2O_PENDING},
};

O2oOrderStatus
O2oOrderStatusOf(const char *name)
{
	for (int s = 0; s < O2O_NSTATUS; s++)
		if (strcmp(name, status_names[s]) == 0)
			return (O2oOrderStatus) s;
	elog(ERROR, "unknown order status \"%s\"", name);
	return O2O_PENDING;			/* keep the compiler quiet */
}

const char *
O2oOrderStatusName(O2oOrderStatus status)
{
	Assert(status >= 0 && status < O2O_NSTATUS);
	return status_names[status];
}

/* the O2006 error of a step not allowed in the order's status */
static void
RefuseStep(int64 order_id, O2oOrderStatus status, O2oOrderStep step)
{
	const char *st = status_names[status];
	long long	id = (long long) order_id;

	switch (step)
	{
		case O2O_STEP_ASSIGN:
			ereport(ERROR,
					(errcode(ERRCODE_O2O_WRONG_STATE),
					 errmsg("order %lld is %s", id, st),
					 errdetail("Only pending or unassignable orders can be assigned.")));
			break;
		case O2O_STEP_DECLINE:
			ereport(ERROR,
					(errcode(ERRCODE_O2O_WRONG_STATE),
					 errmsg("order %lld has no active assignment to decline", id),
					 errdetail("The order is %s.", st)));
			break;
		case O2O_STEP_CANCEL:
			ereport(ERROR,
					(errcode(ERRCODE_O2O_WRONG_STATE),
					 errmsg("order %lld is already %s", id, st),
					 errdetail("Only a pending, unassignable or assigned order can be cancelled.")));
			break;
		case O2O_STEP_COMPLETE:
			ereport(ERROR,
					(errcode(ERRCODE_O2O_WRONG_STATE),
					 errmsg("order %lld is %s, not assigned", id, st),
					 errdetail("Only an assigned order can be completed.")));
			break;
		case O2O_STEP_SHORTFALL:
			ereport(ERROR,
					(errcode(ERRCODE_O2O_WRONG_STATE),
					 errmsg("order %lld is %s, not assigned", id, st),
					 errdetail("Only an assigned order can lose its reservation to a stock count.")));
			break;
		case O2O_STEP_JEOPARDY:
			ereport(ERROR,
					(errcode(ERRCODE_O2O_WRONG_STATE),
					 errmsg("order %lld is %s, not assigned", id, st),
					 errdetail("Only an assigned order can lose its slot.")));
			break;
		case O2O_NSTEPS:
			break;
	}
	elog(ERROR, "unknown order step %d", (int) step);
}

O2oOrderStatus
O2oOrderTakeStep(int64 order_id, O2oOrderStatus status, O2oOrderStep step)
{
	Assert(step >= 0 && step < O2O_NSTEPS);
	if ((steps[step].from & BIT(status)) == 0)
		RefuseStep(order_id, status, step);
	return steps[step].to < 0 ? status : (O2oOrderStatus) steps[step].to;
}

/*
 * o2o._order_step(order_id bigint, status text, step text) returns text:
 * the order's status after the step (step is the name of the life-cycle
 * function), or O2006 when the step is not allowed in that status.
 */
Datum
o2o_order_step(PG_FUNCTION_ARGS)
{
	int64		order_id = PG_GETARG_INT64(0);
	O2oOrderStatus status = O2oOrderStatusOf(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(2));

	for (int s = 0; s < O2O_NSTEPS; s++)
		if (strcmp(name, steps[s].name) == 0)
			PG_RETURN_TEXT_P(cstring_to_text(status_names[O2oOrderTakeStep(order_id, status, (O2oOrderStep) s)]));
	elog(ERROR, "unknown order step \"%s\"", name);
	PG_RETURN_NULL();
}
