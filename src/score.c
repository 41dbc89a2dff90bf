/*
 * score.c
 *		A candidate's installer, first free day and score.
 *
 * Evaluating a candidate reads its dealer's active installers (dealer
 * cache) and their bookings over one window for every candidate of the
 * order (an index probe of o2o.installer_day): the dealer's load, and for
 * a model that needs installing each skilled installer's first free day
 * from the candidate's own start day.  The installer is the one free
 * earliest, then the idlest, then the lowest id.
 */
#include "postgres.h"

#include "executor/tuptable.h"
#include "utils/fmgroids.h"

#include "candidates.h"
#include "dealercache.h"
#include "guc.h"
#include "probe.h"
#include "score.h"
#include "tracking.h"

/* one window for every candidate of the order: from the earliest start day */
void
O2oEvaluatorBegin(Evaluator *ev, const Order *o, Snapshot snap)
{
	ev->o = o;
	ev->snap = snap;
	ev->start = o->today + 1;
	ev->window = o2o_promise_horizon_days + o2o_travel_days;
	ev->skill = O2oSkillMask(o->category);
	ev->bookings_open = false;
}

/* close the bookings probe if it was opened */
void
O2oEvaluatorEnd(Evaluator *ev)
{
	if (ev->bookings_open)
		O2oProbeClose(&ev->bookings);
	ev->bookings_open = false;
}

/*
 * The installers of a candidate with their bookings over the window: the
 * load of the dealer and, for installations, each skilled installer's
 * bookings per day.
 */
static void
LoadInstallers(Evaluator *ev, Cand *c)
{
	static const O2oProbeKey keys[3] = {
		{"installer_id", 1, BTEqualStrategyNumber, F_INT4EQ},
		{"day", 2, BTGreaterEqualStrategyNumber, F_DATE_GE},
		{"day", 2, BTLessStrategyNumber, F_DATE_LT}
	};
	const DealerInfo *d = c->d;
	int			window = ev->window;
	double		cap_total = 0,
				booked_total = 0;

	if (d->ninst > 0)
	{
		c->inst_id = palloc(d->ninst * sizeof(int32));
		c->inst_cap = palloc(d->ninst * sizeof(int32));
		c->inst_booked = palloc(d->ninst * sizeof(int32 *));
		c->inst_first_free = palloc(d->ninst * sizeof(int32));
		c->inst_load = palloc(d->ninst * sizeof(double));
		c->inst_window = palloc(d->ninst * sizeof(int8 *));
		if (!ev->bookings_open)
		{
			O2oProbeOpen(&ev->bookings, "installer_day", "installer_day_pkey", keys, 3, ev->snap);
			ev->a_day = O2oProbeAttnum(&ev->bookings, "day");
			ev->a_booked = O2oProbeAttnum(&ev->bookings, "booked");
			/* the jobs per window (0.9.0 on; before the update, none) */
			for (int w = 0; w < O2O_NJOB_WINDOWS; w++)
				ev->a_win[w] = O2oProbeAttnumIf(&ev->bookings, O2oWindowName((O2oWindow) w));
			ev->bookings_open = true;
		}
	}
	for (int i = 0; i < d->ninst; i++)
	{
		const InstallerInfo *inst = O2oDealerInstaller(d, i);
		int32	   *booked = palloc0(window * sizeof(int32));
		int8	   *first_window = palloc0(window * sizeof(int8));
		double		inst_booked = 0;
		Datum		v[3] = {Int32GetDatum(inst->installer_id), DateADTGetDatum(ev->start),
		DateADTGetDatum(ev->start + window)};

		O2oProbeStart(&ev->bookings, v);
		while (O2oProbeNext(&ev->bookings))
		{
			bool		isnull;
			int			di = DatumGetDateADT(O2oProbeGet(&ev->bookings, ev->a_day, &isnull)) - ev->start;
			int32		b = DatumGetInt32(O2oProbeGet(&ev->bookings, ev->a_booked, &isnull));

			if (di >= 0 && di < window)
			{
				int			per_window[O2O_NJOB_WINDOWS] = {0};

				booked[di] = b;
				for (int w = 0; w < O2O_NJOB_WINDOWS; w++)
					if (ev->a_win[w] != InvalidAttrNumber)
						per_window[w] = DatumGetInt32(O2oProbeGet(&ev->bookings, ev->a_win[w], &isnull));
				first_window[di] = (int8) O2oFirstFreeWindow(inst->capacity, per_window);
			}
			inst_booked += b;
		}
		cap_total += (double) inst->capacity * window;
		booked_total += inst_booked;
		if (inst->skills & ev->skill)
		{
			int			k = c->ninst++;

			c->inst_id[k] = inst->installer_id;
			c->inst_cap[k] = inst->capacity;
			c->inst_booked[k] = booked;
			c->inst_window[k] = first_window;
			c->inst_first_free[k] = -1;
			c->inst_load[k] = Min(1.0, inst_booked / ((double) inst->capacity * window));
		}
	}
	c->dealer_load = cap_total > 0 ? Min(1.0, booked_total / cap_total) : 0;
	/* no pin on a booking page while the reservations write (and prune) there */
	if (ev->bookings_open)
		ExecClearTuple(ev->bookings.slot);
}

