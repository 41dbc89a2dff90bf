/*
 * reserve.c
 *		The writes of an assignment.
 *
 * For the best candidate, in a subtransaction: reserve the stock with a
 * guarded UPDATE (on_hand - reserved - safety >= qty) and book a slot with a guarded
 * upsert (booked < capacity).  If either finds the last unit or slot taken
 * meanwhile, the subtransaction rolls back -- releasing its row locks --
 * and the next candidate is tried.  Then the assignment row with its
 * explanation, the order's grid, status and promised date, and an order
 * event.  Locks are taken in one order -- order row, stock row, booking
 * row -- and a failed attempt gives its locks back, so concurrent
 * assignments wait for each other but do not deadlock.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/resowner.h"

#include "candidates.h"
#include "guc.h"
#include "ledger.h"
#include "o2o_route.h"
#include "rank.h"
#include "reserve.h"
#include "score.h"
#include "tracking.h"

/* the statements of the writes, prepared once per backend */
typedef struct Plans
{
	SPIPlanPtr	reserve;
	SPIPlanPtr	dealer_open;
	SPIPlanPtr	installer_open;
	SPIPlanPtr	book;
	SPIPlanPtr	insert_assignment;
	SPIPlanPtr	update_order;
	SPIPlanPtr	unassignable;
	SPIPlanPtr	event;
} Plans;

static Plans plans;
static Oid	plans_for_ext = InvalidOid;	/* the o2o_route pg_extension oid */
static bool plans_with_safety;	/* o2o.stock has safety (0.7.0 on) */
static bool plans_with_windows;	/* bookings per time window (0.9.0 on) */

/*
 * Prepare a statement for the life of the backend, with its generic plan
 * made now.  O2oPreparePlans() calls this with enable_seqscan off: the tables
 * these statements probe by key (assignments, events, bookings) often start
 * empty, and a plan chosen for an empty table would scan the whole table on
 * every call once it has grown.  An ANALYZE later re-plans them normally.
 */
static SPIPlanPtr
Prepare(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	p = SPI_prepare_cursor(sql, nargs, types, CURSOR_OPT_GENERIC_PLAN);
	CachedPlan *cp;

	if (p == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(p) != 0)
		elog(ERROR, "SPI_keepplan failed");
	cp = SPI_plan_get_cached_plan(p);
	if (cp != NULL)
		ReleaseCachedPlan(cp, CurrentResourceOwner);
	return p;
}

/*
 * Prepare every statement once per backend (again after the extension was
 * re-created).  PostGIS objects are qualified with PostGIS's schema, so the
 * caller's search_path does not matter.
 */
