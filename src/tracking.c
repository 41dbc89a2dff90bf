/*
 * tracking.c
 *		The time windows of a day and the progress steps of a delivery (see
 *		tracking.h), and the SQL functions that expose them:
 *		o2o_time_windows(), o2o._window_capacity() and o2o._progress_step().
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/timestamp.h"

#include "o2o_route.h"
#include "tracking.h"

PG_FUNCTION_INFO_V1(o2o_time_windows);
PG_FUNCTION_INFO_V1(o2o_window_capacity);
PG_FUNCTION_INFO_V1(o2o_window_end);
PG_FUNCTION_INFO_V1(o2o_progress_step);

#define BIT(s) (1u << (s))
#define HOURS(h) ((TimeADT) (h) * USECS_PER_HOUR)

/* each window: its name and local hours [starts, ends) */
static const struct
{
	const char *name;
	int			starts;
	int			ends;
} windows[O2O_NWINDOWS] = {
	[O2O_WIN_MORNING] = {"morning", 8, 12},
	[O2O_WIN_AFTERNOON] = {"afternoon", 12, 17},
	[O2O_WIN_EVENING] = {"evening", 17, 21},
	[O2O_WIN_DAY] = {"day", 8, 21},
};

static const char *const progress_names[O2O_NPROGRESS] = {
	[O2O_PROG_SCHEDULED] = "scheduled",
	[O2O_PROG_DISPATCHED] = "dispatched",
	[O2O_PROG_EN_ROUTE] = "en_route",
	[O2O_PROG_ARRIVED] = "arrived",
	[O2O_PROG_INSTALLED] = "installed",
	[O2O_PROG_DELIVERED] = "delivered",
	[O2O_PROG_FAILED] = "failed",
};

typedef enum ProgressStep
{
	STEP_DISPATCHED,
	STEP_EN_ROUTE,
	STEP_ARRIVED,
	STEP_INSTALLED,
	STEP_DELIVERED,
	STEP_FAILED,
	STEP_RESCHEDULED,
	NSTEPS
} ProgressStep;

/* each step: its name, the progress it may start from, where it leads */
static const struct
{
	const char *name;
	uint32		from;
	O2oProgress to;
} steps[NSTEPS] = {
	[STEP_DISPATCHED] = {"dispatched", BIT(O2O_PROG_SCHEDULED), O2O_PROG_DISPATCHED},
	[STEP_EN_ROUTE] = {"en_route", BIT(O2O_PROG_DISPATCHED) | BIT(O2O_PROG_EN_ROUTE), O2O_PROG_EN_ROUTE},
	[STEP_ARRIVED] = {"arrived", BIT(O2O_PROG_DISPATCHED) | BIT(O2O_PROG_EN_ROUTE), O2O_PROG_ARRIVED},
	[STEP_INSTALLED] = {"installed", BIT(O2O_PROG_ARRIVED), O2O_PROG_INSTALLED},
	[STEP_DELIVERED] = {"delivered", BIT(O2O_PROG_ARRIVED), O2O_PROG_DELIVERED},
	[STEP_FAILED] = {"failed", BIT(O2O_PROG_DISPATCHED) | BIT(O2O_PROG_EN_ROUTE) | BIT(O2O_PROG_ARRIVED),
	O2O_PROG_FAILED},
	[STEP_RESCHEDULED] = {"rescheduled", BIT(O2O_PROG_SCHEDULED) | BIT(O2O_PROG_FAILED), O2O_PROG_SCHEDULED},
};

const char *
O2oWindowName(O2oWindow w)
{
	Assert(w >= 0 && w < O2O_NWINDOWS);
	return windows[w].name;
}

/* the window of a name; 22023 for an unknown one */
static O2oWindow
WindowOf(const char *name)
{
	for (int w = 0; w < O2O_NWINDOWS; w++)
		if (strcmp(name, windows[w].name) == 0)
			return (O2oWindow) w;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown time window \"%s\"", name),
			 errhint("The windows are morning, afternoon, evening and, for deliveries without installation, day.")));
	return O2O_WIN_DAY;			/* keep the compiler quiet */
}

static O2oProgress
ProgressOf(const char *name)
{
	for (int p = 0; p < O2O_NPROGRESS; p++)
		if (strcmp(name, progress_names[p]) == 0)
			return (O2oProgress) p;
	elog(ERROR, "unknown progress \"%s\"", name);
	return O2O_PROG_SCHEDULED;	/* keep the compiler quiet */
}

