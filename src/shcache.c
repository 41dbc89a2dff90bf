/*
 * shcache.c
 *		The grid index and the dealer cache, once per database in dynamic
 *		shared memory, published atomically and versioned.
 *
 * With o2o_route in shared_preload_libraries, a small control block in the
 * main shared memory holds, per database and cache, the handle and version
 * of the published image: one dynamic shared memory segment holding one
 * flat block (shcache.h).  A backend maps the published image and reads it
 * in place; no backend holds a private copy.
 *
 * Who builds.  The transaction that changes a cached table builds the new
 * image at pre-commit, under the latest snapshot (its own changes
 * included) and an advisory lock that serialises publishers, and publishes
 * it at commit by swapping the handle and the version under an LWLock.  So
 * readers never wait for a build and never see a half-built image; a
 * reader's next statement after the commit maps the new image, and one in
 * flight keeps the one it has.  An image replaced is unpinned and freed by
 * the system when the last backend that maps it lets go (backends let go
 * at their next use of the cache or when they exit).  The first image of a
 * database (after a restart) is built by the first backend that needs it,
 * under the same lock; others that need it meanwhile wait for it.  Only a
 * change of content rebuilds: ANALYZE, VACUUM or GRANT change nothing.
 *
 * A backend's own copy, built and invalidated as the per-backend caches
 * always were (cache.c), serves where the shared image cannot:
 *	- the library is not preloaded (no control block);
 *	- this transaction changed a cached table: it sees its own change at
 *	  its next command, which no other backend may see;
 *	- a parallel worker of a transaction that wrote (its leader may have
 *	  changed a cached table), or a parallel operation with nothing
 *	  published yet (it may not take the latest snapshot).
 * On a hot standby no trigger fires: a backend that receives a replayed
 * invalidation of a cached table needs an image built from at least the
 * replay position it then reads, and builds one if the published image is
 * older (see Acceptable()).
 *
 * A transaction that changed a cached table cannot be prepared (2PC): the
 * image would have to be published by whoever commits it.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "cache.h"
#include "o2o_route.h"
#include "shcache.h"

PG_FUNCTION_INFO_V1(o2o_cache_status);

/* databases whose caches can be shared at once */
#define SH_MAX_DBS 64
/* the advisory lock that serialises publishers: field4 beyond the SQL functions' 1 and 2 */
#define SH_LOCK_KEY 0x6F326F52
#define SH_LOCK_SPACE 3

/* one cache of one database, in shared memory */
typedef struct ShKind
{
	pg_atomic_uint64 version;	/* of the published image; 0: none */
	dsm_handle	handle;
	Size		bytes;
	uint64		builds;
	double		last_build_ms;
	TimestampTz built_at;
} ShKind;

typedef struct ShDb
{
	Oid			dboid;			/* InvalidOid: a free slot */
	ShKind		k[O2O_SH_NKINDS];
} ShDb;

typedef struct ShControl
{
	LWLock	   *lock;			/* slots, handles, versions */
	uint64		next_version;
	ShDb		db[SH_MAX_DBS];
} ShControl;

static ShControl *Ctl = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* an image a backend reads: shared (seg) or its own (palloc'd) */
typedef struct Held
{
	O2oImageHeader *h;
	dsm_segment *seg;
} Held;

#define MAX_RETIRED 16

typedef struct KindState
{
	const char *name;
	const char *const *tables;
	int			ntables;
	O2oImageBuild build;
	O2oCache	inval;			/* relcache invalidations: own copies */
	Held		cur;
	uint64		serial;			/* bumped whenever cur changes */
	Held		retired[MAX_RETIRED];	/* replaced while pinned */
	int			nretired;
	int			pins;
	bool		dirty;			/* this transaction changed a table of the cache */
	dsm_segment *pending;		/* built at pre-commit, published at commit */
	bool		pending_clear;	/* at commit, withdraw the image (tables gone) */
	uint64		own_builds;
	double		own_build_ms;
	Oid			relids[O2O_CACHE_MAX_RELS];	/* the tables' oids, looked up */
	uint64		relids_at;		/* at this count of invalidations */
	bool		relids_valid;
	uint64		seen_invals;	/* hot standby: invalidations seen, */
	XLogRecPtr	need_lsn;		/* and the replay it must see since */
} KindState;

static KindState Kinds[O2O_SH_NKINDS];
static bool XactCallbackRegistered = false;
static ShDb *MyDb = NULL;
static bool MyDbLooked = false;

/* ---------- shared memory ---------- */

static void
ShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(ShControl)));
	RequestNamedLWLockTranche(O2O_EXTENSION_NAME, 1);
}

