/*
 * dealercache.h
 *		A cache of what o2o_assign reads on every call and what changes
 *		rarely (shared by every backend, see shcache.c): every dealer (grid, location, radius, state), its
 *		active installers (capacity, skills) and every grid's region and
 *		climate.  Stock and bookings, which change all the time, are read
 *		from the tables (probe.c).
 */
#ifndef O2O_DEALERCACHE_H
#define O2O_DEALERCACHE_H

#include "fmgr.h"

typedef struct InstallerInfo
{
	int32		installer_id;
	int32		dealer_id;
	int32		capacity;		/* jobs a day */
	uint64		skills;			/* one bit per skill, see O2oSkillMask() */
	bool		active;
} InstallerInfo;

typedef struct DealerInfo
{
	int32		dealer_id;		/* hash key */
	int32		grid_id;		/* -1 when none */
	int32		region_id;
	bool		active;
	double		lon,
				lat,
				radius_m;
	int32		ninst;			/* its active installers, by installer_id: */
	int32		inst_start;		/* O2oDealerInstaller(d, 0 .. ninst - 1) */
} DealerInfo;

/* a grid's climate zone: o2o.grid's CHECK allows these only */
typedef enum O2oClimate
{
	O2O_CLIMATE_NORTH,
	O2O_CLIMATE_SOUTH
} O2oClimate;

typedef struct GridInfo
{
	int32		grid_id;		/* hash key; -1 gathers dealers outside every grid */
	bool		exists;			/* a row of o2o.grid */
	int32		region_id;
	O2oClimate	climate;		/* meaningful when exists */
	int32		ndealers;		/* its dealers, by dealer_id: */
	int32		dealer_start;	/* O2oGridDealer(g, 0 .. ndealers - 1) */
	double		minlon,			/* the box around its dealers */
				minlat,
				maxlon,
				maxlat;
} GridInfo;

extern void O2oDealerCacheInit(void);

/*
 * Rebuild the cache if a cached table changed, after checking that the
 * caller may read the tables.  The pointers the functions below return stay
 * valid until the next refresh -- or, between O2oDealerCachePin() and
 * O2oDealerCacheUnpin(), until the unpin (or the end of the transaction),
 * even if a trigger fired meanwhile refreshes the cache.
 */
extern void O2oDealerCacheRefresh(void);
extern void O2oDealerCachePin(void);
extern void O2oDealerCacheUnpin(void);

/* The dealer or grid, or NULL when there is none with that id. */
extern const DealerInfo *O2oDealerLookup(int32 dealer_id);
extern const GridInfo *O2oGridLookup(int32 grid_id);

/* The grids that have dealers: how many, and the i-th. */
extern int	O2oDealerGridCount(void);
extern const GridInfo *O2oDealerGridAt(int i);

/*
 * The grids with dealers whose box around their dealers meets the box
 * [minlon, maxlon] x [minlat, maxlat]: their positions i for
 * O2oDealerGridAt(i), in increasing order, in out[] (room for
 * O2oDealerGridCount()); returns how many.
 */
extern int	O2oDealerGridsInBox(double minlon, double minlat, double maxlon, double maxlat, int *out);

/* A grid's i-th dealer; a dealer's i-th active installer. */
extern const DealerInfo *O2oGridDealer(const GridInfo *g, int i);
extern const InstallerInfo *O2oDealerInstaller(const DealerInfo *d, int i);

/* The climate of a name; an error for any other text (a CHECK forbids it). */
extern O2oClimate O2oClimateOf(const char *name);
extern const char *O2oClimateName(O2oClimate climate);

/* The bit of a skill (a product category) in InstallerInfo.skills; 0 when no installer has it. */
extern uint64 O2oSkillMask(const char *skill);

#endif							/* O2O_DEALERCACHE_H */
