/*
 * grid.h
 *		Grid membership: o2o_grid_of, o2o_grid_nearest and the per-backend
 *		index behind them.
 */
#ifndef O2O_GRID_H
#define O2O_GRID_H

#include "fmgr.h"

/* Register the relcache callback that invalidates the grid index. */
extern void O2oGridInit(void);

/*
 * The grid covering (lon, lat), or -1, for a C function or trigger called
 * through fcinfo (invalidations are accepted once per statement, as for
 * o2o_grid_of); lon/lat must already be checked.
 */
extern int32 O2oGridOfPoint(FunctionCallInfo fcinfo, double lon, double lat);

/* The covering grid, else the nearest within max_m metres, or -1. */
extern int32 O2oGridNearest(double lon, double lat, double max_m);

#endif							/* O2O_GRID_H */