static void
ShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	Ctl = ShmemInitStruct("o2o_route shared caches", sizeof(ShControl), &found);
	if (!found)
	{
		memset(Ctl, 0, sizeof(ShControl));
		Ctl->lock = &(GetNamedLWLockTranche(O2O_EXTENSION_NAME))->lock;
		for (int i = 0; i < SH_MAX_DBS; i++)
			for (int k = 0; k < O2O_SH_NKINDS; k++)
				pg_atomic_init_u64(&Ctl->db[i].k[k].version, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
O2oShCacheRequestShmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ShmemStartup;
}

/* withdraw a published image (under Ctl->lock, exclusive) */
static void
Withdraw(ShKind *sk)
{
	if (pg_atomic_read_u64(&sk->version) != 0)
		dsm_unpin_segment(sk->handle);
	pg_atomic_write_u64(&sk->version, 0);
	sk->handle = DSM_HANDLE_INVALID;
	sk->bytes = 0;
}

/*
 * This database's slot, claimed on first use.  Slots of databases that no
 * longer exist are taken back (with their images) when none is free.
 * NULL when every slot is in use: this backend then keeps its own copies.
 */
static ShDb *
GetMyDb(void)
{
	if (MyDbLooked)
		return MyDb;
	if (Ctl == NULL)
	{
		MyDbLooked = true;
		return NULL;
	}
	LWLockAcquire(Ctl->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SH_MAX_DBS && MyDb == NULL; i++)
		if (Ctl->db[i].dboid == MyDatabaseId)
			MyDb = &Ctl->db[i];
	for (int pass = 0; pass < 2 && MyDb == NULL; pass++)
	{
		for (int i = 0; i < SH_MAX_DBS && MyDb == NULL; i++)
		{
			ShDb	   *d = &Ctl->db[i];

			if (pass == 1 && OidIsValid(d->dboid)
				&& !SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(d->dboid)))
			{
				for (int k = 0; k < O2O_SH_NKINDS; k++)
					Withdraw(&d->k[k]);
				d->dboid = InvalidOid;
			}
			if (!OidIsValid(d->dboid))
			{
				for (int k = 0; k < O2O_SH_NKINDS; k++)
				{
					ShKind	   *sk = &d->k[k];

					pg_atomic_write_u64(&sk->version, 0);
					sk->handle = DSM_HANDLE_INVALID;
					sk->bytes = 0;
					sk->builds = 0;
					sk->last_build_ms = 0;
					sk->built_at = 0;
				}
				d->dboid = MyDatabaseId;
				MyDb = d;
			}
		}
	}
	LWLockRelease(Ctl->lock);
	MyDbLooked = true;
	if (MyDb == NULL)
		ereport(LOG,
				(errmsg("o2o_route: no free slot for the shared caches of database %u; this backend keeps its own copies",
						MyDatabaseId),
				 errdetail("At most %d databases share their caches at once.", SH_MAX_DBS)));
	return MyDb;
}

/* ---------- registration and invalidation ---------- */

void
O2oShCacheRegister(O2oShKind kind, const char *name, const char *const *tables, int ntables,
				   O2oImageBuild build)
{
	KindState  *ks = &Kinds[kind];

	Assert(ntables <= O2O_CACHE_MAX_RELS);
	ks->name = name;
	ks->tables = tables;
	ks->ntables = ntables;
	ks->build = build;
	O2oCacheRegister(&ks->inval);
}

static void ShXactCallback(XactEvent event, void *arg);

static void
EnsureXactCallback(void)
{
	if (!XactCallbackRegistered)
	{
		RegisterXactCallback(ShXactCallback, NULL);
		XactCallbackRegistered = true;
	}
}

void
O2oShCacheTableChanged(Oid relid, const char *relname)
{
	for (int k = 0; k < O2O_SH_NKINDS; k++)
	{
		KindState  *ks = &Kinds[k];

		for (int t = 0; t < ks->ntables; t++)
			if (strcmp(ks->tables[t], relname) == 0)
			{
				ks->dirty = true;
				EnsureXactCallback();
			}
	}
}

