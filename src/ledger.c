/*
 * ledger.c
 *		The stock ledger (o2o.stock_ledger): one AFTER ROW trigger on
 *		o2o.stock appends every change of on_hand or reserved, so that
 *		o2o.stock is always the ledger's running sum -- whoever wrote, by
 *		whichever path.
 *
 * A writer says what its next statement is with a note (kind, reason,
 * document, order): o2o_assign in C before it reserves, the SQL functions
 * through o2o._ledger_note().  The note is cleared by the writer after the
 * statement and at the end of every (sub)transaction, so a write without a
 * note -- a DBA's UPDATE -- is an adjustment.  The entry records the role
 * in effect outside any SECURITY DEFINER function (the session's role, or
 * the one SET ROLE chose): the person or program behind the change.
 *
 * The entry is written as the ledger's owner: a role allowed to update
 * o2o.stock need not be allowed to write the ledger.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "ledger.h"
#include "o2o_route.h"

PG_FUNCTION_INFO_V1(o2o_stock_ledger);
PG_FUNCTION_INFO_V1(o2o_ledger_note);
PG_FUNCTION_INFO_V1(o2o_caller);
PG_FUNCTION_INFO_V1(o2o_feed_stamp);

static const char *const kind_names[LEDGER_NKINDS] = {
	[LEDGER_OPENING] = "opening",
	[LEDGER_COUNT] = "count",
	[LEDGER_ADJUST] = "adjust",
	[LEDGER_RESERVE] = "reserve",
	[LEDGER_RELEASE] = "release",
	[LEDGER_CONSUME] = "consume",
};

/* the note of the writer's next statement */
static struct
{
	bool		set;
	bool		skip;			/* the writer appends the entries itself */
	O2oLedgerKind kind;
	const char *reason;
	const char *ref;
	int64		order_id;
	int64		hold_id;
} note;

/* the strings of a note left from SQL live here until the note is cleared */
static MemoryContext NoteContext = NULL;

static SPIPlanPtr insert_plan = NULL;
static Oid	insert_plan_ext = InvalidOid;
static bool insert_plan_hold;	/* the plan writes hold_id (0.8.0 on) */

void
O2oLedgerNoteSet(O2oLedgerKind kind, const char *reason, const char *ref, int64 order_id)
{
	note.set = true;
	note.skip = false;
	note.kind = kind;
	note.reason = reason;
	note.ref = ref;
	note.order_id = order_id;
	note.hold_id = -1;
}

void
O2oLedgerNoteHold(int64 hold_id)
{
	Assert(note.set);
	note.hold_id = hold_id;
}

void
O2oLedgerNoteClear(void)
{
	note.set = false;
	note.skip = false;
	note.reason = note.ref = NULL;
	if (NoteContext != NULL)
		MemoryContextReset(NoteContext);
}

static void
LedgerXactCallback(XactEvent event, void *arg)
{
	if (note.set)
		O2oLedgerNoteClear();
}

static void
LedgerSubXactCallback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && note.set)
		O2oLedgerNoteClear();
}

void
O2oLedgerInit(void)
{
	RegisterXactCallback(LedgerXactCallback, NULL);
	RegisterSubXactCallback(LedgerSubXactCallback, NULL);
}

/*
 * o2o._ledger_note(kind text, reason text, ref text, order_id bigint
 * [, hold_id bigint]): the note of the caller's next statement; a NULL kind
 * clears it.  The kind
 * 'written' says that the caller appends the entries of its next statement
 * itself, in one set-based INSERT (the bulk count does, from its UPDATE's
 * RETURNING): the trigger then writes none.
 */
