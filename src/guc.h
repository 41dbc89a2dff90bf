/*
 * guc.h
 *		The o2o_route.* settings: ranking weights and routing limits.
 */
#ifndef O2O_GUC_H
#define O2O_GUC_H

typedef enum O2oCrossGrid
{
	O2O_CROSS_NEVER,			/* only dealers of the order's grid */
	O2O_CROSS_FALLBACK,			/* other grids only when no dealer of the grid can serve */
	O2O_CROSS_FREE				/* all together, other grids with a score penalty */
} O2oCrossGrid;

extern double o2o_weight_distance;
extern double o2o_weight_stock;
extern double o2o_weight_load;
extern double o2o_max_distance_m;
extern double o2o_nearest_grid_m;
extern int	o2o_cross_grid;
extern double o2o_cross_grid_penalty;
extern int	o2o_promise_horizon_days;
extern int	o2o_travel_days;
extern int	o2o_max_candidates;
extern int	o2o_pending_lock_timeout;
extern int	o2o_stock_max_age;	/* ms */
extern bool o2o_notify_events;

extern void O2oGucInit(void);

#endif							/* O2O_GUC_H */
