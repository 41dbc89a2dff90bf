/*
 * probe.c
 *		Direct index probes of the extension's tables (see probe.h).
 *
 * A probe is what the executor does for "SELECT ... WHERE key = $1" with an
 * index scan, minus parse analysis, planning and executor start-up, which
 * for the few rows o2o_assign reads per lookup cost more than the reading.
 * It checks the SELECT privilege as the executor does, and refuses tables
 * under row-level security rather than bypass it.
 *
 * The bulk promises keep their probes open from one line to the next (one
 * call, one snapshot): a kept probe's scan state lives in a context of the
 * call, and its scan works in it, since index AMs allocate as they go.
 */
#include "postgres.h"

#include "access/itup.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "cache.h"
#include "probe.h"

/* a probe kept open, for one call site (keys, index) and snapshot */
typedef struct O2oKeptProbe
{
	const O2oProbeKey *keys;
	const char *index;
	Snapshot	snap;
	bool		in_use;
	O2oProbe	p;
} O2oKeptProbe;

/* a bulk call reads a few tables, each from a few call sites */
#define KEPT_MAX 12

/* the probes kept from O2oProbeKeepBegin() to O2oProbeKeepEnd() */
typedef struct KeptProbes
{
	MemoryContext cxt;
	LocalTransactionId lxid;	/* the (sub)transaction of the call */
	SubTransactionId subxid;
	int			n;
	O2oKeptProbe probes[KEPT_MAX];
} KeptProbes;

static KeptProbes *kept = NULL;

/*
 * The kept probes, if any, of the call running.  An error ends the call's
 * memory context, and with it the pointer; should the context outlive an
 * aborted (sub)transaction, whose end released the relations and scans,
 * the probes are forgotten all the same.
 */
static inline KeptProbes *
Kept(void)
{
	if (kept != NULL && (kept->lxid != MyProc->lxid || kept->subxid != GetCurrentSubTransactionId()))
		kept = NULL;
	return kept;
}

Snapshot
NewStatementSnapshot(void)
{
	CommandCounterIncrement();
	return GetTransactionSnapshot();
}

/*
 * A column of an open relation, as get_attnum() finds it (not dropped), but
 * in the relation's row type rather than through the catalog cache: the
 * probes look up a few columns each time they are opened.
 */
static AttrNumber
FindAttnum(Relation rel, const char *colname)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), colname) == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

static void
ProbeOpen(O2oProbe *p, const char *table, const char *index,
		  const O2oProbeKey *keys, int nkeys, Snapshot snap, LOCKMODE lockmode, AclMode privileges)
{
	Oid			relid = O2oCacheTable(table);
	Oid			indexid = get_relname_relid(index, get_rel_namespace(relid));
	AclResult	acl;

	Assert(nkeys <= O2O_PROBE_MAX_KEYS);
	/* each privilege is needed (pg_class_aclcheck is content with any one) */
	for (AclMode m = ACL_INSERT; m <= ACL_UPDATE; m <<= 1)
	{
		if (!(privileges & m))
			continue;
		acl = pg_class_aclcheck(relid, GetUserId(), m);
		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, table);
	}
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("o2o_route does not support row-level security on o2o.%s", table)));
	if (!OidIsValid(indexid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index o2o.%s does not exist", index),
				 errhint("o2o_assign needs the indexes of the extension; recreate it or ALTER EXTENSION %s UPDATE.",
						 "o2o_route")));
	p->heap = table_open(relid, lockmode);
	p->index = index_open(indexid, AccessShareLock);
	/* a btree of this table that queries could use (not one being built) */
	if (p->index->rd_index->indrelid != relid || p->index->rd_rel->relam != BTREE_AM_OID
		|| !p->index->rd_index->indisvalid || !p->index->rd_index->indisready
		|| !p->index->rd_index->indislive)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index o2o.%s is not a valid btree index of o2o.%s", index, table),
				 errhint("REINDEX INDEX o2o.%s, or ALTER EXTENSION %s UPDATE.", index, "o2o_route")));
	p->nkeys = nkeys;
	for (int i = 0; i < nkeys; i++)
	{
		AttrNumber	col = FindAttnum(p->heap, keys[i].colname);

		/* the index must be the one this code was written for */
		if (col == InvalidAttrNumber || keys[i].attno > p->index->rd_index->indnkeyatts
			|| p->index->rd_index->indkey.values[keys[i].attno - 1] != col)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("index o2o.%s does not have column %s at position %d",
							index, keys[i].colname, keys[i].attno)));
		ScanKeyInit(&p->keys[i], keys[i].attno, keys[i].strategy, keys[i].proc, (Datum) 0);
		p->keys[i].sk_collation = p->index->rd_indcollation[keys[i].attno - 1];
	}
	p->scan = index_beginscan(p->heap, p->index, snap, nkeys, 0);
	p->slot = table_slot_create(p->heap, NULL);
	p->snap = snap;
	p->fetch = NULL;
}

