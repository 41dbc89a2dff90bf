/*
 * cache.c
 *		The invalidation machinery shared by the per-backend table caches.
 *
 * The usual relcache pattern: writers of a cached table fire a
 * statement-level trigger that registers a relcache invalidation of it;
 * every backend's callback then only bumps the cache's counter, and the
 * cache is rebuilt on next use.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "storage/sinval.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "cache.h"
#include "o2o_route.h"
#include "shcache.h"

PG_FUNCTION_INFO_V1(o2o_table_changed);
PG_FUNCTION_INFO_V1(o2o_grid_changed);

#define MAX_CACHES 8

static O2oCache *caches[MAX_CACHES];
static int	ncaches = 0;

static void
CacheRelcacheCallback(Datum arg, Oid relid)
{
	for (int i = 0; i < ncaches; i++)
	{
		O2oCache   *c = caches[i];
		bool		hit = relid == InvalidOid || c->nrelids == 0;

		for (int r = 0; !hit && r < c->nrelids; r++)
			hit = c->relids[r] == relid;
		if (hit)
			c->inval_count++;
	}
}

void
O2oCacheRegister(O2oCache *cache)
{
	if (ncaches == MAX_CACHES)
		elog(ERROR, "too many o2o_route caches");
	if (ncaches == 0)
		CacheRegisterRelcacheCallback(CacheRelcacheCallback, (Datum) 0);
	caches[ncaches++] = cache;
}

/* what a call site (fn_extra) remembers for the rest of its statement */
typedef struct CallSite
{
	Oid			checked_user;	/* whose access to the tables was checked */
} CallSite;

bool
O2oCacheNewSite(FunctionCallInfo fcinfo)
{
	if (fcinfo == NULL)
		return true;
	if (fcinfo->flinfo->fn_extra != NULL)
		return false;
	AcceptInvalidationMessages();
	fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallSite));
	return true;
}

bool
O2oCacheStale(O2oCache *cache, FunctionCallInfo fcinfo)
{
	(void) O2oCacheNewSite(fcinfo);
	return !cache->built || cache->built_at != cache->inval_count;
}

void
O2oCacheCheckAccess(const O2oCache *cache, FunctionCallInfo fcinfo)
{
	CallSite   *site = fcinfo != NULL ? (CallSite *) fcinfo->flinfo->fn_extra : NULL;
	Oid			user = GetUserId();

	if (site != NULL && site->checked_user == user)
		return;
	for (int i = 0; i < cache->nrelids; i++)
	{
		AclResult	acl = pg_class_aclcheck(cache->relids[i], user, ACL_SELECT);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, get_rel_name(cache->relids[i]));
		if (check_enable_rls(cache->relids[i], InvalidOid, false) == RLS_ENABLED)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("o2o_route does not support row-level security on o2o.%s",
							get_rel_name(cache->relids[i]))));
	}
	if (site != NULL)
		site->checked_user = user;
}

Oid
O2oCacheTable(const char *relname)
{
	Oid			nsp = get_namespace_oid("o2o", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table o2o.%s does not exist", relname),
				 errhint("Run CREATE EXTENSION %s CASCADE.", O2O_EXTENSION_NAME)));
	return relid;
}

uint64
O2oCacheBuildBegin(O2oCache *cache)
{
	return cache->inval_count;
}

void
O2oCacheBuildDone(O2oCache *cache, Oid relid, uint64 begun)
{
	O2oCacheBuildDoneRels(cache, &relid, 1, begun);
}

void
O2oCacheBuildDoneRels(O2oCache *cache, const Oid *relids, int nrelids, uint64 begun)
{
	Assert(nrelids > 0 && nrelids <= O2O_CACHE_MAX_RELS);
	memcpy(cache->relids, relids, nrelids * sizeof(Oid));
	cache->nrelids = nrelids;
	cache->built_at = begun;
	cache->built = true;
}

Snapshot
O2oCacheSnapshot(void)
{
	return IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot();
}

/*
 * o2o._table_changed(): the one statement-level trigger on every cached
 * table (grid, dealer, installer, national_price).  Every backend's cache
 * of the table is stale once this transaction commits, and this backend's
 * at its next command.
 */
Datum
o2o_table_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("o2o._table_changed: must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	O2oShCacheTableChanged(RelationGetRelid(td->tg_relation), RelationGetRelationName(td->tg_relation));
	return PointerGetDatum(NULL);
}

/*
 * The symbol of o2o._grid_changed(), the grid's own copy of the trigger
 * until 0.4.0: the frozen 0.1.0 script still creates that function, so the
 * upgrade path needs it; 0.5.0 drops the SQL function.
 */
Datum
o2o_grid_changed(PG_FUNCTION_ARGS)
{
	return o2o_table_changed(fcinfo);
}