/* ---------- images held by this backend ---------- */

static void
OnDetach(dsm_segment *seg, Datum arg)
{
	O2oImageHeader *h = dsm_segment_address(seg);

	pg_atomic_fetch_sub_u32(&h->attached, 1);
}

static void
Release(Held *held)
{
	if (held->seg != NULL)
		dsm_detach(held->seg);
	else if (held->h != NULL)
		pfree(held->h);
	held->h = NULL;
	held->seg = NULL;
}

static void
ReleaseRetired(KindState *ks)
{
	for (int i = 0; i < ks->nretired; i++)
		Release(&ks->retired[i]);
	ks->nretired = 0;
}

/* make `next` the image in use; the old one goes now, or at the unpin */
static void
Replace(KindState *ks, Held next)
{
	if (ks->cur.h != NULL)
	{
		if (ks->pins == 0)
			Release(&ks->cur);
		else
		{
			if (ks->nretired == MAX_RETIRED)
				elog(ERROR, "o2o_route: too many %s images replaced while in use", ks->name);
			ks->retired[ks->nretired++] = ks->cur;
		}
	}
	ks->cur = next;
	ks->serial++;
}

/* map a shared segment for the rest of the session, counted as attached */
static O2oImageHeader *
Map(dsm_segment *seg)
{
	O2oImageHeader *h = dsm_segment_address(seg);

	dsm_pin_mapping(seg);
	pg_atomic_fetch_add_u32(&h->attached, 1);
	on_dsm_detach(seg, OnDetach, (Datum) 0);
	return h;
}

/* ---------- building ---------- */