void
O2oPreparePlans(void)
{
	Oid			ext = get_extension_oid(O2O_EXTENSION_NAME, true);
	bool		safety;
	int			guc_level;
	Oid			t_reserve[3] = {INT4OID, TEXTOID, INT4OID};
	Oid			t_book[5] = {INT4OID, DATEOID, INT4OID, INT4OID, INT4OID};
	Oid			t_ins[12] = {INT8OID, INT4OID, INT4OID, INT4OID, BOOLOID, FLOAT8OID, FLOAT8OID,
	JSONBOID, DATEOID, INT4OID, INT4OID, TEXTOID};
	Oid			t_upd[5] = {INT8OID, INT4OID, INT4OID, DATEOID, TEXTOID};
	Oid			t_key[1] = {INT4OID};
	Oid			t_open[3] = {INT4OID, INT4OID, TEXTOID};
	bool		windows;
	Oid			t_unas[4] = {INT8OID, INT4OID, INT4OID, TEXTOID};
	Oid			t_event[4] = {INT8OID, TEXTOID, TEXTOID, JSONBOID};

	if (!OidIsValid(ext))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database", O2O_EXTENSION_NAME)));
	/*
	 * Once the plans book per time window they stay valid (the columns go
	 * only with the extension); before that, look again for them after each
	 * call, as ALTER EXTENSION ... UPDATE adds them (safety stock in 0.7.0,
	 * windows in 0.9.0).
	 */
	if (ext == plans_for_ext && plans_with_windows)
		return;
	safety = get_attnum(get_relname_relid("stock", get_namespace_oid("o2o", false)), "safety") != InvalidAttrNumber;
	windows = get_attnum(get_relname_relid("installer_day", get_namespace_oid("o2o", false)), "morning") != InvalidAttrNumber;
	if (ext == plans_for_ext && safety == plans_with_safety && windows == plans_with_windows)
		return;
	guc_level = NewGUCNestLevel();
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * The reads of the order, its product, dealers, stock, bookings and
	 * earlier assignments are index probes (probe.c) and the dealer cache
	 * (dealercache.c); the writes are statements, so that every trigger and
	 * constraint applies.
	 */
	/* safety stock is never offered online (0.7.0 on; before the update, none) */
	plans.reserve = Prepare(safety
							? "UPDATE o2o.stock SET reserved = reserved + $3, updated_at = now() "
							" WHERE dealer_id = $1 AND sku = $2 AND on_hand - reserved - safety >= $3"
							: "UPDATE o2o.stock SET reserved = reserved + $3, updated_at = now() "
							" WHERE dealer_id = $1 AND sku = $2 AND on_hand - reserved >= $3", 3, t_reserve);
	/*
	 * A dealer closed, or an installer deactivated, cut or stripped of a
	 * skill, changes its row under a lock these share locks wait for, and
	 * it moves the jobs it finds (o2o._jeopardy): a booking either waits
	 * for that change and sees it, or is seen by it.  The booking guards the window it takes:
	 * each window takes its share of the capacity (tracking.h).
	 */
	plans.dealer_open = Prepare("SELECT 1 FROM o2o.dealer WHERE dealer_id = $1 AND active FOR SHARE", 1, t_key);
	/* the dealer cache may not have seen a change this transaction made yet */
	plans.installer_open = Prepare("SELECT daily_capacity FROM o2o.installer "
								   " WHERE installer_id = $1 AND active AND dealer_id = $2 "
								   "   AND $3 OPERATOR(pg_catalog.=) ANY (skills) FOR SHARE", 3, t_open);
	plans.book = Prepare(windows
						 ? "INSERT INTO o2o.installer_day AS b (installer_id, day, booked, region_id, "
						 "       morning, afternoon, evening) "
						 "VALUES ($1, $2, 1, $4, ($5 = 0)::int, ($5 = 1)::int, ($5 = 2)::int) "
						 "ON CONFLICT (installer_id, day) DO UPDATE SET booked = b.booked + 1, "
						 "       morning = b.morning + ($5 = 0)::int, afternoon = b.afternoon + ($5 = 1)::int, "
						 "       evening = b.evening + ($5 = 2)::int "
						 " WHERE b.booked < $3 AND CASE $5 WHEN 0 THEN b.morning < ($3::int8 + 2) / 3 "
						 "       WHEN 1 THEN b.afternoon < ($3::int8 + 1) / 3 ELSE b.evening < $3 / 3 END "
						 "RETURNING booked"
						 : "INSERT INTO o2o.installer_day AS b (installer_id, day, booked, region_id) "
						 "VALUES ($1, $2, 1, $4) "
						 "ON CONFLICT (installer_id, day) DO UPDATE SET booked = b.booked + 1 "
						 " WHERE b.booked < $3 RETURNING booked", 5, t_book);
	plans.insert_assignment = Prepare(windows
									  ? "INSERT INTO o2o.assignment (order_id, dealer_id, installer_id, grid_id, "
									  "       cross_grid, distance_m, score, detail, install_day, qty, region_id, "
									  "       install_window) "
									  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
									  : "INSERT INTO o2o.assignment (order_id, dealer_id, installer_id, grid_id, "
									  "       cross_grid, distance_m, score, detail, install_day, qty, region_id) "
									  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
									  12, t_ins);
	/* the first promise made to the buyer stays, to tell whether it was kept */
	plans.update_order = Prepare(windows
								 ? "UPDATE o2o.orders SET status = 'assigned', status_reason = NULL, "
								 "       grid_id = $2, region_id = $3, promised_date = $4, promised_window = $5, "
								 "       first_promised_date = coalesce(first_promised_date, $4), "
								 "       first_promised_window = coalesce(first_promised_window, $5) "
								 " WHERE order_id = $1"
								 : "UPDATE o2o.orders SET status = 'assigned', status_reason = NULL, "
								 "       grid_id = $2, region_id = $3, promised_date = $4 "
								 " WHERE order_id = $1", 5, t_upd);
	plans.unassignable = Prepare(windows
								 ? "UPDATE o2o.orders SET status = 'unassignable', status_reason = $4, "
								 "       grid_id = $2, region_id = $3, promised_date = NULL, promised_window = NULL "
								 " WHERE order_id = $1"
								 : "UPDATE o2o.orders SET status = 'unassignable', status_reason = $4, "
								 "       grid_id = $2, region_id = $3, promised_date = NULL "
								 " WHERE order_id = $1", 4, t_unas);
	plans.event = Prepare(
						  "INSERT INTO o2o.order_event (order_id, event, status, detail) "
						  "VALUES ($1, $2, $3, $4)", 4, t_event);
	AtEOXact_GUC(true, guc_level);
	plans_for_ext = ext;
	plans_with_safety = safety;
	plans_with_windows = windows;
}

