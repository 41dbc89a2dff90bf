/*
 * dealercache.h
 *		A per-backend cache of every dealer's grid, location, radius and
 *		state, so that o2o_assign reads only stock rows from the database.
 */
#ifndef O2O_DEALERCACHE_H
#define O2O_DEALERCACHE_H

#include "fmgr.h"

typedef struct DealerInfo
{
	int32		dealer_id;		/* hash key */
	int32		grid_id;		/* -1 when none */
	int32		region_id;
	bool		active;
	double		lon,
				lat,
				radius_m;
} DealerInfo;

extern void O2oDealerCacheInit(void);

/* The dealer, or NULL when there is none with that id. */
extern const DealerInfo *O2oDealerLookup(int32 dealer_id);

#endif							/* O2O_DEALERCACHE_H */