void
O2oProbeOpen(O2oProbe *p, const char *table, const char *index,
			 const O2oProbeKey *keys, int nkeys, Snapshot snap)
{
	if (Kept() != NULL)
	{
		O2oKeptProbe *k;
		MemoryContext old;

		for (int i = 0; i < kept->n; i++)
		{
			k = &kept->probes[i];
			if (!k->in_use && k->keys == keys && k->index == index && k->snap == snap)
			{
				k->in_use = true;
				*p = k->p;
				return;
			}
		}

		/*
		 * Kept while there is room, under a snapshot that stays where it is
		 * while registered here (not a copy made on registering).
		 */
		if (kept->n < KEPT_MAX)
		{
			Snapshot	reg = RegisterSnapshot(snap);

			if (reg == snap)
			{
				old = MemoryContextSwitchTo(kept->cxt);
				ProbeOpen(p, table, index, keys, nkeys, snap, AccessShareLock, ACL_SELECT);
				MemoryContextSwitchTo(old);
				k = &kept->probes[kept->n++];
				k->keys = keys;
				k->index = index;
				k->snap = snap;
				k->in_use = true;
				p->kept = k;
				p->cxt = kept->cxt;
				k->p = *p;
				return;
			}
			UnregisterSnapshot(reg);
		}
	}
	ProbeOpen(p, table, index, keys, nkeys, snap, AccessShareLock, ACL_SELECT);
	p->kept = NULL;
	p->cxt = NULL;
}

void
O2oProbeOpenForLock(O2oProbe *p, const char *table, const char *index,
					const O2oProbeKey *keys, int nkeys, Snapshot snap)
{
	ProbeOpen(p, table, index, keys, nkeys, snap, RowShareLock, ACL_SELECT | ACL_UPDATE);
	p->kept = NULL;
	p->cxt = NULL;
}

/* the end of the call: the pointer to the kept probes goes with them */
static void
KeptGone(void *arg)
{
	kept = NULL;
}

bool
O2oProbeKeepBegin(void)
{
	MemoryContext cxt;
	MemoryContextCallback *cb;

	if (Kept() != NULL)
		return false;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "o2o kept probes", ALLOCSET_DEFAULT_SIZES);
	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	cb->func = KeptGone;
	cb->arg = NULL;
	MemoryContextRegisterResetCallback(cxt, cb);
	kept = MemoryContextAllocZero(cxt, sizeof(KeptProbes));
	kept->cxt = cxt;
	kept->lxid = MyProc->lxid;
	kept->subxid = GetCurrentSubTransactionId();
	return true;
}

/* close a probe for good */
static void
ProbeEnd(O2oProbe *p)
{
	if (p->fetch != NULL)
		table_index_fetch_end(p->fetch);
	index_endscan(p->scan);
	ExecDropSingleTupleTableSlot(p->slot);
	index_close(p->index, NoLock);	/* locks are kept to the end of the transaction */
	table_close(p->heap, NoLock);
}

void
O2oProbeKeepEnd(void)
{
	Assert(kept != NULL);
	for (int i = 0; i < kept->n; i++)
	{
		Assert(!kept->probes[i].in_use);
		ProbeEnd(&kept->probes[i].p);
		UnregisterSnapshot(kept->probes[i].snap);
	}
	MemoryContextDelete(kept->cxt);
	Assert(kept == NULL);
}

