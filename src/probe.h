/*
 * probe.h
 *		Direct index probes of the extension's tables, for the reads on the
 *		hot path of o2o_assign (stock, bookings, assignments): an index scan
 *		under a snapshot, without the planner and executor set-up an SPI
 *		statement costs.  Privileges are checked as a SELECT would.
 */
#ifndef O2O_PROBE_H
#define O2O_PROBE_H

#include "access/genam.h"
#include "access/stratnum.h"
#include "executor/tuptable.h"
#include "utils/rel.h"
#include "utils/snapshot.h"

#define O2O_PROBE_MAX_KEYS 3

/* one condition of a probe: index column attno (of column colname) <op> value */
typedef struct O2oProbeKey
{
	const char *colname;
	AttrNumber	attno;
	StrategyNumber strategy;
	RegProcedure proc;
} O2oProbeKey;

typedef struct O2oProbe
{
	Relation	heap;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Snapshot	snap;
	struct IndexFetchTableData *fetch;	/* for O2oProbeFetch */
	int			nkeys;
	ScanKeyData keys[O2O_PROBE_MAX_KEYS];
	struct O2oKeptProbe *kept;	/* kept open (O2oProbeKeepBegin), else NULL */
	MemoryContext cxt;			/* where a kept probe's scan works, else NULL */
} O2oProbe;

/*
 * What a statement of a volatile function reads under: first the command
 * counter is advanced, so that what this transaction wrote so far -- earlier
 * in the calling statement too -- is visible; then a new snapshot (under READ
 * COMMITTED) or the transaction's.  As SPI does before each statement.
 */
extern Snapshot NewStatementSnapshot(void);

/* Open o2o.table through its index o2o.index, to probe with these keys under snap. */
extern void O2oProbeOpen(O2oProbe *p, const char *table, const char *index,
						 const O2oProbeKey *keys, int nkeys, Snapshot snap);

/*
 * From O2oProbeKeepBegin() to O2oProbeKeepEnd(), inside one call of a bulk
 * function, the probes O2oProbeOpen() opens are kept: a probe closed is
 * opened again, for the same call site (keys) and snapshot, without the
 * catalog lookups, privilege checks and scan set-up.  O2oProbeKeepEnd()
 * closes them (an error, the end of the transaction).  false when probes
 * are kept already: then O2oProbeKeepEnd() is not to be called.
 */
extern bool O2oProbeKeepBegin(void);
extern void O2oProbeKeepEnd(void);

/*
 * The same, to lock the rows found with O2oProbeLock() too: the table is
 * opened as SELECT ... FOR NO KEY UPDATE would (RowShareLock; the UPDATE
 * privilege is needed as well).
 */
extern void O2oProbeOpenForLock(O2oProbe *p, const char *table, const char *index,
								const O2oProbeKey *keys, int nkeys, Snapshot snap);

/*
 * Lock the row version just found (FOR NO KEY UPDATE), waiting for a
 * concurrent writer; under READ COMMITTED an updated row is followed to its
 * latest version, which is then in the slot.  False when the row is gone
 * (deleted meanwhile, or changed by this very command); under REPEATABLE
 * READ and SERIALIZABLE a concurrent change is a serialization failure.
 * *followed tells whether the slot now holds a later version.
 */
extern bool O2oProbeLock(O2oProbe *p, bool *followed);

/* The attribute number of a column of the table. */
extern AttrNumber O2oProbeAttnum(O2oProbe *p, const char *colname);

/* The same, InvalidAttrNumber when there is no such column (an older version's table). */
extern AttrNumber O2oProbeAttnumIf(O2oProbe *p, const char *colname);

/* Start a probe with these key values; then O2oProbeNext() until false. */
extern void O2oProbeStart(O2oProbe *p, const Datum *values);

static inline bool
O2oProbeNext(O2oProbe *p)
{
	MemoryContext old;
	bool		found;

	if (p->cxt == NULL)
		return index_getnext_slot(p->scan, ForwardScanDirection, p->slot);
	/* what the scan allocates on the way lives as long as it */
	old = MemoryContextSwitchTo(p->cxt);
	found = index_getnext_slot(p->scan, ForwardScanDirection, p->slot);
	MemoryContextSwitchTo(old);
	return found;
}

static inline Datum
O2oProbeGet(O2oProbe *p, AttrNumber attno, bool *isnull)
{
	return slot_getattr(p->slot, attno, isnull);
}

/*
 * Reading the index alone, then the table for chosen entries only: after
 * O2oProbeWantIndexTuples(), O2oProbeNextEntry() returns each matching
 * entry's heap TID and leaves its index tuple readable with
 * O2oProbeIndexGet(); O2oProbeFetch() reads the row version of a TID that
 * the snapshot sees, if any, into the slot.
 */
extern void O2oProbeWantIndexTuples(O2oProbe *p);
extern bool O2oProbeNextEntry(O2oProbe *p, ItemPointer tid);
extern Datum O2oProbeIndexGet(O2oProbe *p, int index_attno, bool *isnull);
extern bool O2oProbeFetch(O2oProbe *p, ItemPointer tid);

extern void O2oProbeClose(O2oProbe *p);

#endif							/* O2O_PROBE_H */
