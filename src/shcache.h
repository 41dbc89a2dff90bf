/*
 * shcache.h
 *		The grid index and the dealer cache, built once per database and
 *		shared by every backend through dynamic shared memory; a backend's
 *		own copy where sharing cannot serve (see shcache.c).
 *
 * Each cache is an "image": one flat block with no pointer in it, so that
 * it reads the same wherever it is mapped.  A cache module supplies the
 * function that builds its image and reads through the image it is given.
 */
#ifndef O2O_SHCACHE_H
#define O2O_SHCACHE_H

#include "access/xlogdefs.h"
#include "fmgr.h"
#include "port/atomics.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

#include "cache.h"

typedef enum O2oShKind
{
	O2O_SH_GRID,				/* the grid index (grid.c) */
	O2O_SH_DEALERS,				/* dealers, installers, grids' regions (dealercache.c) */
	O2O_SH_NKINDS
} O2oShKind;

/* The first bytes of every image; the cache's own data follow. */
typedef struct O2oImageHeader
{
	uint32		magic;
	int32		kind;			/* O2oShKind */
	Size		size;			/* of the whole image */
	Oid			relids[O2O_CACHE_MAX_RELS];	/* the tables it was built from */
	int			nrelids;
	uint64		version;		/* a shared image's; 0 for a backend's own */
	double		build_ms;
	TimestampTz built_at;
	bool		in_recovery;	/* built on a hot standby ... */
	XLogRecPtr	lsn;			/* ... with everything replayed up to here */
	pg_atomic_uint32 attached;	/* backends that map a shared image */
} O2oImageHeader;

#define O2O_IMAGE_MAGIC 0x6F326F49	/* "o2oI" */
#define O2O_IMAGE_DATA(h) ((char *) (h) + MAXALIGN(sizeof(O2oImageHeader)))
#define O2O_IMAGE_HEADER_SIZE MAXALIGN(sizeof(O2oImageHeader))

/*
 * Build a cache's image from the tables under snap, in one allocation of
 * CurrentMemoryContext: header (magic, kind, size, relids) and data.
 */
typedef O2oImageHeader *(*O2oImageBuild) (Snapshot snap);

/*
 * A new image of data_size bytes of data, zeroed, in CurrentMemoryContext,
 * its header filled but for what publishing sets.
 */
extern O2oImageHeader *O2oImageAlloc(O2oShKind kind, Size data_size, const Oid *relids, int nrelids);

/*
 * Register a cache: its tables (in o2o; their changes make it stale; the
 * caller must be able to read them all) and its builder.  From _PG_init.
 */
extern void O2oShCacheRegister(O2oShKind kind, const char *name, const char *const *tables,
							   int ntables, O2oImageBuild build);

/*
 * The image to read now.  Once per call site and statement (fcinfo's
 * fn_extra; every call when fcinfo is NULL) it moves to the newest image:
 * the shared one as published, or a rebuilt own copy.  Checks that the
 * current user may read the cache's tables.  The image stays mapped until
 * the next O2oShCacheGet of the cache, or while pinned until the unpin or
 * the end of the transaction.  *serial changes whenever the image does.
 */
extern const O2oImageHeader *O2oShCacheGet(O2oShKind kind, FunctionCallInfo fcinfo, uint64 *serial);
extern void O2oShCachePin(O2oShKind kind);
extern void O2oShCacheUnpin(O2oShKind kind);

/* The statement trigger on a cached table: this transaction changed it. */
extern void O2oShCacheTableChanged(Oid relid, const char *relname);

/* _PG_init during shared_preload_libraries: ask for the shared memory. */
extern void O2oShCacheRequestShmem(void);

#endif							/* O2O_SHCACHE_H */