O2oImageHeader *
O2oImageAlloc(O2oShKind kind, Size data_size, const Oid *relids, int nrelids)
{
	Size		size = O2O_IMAGE_HEADER_SIZE + data_size;
	O2oImageHeader *h = MemoryContextAllocExtended(CurrentMemoryContext, size,
												   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	Assert(nrelids <= O2O_CACHE_MAX_RELS);
	h->magic = O2O_IMAGE_MAGIC;
	h->kind = kind;
	h->size = size;
	memcpy(h->relids, relids, nrelids * sizeof(Oid));
	h->nrelids = nrelids;
	return h;
}

/* the owner of a table */
static Oid
RelOwner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* the oids of the cache's tables now; false when one is missing */
static bool
CurrentRelids(KindState *ks, Oid *relids, bool missing_ok)
{
	for (int t = 0; t < ks->ntables; t++)
	{
		Oid			nsp = get_namespace_oid("o2o", true);

		relids[t] = OidIsValid(nsp) ? get_relname_relid(ks->tables[t], nsp) : InvalidOid;
		if (!OidIsValid(relids[t]))
		{
			if (!missing_ok)
				O2oCacheTable(ks->tables[t]);	/* the error */
			return false;
		}
	}
	return true;
}

/*
 * The tables' oids now.  Looked up again only after an invalidation of
 * them (dropping a table sends one), not on every call.
 */
static const Oid *
Relids(KindState *ks)
{
	if (!ks->relids_valid || ks->relids_at != ks->inval.inval_count)
	{
		CurrentRelids(ks, ks->relids, false);
		ks->relids_at = ks->inval.inval_count;
		ks->relids_valid = true;
	}
	return ks->relids;
}

static bool
SameTables(KindState *ks, const O2oImageHeader *h, const Oid *relids)
{
	if (h->nrelids != ks->ntables)
		return false;
	for (int t = 0; t < ks->ntables; t++)
		if (h->relids[t] != relids[t])
			return false;
	return true;
}

/*
 * Build an image under snap in CurrentMemoryContext.  Outside a parallel
 * operation the build runs as the owner of the cache's first table, with a
 * safe search_path: the image serves every role, and a writer that builds
 * at commit may itself lack SELECT.
 */
static O2oImageHeader *
BuildImage(KindState *ks, Snapshot snap)
{
	O2oImageHeader *h;
	instr_time	start,
				elapsed;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel = 0;
	bool		switched = !IsInParallelMode();

	INSTR_TIME_SET_CURRENT(start);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (switched)
	{
		Oid			relids[O2O_CACHE_MAX_RELS];

		CurrentRelids(ks, relids, false);
		SetUserIdAndSecContext(RelOwner(relids[0]),
							   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
		save_nestlevel = NewGUCNestLevel();
		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	h = ks->build(snap);
	if (switched)
	{
		AtEOXact_GUC(false, save_nestlevel);
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	h->build_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	h->built_at = GetCurrentTimestamp();
	h->version = 0;
	pg_atomic_init_u32(&h->attached, 0);
	return h;
}

/* the image built under snap, copied into a new pinned segment */
static dsm_segment *
BuildSegment(KindState *ks, Snapshot snap)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "o2o image build",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	O2oImageHeader *h = BuildImage(ks, snap);
	dsm_segment *seg;

	MemoryContextSwitchTo(old);
	seg = dsm_create(h->size, 0);
	memcpy(dsm_segment_address(seg), h, h->size);
	MemoryContextDelete(cxt);
	dsm_pin_segment(seg);
	return seg;
}

/* publish a pinned segment as the cache's image (the old one is unpinned) */
static void
Publish(ShKind *sk, dsm_segment *seg)
{
	O2oImageHeader *h = dsm_segment_address(seg);

	LWLockAcquire(Ctl->lock, LW_EXCLUSIVE);
	Withdraw(sk);
	h->version = ++Ctl->next_version;
	sk->handle = dsm_segment_handle(seg);
	sk->bytes = h->size;
	sk->builds++;
	sk->last_build_ms = h->build_ms;
	sk->built_at = h->built_at;
	pg_atomic_write_u64(&sk->version, h->version);
	LWLockRelease(Ctl->lock);
}

static void
PublishLockTag(LOCKTAG *tag, O2oShKind kind)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, SH_LOCK_KEY, (uint32) kind, SH_LOCK_SPACE);
}

/* ---------- which image ---------- */

/* Whether this backend can read the shared image of the cache now. */
static bool
UseShared(KindState *ks)
{
	if (Ctl == NULL || ks->dirty)
		return false;
	if (IsParallelWorker() && FullTransactionIdIsValid(GetTopFullTransactionIdIfAny()))
		return false;
	return GetMyDb() != NULL;
}

/*
 * Whether an image can serve this backend now: built from the current
 * tables; on a primary, not on a standby (promoted since); on a hot
 * standby, with every change replayed that this backend was told of.
 */
static bool
Acceptable(KindState *ks, const O2oImageHeader *h, const Oid *relids)
{
	if (!SameTables(ks, h, relids))
		return false;
	if (RecoveryInProgress())
		return h->in_recovery && h->lsn >= ks->need_lsn;
	return !h->in_recovery;
}

/*
 * Use the published image if it can serve (mapping it unless it is the one
 * in use already).  false: nothing published that serves.
 */
static bool
TryPublished(KindState *ks, O2oShKind kind, const Oid *relids)
{
	ShKind	   *sk = &MyDb->k[kind];
	dsm_segment *seg = NULL;
	uint64		v;
	bool		mine;
	O2oImageHeader *h;

	LWLockAcquire(Ctl->lock, LW_SHARED);
	v = pg_atomic_read_u64(&sk->version);
	/* a segment may be attached once per backend */
	mine = v != 0 && ks->cur.seg != NULL && ks->cur.h->version == v;
	if (v != 0 && !mine)
		seg = dsm_attach(sk->handle);
	LWLockRelease(Ctl->lock);
	if (mine)
		return Acceptable(ks, ks->cur.h, relids);
	if (seg == NULL)
		return false;
	h = dsm_segment_address(seg);
	if (!Acceptable(ks, h, relids))
	{
		dsm_detach(seg);		/* of tables dropped since, or not replayed enough */
		return false;
	}
	{
		Held		next = {Map(seg), seg};

		Replace(ks, next);
	}
	return true;
}

/*
 * Use the published image if it serves; else build one and publish it,
 * under the publishers' lock (whoever held it may have published what
 * serves meanwhile).  false: nothing serves, and this backend may not
 * publish (a parallel operation).
 */
static bool
AttachShared(KindState *ks, O2oShKind kind, const Oid *relids)
{
	LOCKTAG		tag;

	if (TryPublished(ks, kind, relids))
		return true;
	if (IsInParallelMode())
		return false;
	PublishLockTag(&tag, kind);
	(void) LockAcquire(&tag, ExclusiveLock, true, false);
	PG_TRY();
	{
		if (!TryPublished(ks, kind, relids))
		{
			/* on a standby, what is replayed now is in any snapshot taken after */
			bool		recovery = RecoveryInProgress();
			XLogRecPtr	lsn = recovery ? GetXLogReplayRecPtr(NULL) : InvalidXLogRecPtr;
			dsm_segment *seg = BuildSegment(ks, GetLatestSnapshot());
			O2oImageHeader *h = dsm_segment_address(seg);
			Held		next;

			h->in_recovery = recovery;
			h->lsn = lsn;
			Publish(&MyDb->k[kind], seg);
			next.seg = seg;
			next.h = Map(seg);
			Replace(ks, next);
		}
	}
	PG_FINALLY();
	{
		LockRelease(&tag, ExclusiveLock, true);
	}
	PG_END_TRY();
	return true;
}

/* this backend's own copy, rebuilt after an invalidation of its tables */
static void
RefreshOwn(KindState *ks, FunctionCallInfo fcinfo, bool stale)
{
	uint64		begun;
	Held		next = {0};
	MemoryContext old;

	if (ks->cur.h != NULL && ks->cur.seg == NULL && !stale)
		return;
	begun = O2oCacheBuildBegin(&ks->inval);
	old = MemoryContextSwitchTo(TopMemoryContext);
	next.h = BuildImage(ks, O2oCacheSnapshot());
	MemoryContextSwitchTo(old);
	ks->own_builds++;
	ks->own_build_ms = next.h->build_ms;
	O2oCacheBuildDoneRels(&ks->inval, next.h->relids, next.h->nrelids, begun);
	Replace(ks, next);
}

const O2oImageHeader *
O2oShCacheGet(O2oShKind kind, FunctionCallInfo fcinfo, uint64 *serial)
{
	KindState  *ks = &Kinds[kind];
	bool		look = O2oCacheNewSite(fcinfo);
	bool		stale = O2oCacheStale(&ks->inval, NULL);

	if (UseShared(ks))
	{
		if (ks->cur.seg == NULL || look)
		{
			const Oid  *relids = Relids(ks);
			ShKind	   *sk = &MyDb->k[kind];

			if (RecoveryInProgress() && ks->inval.inval_count != ks->seen_invals)
			{
				/*
				 * A hot standby: no trigger publishes there.  A change to a
				 * table of the cache reaches this backend as a replayed
				 * invalidation; whatever is replayed now includes it, so an
				 * image built from at least this far serves.  (ANALYZE on
				 * the primary too: one rebuild per standby, not per backend.)
				 */
				ks->need_lsn = GetXLogReplayRecPtr(NULL);
				ks->seen_invals = ks->inval.inval_count;
			}
			if (ks->cur.seg == NULL || pg_atomic_read_u64(&sk->version) != ks->cur.h->version
				|| !Acceptable(ks, ks->cur.h, relids))
			{
				if (!AttachShared(ks, kind, relids))
					RefreshOwn(ks, fcinfo, true);
			}
		}
	}
	else
		RefreshOwn(ks, fcinfo, stale || ks->cur.seg != NULL);
	/* the access check needs the tables' oids */
	memcpy(ks->inval.relids, ks->cur.h->relids, ks->cur.h->nrelids * sizeof(Oid));
	ks->inval.nrelids = ks->cur.h->nrelids;
	O2oCacheCheckAccess(&ks->inval, fcinfo);
	*serial = ks->serial;
	return ks->cur.h;
}

void
O2oShCachePin(O2oShKind kind)
{
	EnsureXactCallback();
	Kinds[kind].pins++;
}

void
O2oShCacheUnpin(O2oShKind kind)
{
	KindState  *ks = &Kinds[kind];

	if (ks->pins > 0 && --ks->pins == 0)
		ReleaseRetired(ks);
}

/* ---------- publishing a change at commit ---------- */

static void
PreCommit(void)
{
	bool		cci = false;

	for (int k = 0; k < O2O_SH_NKINDS; k++)
	{
		KindState  *ks = &Kinds[k];
		Oid			relids[O2O_CACHE_MAX_RELS];
		LOCKTAG		tag;

		if (!ks->dirty || Ctl == NULL || GetMyDb() == NULL)
			continue;
		/* the lock is held until the end of the transaction, after publishing */
		PublishLockTag(&tag, (O2oShKind) k);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
		if (!CurrentRelids(ks, relids, true))
		{
			ks->pending_clear = true;	/* the extension was dropped */
			continue;
		}
		if (!cci)
		{
			/* the last command's changes become visible to the build */
			CommandCounterIncrement();
			cci = true;
		}
		ks->pending = BuildSegment(ks, GetLatestSnapshot());
	}
}

static void
ShXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			PreCommit();
			return;
		case XACT_EVENT_PRE_PREPARE:
			for (int k = 0; k < O2O_SH_NKINDS; k++)
				if (Kinds[k].dirty && Ctl != NULL)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("cannot PREPARE a transaction that changed a table of the o2o_route %s",
									Kinds[k].name),
							 errdetail("With o2o_route in shared_preload_libraries, the shared %s is published when such a transaction commits.",
									   Kinds[k].name)));
			return;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			break;
		default:
			return;
	}
	for (int k = 0; k < O2O_SH_NKINDS; k++)
	{
		KindState  *ks = &Kinds[k];
		bool		committed = event == XACT_EVENT_COMMIT;

		ks->pins = 0;
		ReleaseRetired(ks);
		if (ks->pending != NULL)
		{
			if (committed)
			{
				Held		next;

				Publish(&MyDb->k[k], ks->pending);
				next.seg = ks->pending;
				next.h = Map(ks->pending);
				Replace(ks, next);
			}
			else
			{
				dsm_unpin_segment(dsm_segment_handle(ks->pending));
				dsm_detach(ks->pending);
			}
			ks->pending = NULL;
		}
		else if (ks->pending_clear && committed)
		{
			LWLockAcquire(Ctl->lock, LW_EXCLUSIVE);
			Withdraw(&MyDb->k[k]);
			LWLockRelease(Ctl->lock);
		}
		/* an own copy made of this transaction's changes goes with it */
		if (ks->dirty && ks->cur.seg == NULL && ks->cur.h != NULL)
		{
			Release(&ks->cur);
			ks->serial++;
		}
		ks->dirty = false;
		ks->pending_clear = false;
	}
}