/* what the executor's LockRows node does for one row of FOR NO KEY UPDATE */
bool
O2oProbeLock(O2oProbe *p, bool *followed)
{
	ItemPointerData tid = p->slot->tts_tid;
	TM_FailureData tmfd;
	TM_Result	res;

	res = table_tuple_lock(p->heap, &tid, p->snap, p->slot, GetCurrentCommandId(true),
						   LockTupleNoKeyExclusive, LockWaitBlock,
						   IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION,
						   &tmfd);
	*followed = false;
	switch (res)
	{
		case TM_Ok:
			*followed = tmfd.traversed;
			return true;
		case TM_SelfModified:
			/* changed by this command: as if deleted, like LockRows */
			return false;
		case TM_Updated:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
			elog(ERROR, "unexpected table_tuple_lock status: %u", res);
			break;
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent delete")));
			return false;
		case TM_Invisible:
			elog(ERROR, "attempted to lock invisible tuple");
			break;
		default:
			elog(ERROR, "unexpected table_tuple_lock status: %u", res);
	}
	return false;
}

AttrNumber
O2oProbeAttnumIf(O2oProbe *p, const char *colname)
{
	return FindAttnum(p->heap, colname);
}

AttrNumber
O2oProbeAttnum(O2oProbe *p, const char *colname)
{
	AttrNumber	a = FindAttnum(p->heap, colname);

	if (a == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column %s of o2o.%s does not exist", colname, RelationGetRelationName(p->heap))));
	return a;
}

void
O2oProbeStart(O2oProbe *p, const Datum *values)
{
	MemoryContext old = CurrentMemoryContext;

	for (int i = 0; i < p->nkeys; i++)
		p->keys[i].sk_argument = values[i];
	if (p->cxt != NULL)
		MemoryContextSwitchTo(p->cxt);
	index_rescan(p->scan, p->keys, p->nkeys, NULL, 0);
	MemoryContextSwitchTo(old);
}

void
O2oProbeWantIndexTuples(O2oProbe *p)
{
	MemoryContext old = CurrentMemoryContext;

	if (p->fetch != NULL)
		return;					/* a kept probe, set up before */
	if (p->cxt != NULL)
		MemoryContextSwitchTo(p->cxt);
	p->scan->xs_want_itup = true;
	p->fetch = table_index_fetch_begin(p->heap);
	MemoryContextSwitchTo(old);
}

bool
O2oProbeNextEntry(O2oProbe *p, ItemPointer tid)
{
	MemoryContext old = CurrentMemoryContext;
	ItemPointer t;

	if (p->cxt != NULL)
		MemoryContextSwitchTo(p->cxt);
	t = index_getnext_tid(p->scan, ForwardScanDirection);
	MemoryContextSwitchTo(old);
	if (t == NULL)
		return false;
	*tid = *t;
	return true;
}

Datum
O2oProbeIndexGet(O2oProbe *p, int index_attno, bool *isnull)
{
	Assert(p->scan->xs_itup != NULL);
	return index_getattr(p->scan->xs_itup, index_attno, p->scan->xs_itupdesc, isnull);
}

bool
O2oProbeFetch(O2oProbe *p, ItemPointer tid)
{
	MemoryContext old = CurrentMemoryContext;
	bool		call_again = false,
				all_dead = false,
				found;

	Assert(p->fetch != NULL);
	if (p->cxt != NULL)
		MemoryContextSwitchTo(p->cxt);
	found = table_index_fetch_tuple(p->fetch, tid, p->snap, p->slot, &call_again, &all_dead);
	MemoryContextSwitchTo(old);
	return found;
}

/* a kept probe is only put back, with the state it gained */
void
O2oProbeClose(O2oProbe *p)
{
	if (p->kept != NULL)
	{
		p->kept->p = *p;
		p->kept->in_use = false;
		return;
	}
	ProbeEnd(p);
}