/*
 * Book the candidate's installer on its day and window, in a subtransaction
 * of its own that is rolled back when the day is full (or the installer
 * gone): an upsert that finds the day full still locks the day's row, and
 * share-locks the installer.  Kept while the search goes on to later days
 * and other installers, such locks make two bookings that search in
 * opposite orders -- or a booking and an installer change moving jobs --
 * wait for each other: a deadlock.  Rolled back, an attempt that did not
 * book holds nothing.  *cap is the installer's capacity now (0: it cannot
 * take the job at all any more).
 */
static bool
BookDay(const Order *o, const Cand *c, int32 *cap)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool booked = false;

	*cap = 0;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		Datum		args[5];
		int			rc;

		/* the installer's capacity now, under a share lock (see O2oPreparePlans) */
		args[0] = Int32GetDatum(c->installer_id);
		args[1] = Int32GetDatum(c->dealer_id);
		args[2] = CStringGetTextDatum(o->category);
		rc = SPI_execute_plan(plans.installer_open, args, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "locking the installer failed: %s", SPI_result_code_string(rc));
		if (SPI_processed == 1)
		{
			bool		isnull;

			*cap = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			args[0] = Int32GetDatum(c->installer_id);
			args[1] = DateADTGetDatum(o->today + 1 + c->day_index);
			args[2] = Int32GetDatum(*cap);
			args[3] = Int32GetDatum(c->region_id);
			args[4] = Int32GetDatum(c->window);
			rc = SPI_execute_plan(plans.book, args, NULL, false, 0);
			if (rc != SPI_OK_INSERT_RETURNING && rc != SPI_OK_UPDATE_RETURNING)
				elog(ERROR, "booking an installer slot failed: %s", SPI_result_code_string(rc));
			booked = *cap > 0 && SPI_processed == 1;
		}
		if (booked)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ReThrowError(edata);
	}
	PG_END_TRY();
	return booked;
}

/*
 * Reserve the stock and book the installer slot of a candidate, in a
 * subtransaction that is rolled back -- giving its row locks back -- when
 * the last unit or slot went to someone else meanwhile.  With opts->nowait
 * a row lock held by someone else longer than
 * o2o_route.pending_lock_timeout makes the candidate busy (*saw_busy).
 */