Datum
o2o_ledger_note(PG_FUNCTION_ARGS)
{
	char	   *kind;
	int			k;

	O2oLedgerNoteClear();
	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(kind, "written") == 0)
	{
		O2oLedgerNoteSet(LEDGER_ADJUST, NULL, NULL, -1);
		note.skip = true;
		PG_RETURN_VOID();
	}
	for (k = 0; k < LEDGER_NKINDS; k++)
		if (strcmp(kind, kind_names[k]) == 0)
			break;
	if (k == LEDGER_NKINDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown stock ledger kind \"%s\"", kind)));
	if (NoteContext == NULL)
		NoteContext = AllocSetContextCreate(TopMemoryContext, "o2o_route ledger note",
											ALLOCSET_SMALL_SIZES);
	O2oLedgerNoteSet((O2oLedgerKind) k,
					 PG_ARGISNULL(1) ? NULL : MemoryContextStrdup(NoteContext, text_to_cstring(PG_GETARG_TEXT_PP(1))),
					 PG_ARGISNULL(2) ? NULL : MemoryContextStrdup(NoteContext, text_to_cstring(PG_GETARG_TEXT_PP(2))),
					 PG_ARGISNULL(3) ? -1 : PG_GETARG_INT64(3));
	if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
		note.hold_id = PG_GETARG_INT64(4);
	PG_RETURN_VOID();
}

/*
 * o2o._caller() returns regrole: the role in effect outside any SECURITY
 * DEFINER function -- who a definer function is working for.
 */
Datum
o2o_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}

/*
 * The statement that appends an entry, prepared once per backend; with
 * hold_id ($14) once the ledger has it (0.8.0 on), looked for again while
 * it has not, as ALTER EXTENSION ... UPDATE adds it.
 */