/*
 * o2o_time_windows() returns table (time_window text, starts time, ends
 * time, share text): the windows of a day, in local time.
 */
Datum
o2o_time_windows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int w = 0; w < O2O_NWINDOWS; w++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(windows[w].name);
		values[1] = TimeADTGetDatum(HOURS(windows[w].starts));
		values[2] = TimeADTGetDatum(HOURS(windows[w].ends));
		values[3] = CStringGetTextDatum(w == O2O_WIN_DAY
										? "deliveries without installation: no installer slot"
										: w == O2O_WIN_MORNING ? "ceil(daily_capacity / 3) jobs"
										: w == O2O_WIN_AFTERNOON ? "floor((daily_capacity + 1) / 3) jobs"
										: "floor(daily_capacity / 3) jobs");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* o2o._window_capacity(capacity int, time_window text) returns int */
Datum
o2o_window_capacity(PG_FUNCTION_ARGS)
{
	int32		cap = PG_GETARG_INT32(0);
	O2oWindow	w = WindowOf(text_to_cstring(PG_GETARG_TEXT_PP(1)));

	PG_RETURN_INT32(w == O2O_WIN_DAY ? cap : O2oWindowCapacity(cap, w));
}

/*
 * o2o._window_end(day date, time_window text) returns timestamptz: when the
 * window of that day ends, in the session's time zone (STABLE).  In C: a SQL
 * function with a pinned search_path is planned again on every call.
 */
Datum
o2o_window_end(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);
	O2oWindow	w = WindowOf(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	Datum		ts = DirectFunctionCall2(datetime_timestamp, DateADTGetDatum(day),
										 TimeADTGetDatum(HOURS(windows[w].ends)));

	return DirectFunctionCall1(timestamp_timestamptz, ts);
}

/* the O2006 error of a progress step not allowed now */
static void
RefuseStep(int64 order_id, O2oProgress from, ProgressStep step, bool needs_install)
{
	long long	id = (long long) order_id;

	if (step == STEP_INSTALLED && !needs_install)
		ereport(ERROR,
				(errcode(ERRCODE_O2O_WRONG_STATE),
				 errmsg("order %lld is a delivery without installation", id),
				 errhint("Report the step delivered.")));
	if (step == STEP_DELIVERED && needs_install)
		ereport(ERROR,
				(errcode(ERRCODE_O2O_WRONG_STATE),
				 errmsg("order %lld needs installing", id),
				 errhint("Report the step installed.")));
	ereport(ERROR,
			(errcode(ERRCODE_O2O_WRONG_STATE),
			 errmsg("order %lld cannot go from %s to %s", id, progress_names[from], steps[step].name),
			 errdetail("Step %s is allowed after: %s.", steps[step].name,
					   step == STEP_DISPATCHED ? "scheduled"
					   : step == STEP_EN_ROUTE ? "dispatched, en_route"
					   : step == STEP_ARRIVED ? "dispatched, en_route"
					   : step == STEP_FAILED ? "dispatched, en_route, arrived"
					   : step == STEP_RESCHEDULED ? "scheduled, failed"
					   : "arrived")));
}

/*
 * o2o._progress_step(order_id bigint, progress text, step text,
 * needs_install boolean) returns text: the progress after the step, or
 * O2006 when the step is not allowed now; 22023 for an unknown step.
 */
Datum
o2o_progress_step(PG_FUNCTION_ARGS)
{
	int64		order_id = PG_GETARG_INT64(0);
	O2oProgress from = ProgressOf(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	bool		needs_install = PG_GETARG_BOOL(3);

	for (int s = 0; s < NSTEPS; s++)
	{
		if (strcmp(name, steps[s].name) != 0)
			continue;
		if ((steps[s].from & BIT(from)) == 0
			|| (s == STEP_INSTALLED && !needs_install)
			|| (s == STEP_DELIVERED && needs_install))
			RefuseStep(order_id, from, (ProgressStep) s, needs_install);
		PG_RETURN_TEXT_P(cstring_to_text(progress_names[steps[s].to]));
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown progress step \"%s\"", name),
			 errhint("The steps are dispatched, en_route, arrived, installed, delivered, failed and rescheduled; completion is o2o_complete.")));
	PG_RETURN_NULL();
}