static bool
TryReserve(const Order *o, Cand *c, const AssignOptions *opts, bool *saw_busy)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	bool		ok = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		Datum		args[5];
		int			rc;
		int			guc_level = 0;

		/*
		 * lock_timeout for this attempt only, at a GUC nest level of its own
		 * that is closed before the subtransaction ends: a setting made at
		 * the subtransaction's level would pass on to the caller's
		 * transaction when the subtransaction is released.  On an error the
		 * rollback below closes this level too.
		 */
		if (opts->nowait)
		{
			char		timeout[16];

			snprintf(timeout, sizeof(timeout), "%d", o2o_pending_lock_timeout);
			guc_level = NewGUCNestLevel();
			(void) set_config_option("lock_timeout", timeout, PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
		}

		/* a dealer closed meanwhile: the candidate is gone (see O2oPreparePlans) */
		args[0] = Int32GetDatum(c->dealer_id);
		rc = SPI_execute_plan(plans.dealer_open, args, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "locking the dealer failed: %s", SPI_result_code_string(rc));
		ok = SPI_processed == 1;
		args[1] = CStringGetTextDatum(o->sku);
		args[2] = Int32GetDatum(o->qty);
		if (ok)
		{
			/* the ledger's entry of this reservation (ledger.c) */
			O2oLedgerNoteSet(LEDGER_RESERVE, o->for_hold ? "checkout hold" : NULL, NULL, o->order_id);
			if (o->for_hold)
				O2oLedgerNoteHold(o->hold_id);
			rc = SPI_execute_plan(plans.reserve, args, NULL, false, 0);
			O2oLedgerNoteClear();
			if (rc != SPI_OK_UPDATE)
				elog(ERROR, "reserving stock failed: %s", SPI_result_code_string(rc));
			ok = SPI_processed == 1;
		}
		if (ok && o->needs_install)
		{
			ok = false;
			/* the chosen installer's first free day, then later days, then the others */
			while (!ok && c->installer_id >= 0)
			{
				int			k;
				int32		cap = 0;

				for (k = 0; k < c->ninst; k++)
					if (c->inst_id[k] == c->installer_id)
						break;
				if (BookDay(o, c, &cap))
					ok = true;
				else if (cap == 0)
				{
					/* deactivated, moved or stripped of the skill meanwhile: none of its days */
					c->inst_first_free[k] = -1;
					c->installer_id = -1;
					O2oPickInstaller(c);
				}
				else
				{
					/* taken meanwhile: this day is full for this installer */
					c->inst_booked[k][c->day_index] = c->inst_cap[k];
					c->inst_first_free[k] =
						O2oFirstFreeDay(c, k, c->day_index + 1,
										O2oStartDay(o, c) - (o->today + 1) + o2o_promise_horizon_days);
					c->installer_id = -1;
					O2oPickInstaller(c);
				}
			}
		}
		if (guc_level > 0)
			AtEOXact_GUC(true, guc_level);
		if (ok)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* restores lock_timeout too: it closes every GUC level from its own */
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (opts->nowait && edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
		{
			/* someone else is reserving here right now: busy, try the next */
			FreeErrorData(edata);
			*saw_busy = true;
			c->reason = REASON_BUSY;
			return false;
		}
		ReThrowError(edata);
	}
	PG_END_TRY();
	return ok;
}

/* the statement of O2oTakeHold(), prepared on first use (0.8.0 on) */
static SPIPlanPtr take_hold_plan = NULL;
static Oid	take_hold_ext = InvalidOid;

/*
 * Assign a locked order to its checkout hold: o2o._hold_take() locks the
 * hold, and if it is still held checks that the order matches it and turns
 * its reservation and booking into the order's assignment; an expired hold
 * is released there.  Not waiting (o2o_assign_pending), a hold or stock row
 * another transaction holds makes the order busy, and a mismatch is
 * returned rather than raised.
 */
HoldOutcome
O2oTakeHold(const Order *o, bool wait, int32 *dealer, char **why)
{
	Datum		args[6];
	Oid			types[6] = {INT8OID, INT8OID, TEXTOID, INT4OID, INT4OID, BOOLOID};
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;
	Datum		d;
	char	   *outcome;
	int			rc;

	if (take_hold_plan == NULL || take_hold_ext != plans_for_ext)
	{
		SPIPlanPtr	p = SPI_prepare("SELECT outcome, dealer_id, reason FROM o2o._hold_take($1, $2, $3, $4, $5, $6)",
									6, types);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for o2o._hold_take: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		if (take_hold_plan != NULL)
			SPI_freeplan(take_hold_plan);
		take_hold_plan = p;
		take_hold_ext = plans_for_ext;
	}
	args[0] = Int64GetDatum(o->hold_id);
	args[1] = Int64GetDatum(o->order_id);
	args[2] = CStringGetTextDatum(o->sku);
	args[3] = Int32GetDatum(o->qty);
	args[4] = Int32GetDatum(o->grid_id);
	nulls[4] = o->grid_id < 0 ? 'n' : ' ';
	args[5] = BoolGetDatum(wait);
	rc = SPI_execute_plan(take_hold_plan, args, nulls, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "taking the checkout hold failed: %s", SPI_result_code_string(rc));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "o2o._hold_take returned no outcome");
	outcome = TextDatumGetCString(d);
	if (strcmp(outcome, "taken") == 0)
	{
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		if (isnull)
			elog(ERROR, "o2o._hold_take took a hold without a dealer");
		*dealer = DatumGetInt32(d);
		return HOLD_TAKEN;
	}
	if (strcmp(outcome, "mismatch") == 0)
	{
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		*why = isnull ? pstrdup("the order does not match its hold") : TextDatumGetCString(d);
		return HOLD_MISMATCH;
	}
	return strcmp(outcome, "busy") == 0 ? HOLD_BUSY : HOLD_ENDED;
}