static SPIPlanPtr
InsertPlan(Relation ledger_of)
{
	Oid			ext = get_extension_oid(O2O_EXTENSION_NAME, false);
	Oid			types[14] = {INT4OID, INT4OID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID, INT4OID,
	INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID, NAMEOID, INT8OID};
	bool		hold;

	if (insert_plan != NULL && insert_plan_ext == ext && insert_plan_hold)
		return insert_plan;
	hold = get_attnum(get_relname_relid("stock_ledger", RelationGetNamespace(ledger_of)), "hold_id")
		!= InvalidAttrNumber;
	if (insert_plan != NULL && insert_plan_ext == ext && !hold)
		return insert_plan;
	if (insert_plan != NULL)
		SPI_freeplan(insert_plan);
	insert_plan = SPI_prepare(hold
							  ? "INSERT INTO o2o.stock_ledger (region_id, dealer_id, sku, kind, d_on_hand, "
							  "       d_reserved, on_hand, reserved, order_id, reason, ref, counted_at, actor, hold_id) "
							  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
							  : "INSERT INTO o2o.stock_ledger (region_id, dealer_id, sku, kind, d_on_hand, "
							  "       d_reserved, on_hand, reserved, order_id, reason, ref, counted_at, actor) "
							  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)", hold ? 14 : 13, types);
	if (insert_plan == NULL)
		elog(ERROR, "SPI_prepare failed for the stock ledger: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(insert_plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	insert_plan_ext = ext;
	insert_plan_hold = hold;
	return insert_plan;
}

static int32
IntCol(HeapTuple t, TupleDesc desc, const char *name)
{
	bool		isnull;
	Datum		v = heap_getattr(t, SPI_fnumber(desc, name), desc, &isnull);

	return isnull ? 0 : DatumGetInt32(v);
}

/*
 * o2o._stock_ledger(): AFTER INSERT OR UPDATE OR DELETE ON o2o.stock FOR
 * EACH ROW.  Appends the change of on_hand and reserved, if any.
 */
Datum
o2o_stock_ledger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldt = NULL,
				newt = NULL,
				row;
	int32		old_on = 0,
				old_res = 0,
				new_on = 0,
				new_res = 0;
	Datum		v[14];
	char		n[14];
	bool		isnull;
	O2oLedgerKind kind;
	Name		actor;
	Oid			save_user;
	int			save_sec;
	int			rc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event)
		|| !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("o2o._stock_ledger: must be called as an AFTER ROW trigger")));
	desc = RelationGetDescr(td->tg_relation);
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		newt = td->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		oldt = td->tg_trigtuple;
	else
	{
		oldt = td->tg_trigtuple;
		newt = td->tg_newtuple;
	}
	if (oldt != NULL)
	{
		old_on = IntCol(oldt, desc, "on_hand");
		old_res = IntCol(oldt, desc, "reserved");
	}
	if (newt != NULL)
	{
		new_on = IntCol(newt, desc, "on_hand");
		new_res = IntCol(newt, desc, "reserved");
	}
	if (old_on == new_on && old_res == new_res)
		return PointerGetDatum(NULL);
	if (note.skip)
		return PointerGetDatum(NULL);
	/* a row restored from a dump: its entries are restored with the ledger */
	if (!note.set && newt != NULL && oldt == NULL && !check_function_bodies)
		return PointerGetDatum(NULL);

	row = newt != NULL ? newt : oldt;
	kind = note.set ? note.kind : LEDGER_ADJUST;
	memset(n, ' ', sizeof(n));
	v[0] = heap_getattr(row, SPI_fnumber(desc, "region_id"), desc, &isnull);
	v[1] = heap_getattr(row, SPI_fnumber(desc, "dealer_id"), desc, &isnull);
	v[2] = heap_getattr(row, SPI_fnumber(desc, "sku"), desc, &isnull);
	v[3] = CStringGetTextDatum(kind_names[kind]);
	v[4] = Int32GetDatum(new_on - old_on);
	v[5] = Int32GetDatum(new_res - old_res);
	v[6] = Int32GetDatum(new_on);
	v[7] = Int32GetDatum(new_res);
	v[8] = Int64GetDatum(note.set ? note.order_id : -1);
	n[8] = note.set && note.order_id >= 0 ? ' ' : 'n';
	if (note.set && note.reason != NULL)
		v[9] = CStringGetTextDatum(note.reason);
	else if (!note.set)
		v[9] = CStringGetTextDatum(TRIGGER_FIRED_BY_INSERT(td->tg_event) ? "row inserted directly"
								   : TRIGGER_FIRED_BY_DELETE(td->tg_event) ? "row deleted directly"
								   : "row updated directly");
	else
		n[9] = 'n';
	/* a count's document and time are the row's own (o2o_stock_sync sets them) */
	if (note.set && note.ref != NULL)
		v[10] = CStringGetTextDatum(note.ref);
	else if (kind == LEDGER_COUNT && newt != NULL)
	{
		v[10] = heap_getattr(newt, SPI_fnumber(desc, "count_source"), desc, &isnull);
		n[10] = isnull ? 'n' : ' ';
	}
	else
		n[10] = 'n';
	n[11] = 'n';
	if (kind == LEDGER_COUNT && newt != NULL)
	{
		v[11] = heap_getattr(newt, SPI_fnumber(desc, "counted_at"), desc, &isnull);
		n[11] = isnull ? 'n' : ' ';
	}
	/* a name is NAMEDATALEN bytes, zero-padded: not a C string */
	actor = (Name) palloc0(NAMEDATALEN);
	namestrcpy(actor, GetUserNameFromId(GetOuterUserId(), false));
	v[12] = NameGetDatum(actor);
	v[13] = Int64GetDatum(note.set ? note.hold_id : -1);
	n[13] = note.set && note.hold_id >= 0 ? ' ' : 'n';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(td->tg_relation->rd_rel->relowner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	rc = SPI_execute_plan(InsertPlan(td->tg_relation), v, n, false, 0);
	SetUserIdAndSecContext(save_user, save_sec);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "appending to the stock ledger failed: %s", SPI_result_code_string(rc));
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * o2o._feed_stamp(): BEFORE INSERT ON o2o.stock_feed FOR EACH ROW.  Who fed
 * the row (it is applied with that role's rights, whoever applies the
 * feed), and a fresh row's state: every row starts new.
 */
Datum
o2o_feed_stamp(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			cols[4];
	Datum		v[4];
	bool		nulls[4] = {false, true, true, true};

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event)
		|| !TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("o2o._feed_stamp: must be called as a BEFORE ROW INSERT trigger")));
	desc = RelationGetDescr(td->tg_relation);
	cols[0] = SPI_fnumber(desc, "fed_by");
	cols[1] = SPI_fnumber(desc, "outcome");
	cols[2] = SPI_fnumber(desc, "reason");
	cols[3] = SPI_fnumber(desc, "applied_at");
	for (int i = 0; i < 4; i++)
		if (cols[i] <= 0)
			elog(ERROR, "o2o.stock_feed has no column number %d of the stamp", i);
	v[0] = ObjectIdGetDatum(GetOuterUserId());
	v[1] = v[2] = v[3] = (Datum) 0;
	return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple, desc, 4, cols, v, nulls));
}
