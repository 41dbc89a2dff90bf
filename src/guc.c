/*
 * guc.c
 *		The o2o_route.* settings.  All are USERSET, so that an application
 *		can change them for one transaction with SET LOCAL.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "guc.h"
#include "o2o_route.h"

double		o2o_weight_distance = 0.5;
double		o2o_weight_stock = 0.2;
double		o2o_weight_load = 0.3;
double		o2o_max_distance_m = 60000;
double		o2o_nearest_grid_m = 5000;
int			o2o_cross_grid = O2O_CROSS_FALLBACK;
double		o2o_cross_grid_penalty = 0.25;
int			o2o_promise_horizon_days = 14;
int			o2o_travel_days = 1;
int			o2o_max_candidates = 30;
int			o2o_pending_lock_timeout = 20;
int			o2o_stock_max_age = 0;
bool		o2o_notify_events = true;

static const struct config_enum_entry cross_grid_options[] = {
	{"never", O2O_CROSS_NEVER, false},
	{"fallback", O2O_CROSS_FALLBACK, false},
	{"free", O2O_CROSS_FREE, false},
	{NULL, 0, false}
};

void
O2oGucInit(void)
{
	DefineCustomRealVariable("o2o_route.weight_distance",
							 "Weight of nearness in a candidate's score.",
							 "The distance part is weight_distance * (1 - distance / max_distance_m).",
							 &o2o_weight_distance, 0.5, 0, 1000,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("o2o_route.weight_stock",
							 "Weight of available stock in a candidate's score.",
							 "The stock part is weight_stock * min(available - qty, 10) / 10.",
							 &o2o_weight_stock, 0.2, 0, 1000,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("o2o_route.weight_load",
							 "Weight of installer and dealer idleness in a candidate's score.",
							 "The load part is weight_load * (1 - load), load being the booked share of capacity over the promise horizon.",
							 &o2o_weight_load, 0.3, 0, 1000,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("o2o_route.max_distance_m",
							 "Farthest a dealer may be from the delivery point, in metres.",
							 "A dealer must also be within its own service_radius_m.",
							 &o2o_max_distance_m, 60000, 100, 1000000,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("o2o_route.nearest_grid_m",
							 "How far outside every grid a delivery point may be and still belong to the nearest grid, in metres.",
							 NULL,
							 &o2o_nearest_grid_m, 5000, 0, 100000,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("o2o_route.cross_grid",
							 "Whether dealers of other grids may serve an order: never, fallback or free.",
							 "fallback: only when no dealer of the order's grid can; free: all compete, others with cross_grid_penalty.",
							 &o2o_cross_grid, O2O_CROSS_FALLBACK, cross_grid_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("o2o_route.cross_grid_penalty",
							 "Score subtracted from dealers of other grids when cross_grid is free.",
							 NULL,
							 &o2o_cross_grid_penalty, 0.25, 0, 1000,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("o2o_route.promise_horizon_days",
							"How many days ahead an installer slot is looked for.",
							NULL,
							&o2o_promise_horizon_days, 14, 1, 365,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("o2o_route.max_candidates",
							"How many dealers, nearest first, o2o_assign scores in each round.",
							"Only active dealers with enough stock count; the round of the order's grid and the round of other grids each take at most this many.",
							&o2o_max_candidates, 30, 1, 10000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("o2o_route.travel_days",
							"Days added to the promised date when a dealer of another grid serves.",
							NULL,
							&o2o_travel_days, 1, 0, 30,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("o2o_route.pending_lock_timeout",
							"How long o2o_assign_pending waits for a row lock before it treats a dealer as busy.",
							NULL,
							&o2o_pending_lock_timeout, 20, 1, 60000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("o2o_route.stock_max_age",
							"Dealers whose last stock count is older than this are not routed to; 0 turns the check off.",
							"The age is that of the latest counted_at applied by o2o_stock_sync or the stock feed; a dealer that never synced counts as too old.",
							&o2o_stock_max_age, 0, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomBoolVariable("o2o_route.notify_events",
							 "Whether a transaction that writes order events sends NOTIFY o2o_events at commit.",
							 "Turn it off (SET LOCAL) in a transaction that will be prepared: PostgreSQL refuses PREPARE TRANSACTION after NOTIFY. Its events still reach consumers at their next read.",
							 &o2o_notify_events, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
}