/* whether bookings are kept per time window (0.9.0 on); after O2oPreparePlans() */
bool
O2oBooksWindows(void)
{
	return plans_with_windows;
}

/* an event of the order, with its jsonb detail */
void
O2oAddEvent(const Order *o, const char *event, const char *status, Datum detail)
{
	Datum		args[4];
	int			rc;

	args[0] = Int64GetDatum(o->order_id);
	args[1] = CStringGetTextDatum(event);
	args[2] = CStringGetTextDatum(status);
	args[3] = detail;
	rc = SPI_execute_plan(plans.event, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "writing the order event failed: %s", SPI_result_code_string(rc));
}

/* Reserve for the best candidate that still can; -1 when none can. */
int
O2oChoose(Ranking *r, const AssignOptions *opts, bool *saw_busy)
{
	for (int i = 0; i < r->ncands; i++)
	{
		Cand	   *c;

		O2oSettle(r, i, 1);
		c = &r->cands[i];
		if (c->reason != REASON_NONE)
			break;				/* eligible ones come first */
		if (TryReserve(r->o, c, opts, saw_busy))
			return i;
		if (c->reason == REASON_NONE)
			c->reason = REASON_RESERVED_MEANWHILE;
	}
	return -1;
}

/* the assignment row; the order assigned, with grid and promised date */
void
O2oWriteAssignment(const Order *o, const Cand *c, Datum detail)
{
	Datum		args[12];
	bool		isnull_arg[12] = {0};
	char		nulls[12];
	int			rc;
	DateADT		promised = O2oPromisedDate(o, c);

	args[0] = Int64GetDatum(o->order_id);
	args[1] = Int32GetDatum(c->dealer_id);
	args[2] = Int32GetDatum(c->installer_id);
	isnull_arg[2] = c->installer_id < 0;
	args[3] = Int32GetDatum(o->grid_id);
	args[4] = BoolGetDatum(!c->same_grid);
	args[5] = Float8GetDatum(c->distance_m);
	args[6] = Float8GetDatum(c->score);
	args[7] = detail;
	args[8] = DateADTGetDatum(o->today + 1 + c->day_index);
	isnull_arg[8] = c->installer_id < 0;
	args[9] = Int32GetDatum(o->qty);
	args[10] = Int32GetDatum(c->region_id);
	args[11] = CStringGetTextDatum(O2oWindowName((O2oWindow) c->window));
	for (int i = 0; i < 12; i++)
		nulls[i] = isnull_arg[i] ? 'n' : ' ';
	rc = SPI_execute_plan(plans.insert_assignment, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "writing the assignment failed: %s", SPI_result_code_string(rc));

	args[1] = Int32GetDatum(o->grid_id);
	args[2] = Int32GetDatum(o->region_id);
	args[3] = DateADTGetDatum(promised);
	args[4] = args[11];
	rc = SPI_execute_plan(plans.update_order, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "updating the order failed: %s", SPI_result_code_string(rc));
}

/* the order unassignable, with why; no grid or region when it has no grid */
void
O2oWriteUnassignable(const Order *o, const char *why)
{
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	int			rc;

	args[0] = Int64GetDatum(o->order_id);
	args[1] = Int32GetDatum(o->grid_id);
	args[2] = Int32GetDatum(o->region_id);
	args[3] = CStringGetTextDatum(why);
	if (o->grid_id < 0)
		nulls[1] = nulls[2] = 'n';
	rc = SPI_execute_plan(plans.unassignable, args, nulls, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "updating the order failed: %s", SPI_result_code_string(rc));
}