/* ---------- observability ---------- */

/*
 * o2o_cache_status() returns setof record: per cache, whether this backend
 * reads it shared or from its own copy, and the image's version, bytes,
 * builds, last build time and the backends that map it.  Builds nothing.
 */
Datum
o2o_cache_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int k = 0; k < O2O_SH_NKINDS; k++)
	{
		KindState  *ks = &Kinds[k];
		Datum		values[9];
		bool		nulls[9] = {0};
		bool		shared = UseShared(ks);

		values[0] = CStringGetTextDatum(ks->name);
		values[1] = CStringGetTextDatum(shared ? "shared" : "own");
		values[2] = BoolGetDatum(Ctl != NULL);
		if (shared)
		{
			ShKind	   *sk = &MyDb->k[k];
			uint64		v;

			LWLockAcquire(Ctl->lock, LW_SHARED);
			v = pg_atomic_read_u64(&sk->version);
			values[3] = Int64GetDatum((int64) v);
			values[4] = Int64GetDatum((int64) sk->bytes);
			values[5] = Int64GetDatum((int64) sk->builds);
			values[6] = Float8GetDatum(sk->last_build_ms);
			values[7] = TimestampTzGetDatum(sk->built_at);
			nulls[3] = nulls[4] = nulls[7] = v == 0;
			nulls[6] = sk->builds == 0;
			if (v != 0 && ks->cur.seg != NULL && ks->cur.h->version == v)
				values[8] = Int32GetDatum((int32) pg_atomic_read_u32(&ks->cur.h->attached));
			else
				nulls[8] = true;
			LWLockRelease(Ctl->lock);
		}
		else
		{
			bool		have = ks->cur.h != NULL && ks->cur.seg == NULL;

			nulls[3] = true;
			values[4] = Int64GetDatum(have ? (int64) ks->cur.h->size : 0);
			nulls[4] = !have;
			values[5] = Int64GetDatum((int64) ks->own_builds);
			values[6] = Float8GetDatum(ks->own_build_ms);
			nulls[6] = ks->own_builds == 0;
			values[7] = have ? TimestampTzGetDatum(ks->cur.h->built_at) : (Datum) 0;
			nulls[7] = !have;
			nulls[8] = true;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