/* installer k's first day index in [from, to) with a window with room; -1: none */
int
O2oFirstFreeDay(const Cand *c, int k, int from, int to)
{
	for (int di = from; di < to; di++)
		if (c->inst_booked[k][di] < c->inst_cap[k] && c->inst_window[k][di] >= 0)
			return di;
	return -1;
}

/* the installer a candidate would use: earliest free day, then idlest, then lowest id */
void
O2oPickInstaller(Cand *c)
{
	int			best = -1;

	for (int k = 0; k < c->ninst; k++)
	{
		if (c->inst_first_free[k] < 0)
			continue;
		if (best < 0
			|| c->inst_first_free[k] < c->inst_first_free[best]
			|| (c->inst_first_free[k] == c->inst_first_free[best]
				&& (c->inst_load[k] < c->inst_load[best]
					|| (c->inst_load[k] == c->inst_load[best] && c->inst_id[k] < c->inst_id[best]))))
			best = k;
	}
	if (best >= 0)
	{
		c->installer_id = c->inst_id[best];
		c->day_index = c->inst_first_free[best];
		c->window = c->inst_window[best][c->day_index];
	}
}

/*
 * The score, higher is better:
 *   weight_distance * (1 - distance / max_distance_m)
 * + weight_stock    * min(available - qty, 10) / 10
 * + weight_load     * (1 - load)
 * - cross_grid_penalty, for another grid's dealer when cross_grid = free
 * where load is the dealer's booked share of its installers' capacity over
 * the horizon, averaged with the chosen installer's own share when the
 * model needs installing.
 */
void
O2oScore(const Order *o, Cand *c)
{
	int32		spare = Min(Max(c->available - o->qty, 0), 10);

	c->load = c->dealer_load;
	if (o->needs_install && c->installer_id >= 0)
	{
		for (int k = 0; k < c->ninst; k++)
			if (c->inst_id[k] == c->installer_id)
				c->load = (c->dealer_load + c->inst_load[k]) / 2;
	}
	c->s_distance = o2o_weight_distance * (1 - Min(c->distance_m / o2o_max_distance_m, 1.0));
	c->s_stock = o2o_weight_stock * spare / 10.0;
	c->s_load = o2o_weight_load * (1 - c->load);
	c->penalty = (!c->same_grid && o2o_cross_grid == O2O_CROSS_FREE) ? o2o_cross_grid_penalty : 0;
	c->score = c->s_distance + c->s_stock + c->s_load - c->penalty;
}

/* the first day an install or delivery can happen for this candidate */
DateADT
O2oStartDay(const Order *o, const Cand *c)
{
	return o->today + 1 + (c->same_grid ? 0 : o2o_travel_days);
}

/*
 * The day promised to the buyer: the installation's day when the model
 * needs installing, else the first day a delivery can happen.
 */
DateADT
O2oPromisedDate(const Order *o, const Cand *c)
{
	return o->needs_install ? o->today + 1 + c->day_index : O2oStartDay(o, c);
}

/* the score a candidate can reach at most: its score with nothing booked */
double
O2oBound(const Order *o, const Cand *c)
{
	Cand		t = *c;

	t.dealer_load = 0;
	t.installer_id = -1;
	O2oScore(o, &t);
	return t.score;
}

/*
 * The bound of any candidate at distance_m or farther: the score falls with
 * the distance, and the stock counts up to 10 spare units.
 */
double
O2oBoundAt(const Order *o, double distance_m, bool same_grid)
{
	Cand		t = {0};

	t.available = PG_INT32_MAX;
	t.distance_m = distance_m;
	t.same_grid = same_grid;
	return O2oBound(o, &t);
}

/* Read a candidate's installers and bookings: its eligibility, installer and score. */
void
O2oEvaluate(Evaluator *ev, Cand *c)
{
	const Order *o = ev->o;
	int			horizon = o2o_promise_horizon_days;

	LoadInstallers(ev, c);
	if (o->needs_install)
	{
		int			offset = O2oStartDay(o, c) - ev->start;

		/* a slot counts only from this candidate's own start day */
		for (int k = 0; k < c->ninst; k++)
			c->inst_first_free[k] = O2oFirstFreeDay(c, k, offset, offset + horizon);
		if (c->ninst == 0)
			c->reason = REASON_NO_SKILL;
		else
		{
			O2oPickInstaller(c);
			if (c->installer_id < 0)
				c->reason = REASON_NO_SLOT;
		}
	}
	if (c->reason == REASON_NONE)
		O2oScore(o, c);
	c->evaluated = true;
}
