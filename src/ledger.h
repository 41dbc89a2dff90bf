/*
 * ledger.h
 *		The stock ledger: every change of o2o.stock's on_hand or reserved is
 *		appended to o2o.stock_ledger by one AFTER ROW trigger, with the kind
 *		of change and its document taken from a note the writer leaves just
 *		before its statement.  A write without a note (a DBA's UPDATE) is an
 *		adjustment by whoever made it.
 */
#ifndef O2O_LEDGER_H
#define O2O_LEDGER_H

/* the kinds of ledger entries; names in ledger.c */
typedef enum O2oLedgerKind
{
	LEDGER_OPENING = 0,
	LEDGER_COUNT,
	LEDGER_ADJUST,
	LEDGER_RESERVE,
	LEDGER_RELEASE,
	LEDGER_CONSUME,
	LEDGER_NKINDS
} O2oLedgerKind;

/*
 * What the next writes of o2o.stock are: reason and ref must stay valid
 * until O2oLedgerNoteClear() (pass constants or NULL); order_id < 0: none.
 * The note is cleared at the end of every (sub)transaction too.
 */
extern void O2oLedgerNoteSet(O2oLedgerKind kind, const char *reason, const char *ref, int64 order_id);
extern void O2oLedgerNoteClear(void);

/* The checkout hold the noted writes are for (o2o_hold and its release). */
extern void O2oLedgerNoteHold(int64 hold_id);

/* Register the transaction callbacks; from _PG_init. */
extern void O2oLedgerInit(void);

#endif							/* O2O_LEDGER_H */
