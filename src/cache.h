/*
 * cache.h
 *		What the per-backend caches of tables (the grid index, the national
 *		prices) share: invalidation, staleness, the snapshot they are built
 *		under, and the trigger that tells every backend a table changed.
 */
#ifndef O2O_CACHE_H
#define O2O_CACHE_H

#include "fmgr.h"
#include "utils/snapshot.h"

#define O2O_CACHE_MAX_RELS 4

typedef struct O2oCache
{
	Oid			relids[O2O_CACHE_MAX_RELS];	/* the tables cached */
	int			nrelids;		/* 0 until built */
	uint64		inval_count;	/* invalidations seen */
	uint64		built_at;		/* inval_count when the cache was last built */
	bool		built;
} O2oCache;

/* Register a cache (a static object) for relcache invalidations. */
extern void O2oCacheRegister(O2oCache *cache);

/*
 * Whether the cache must be (re)built.  Once per call site and statement
 * (fcinfo's fn_extra), pending invalidations are accepted first, so that
 * changes committed by other sessions are seen by the next statement.
 */
extern bool O2oCacheStale(O2oCache *cache, FunctionCallInfo fcinfo);

/*
 * Whether this is the call site's first call in its statement (always,
 * with no fcinfo); pending invalidations are then accepted.
 */
extern bool O2oCacheNewSite(FunctionCallInfo fcinfo);

/*
 * The cache is shared by every role of the backend: the current user may
 * read what it holds only if it may read its tables (SELECT, and no
 * row-level security, which o2o_route does not support: 0A000).  Checked
 * once per call site, statement and user.
 */
extern void O2oCacheCheckAccess(const O2oCache *cache, FunctionCallInfo fcinfo);

/* The oid of table o2o.relname; a clear error when the extension is missing. */
extern Oid	O2oCacheTable(const char *relname);

/* Bracket a build: an invalidation arriving meanwhile leaves the cache stale. */
extern uint64 O2oCacheBuildBegin(O2oCache *cache);
extern void O2oCacheBuildDone(O2oCache *cache, Oid relid, uint64 begun);
/* the same, for a cache of several tables */
extern void O2oCacheBuildDoneRels(O2oCache *cache, const Oid *relids, int nrelids, uint64 begun);

/*
 * The snapshot to build under: the latest, so that a cache reflects every
 * committed change whatever the caller's isolation level -- except in a
 * parallel operation, which may not take a new one, where the query's own
 * snapshot serves (a worker's cache dies with the query).
 */
extern Snapshot O2oCacheSnapshot(void);

#endif							/* O2O_CACHE_H */
