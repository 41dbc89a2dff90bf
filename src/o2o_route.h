/*
 * o2o_route.h
 *		Declarations shared by every module of the o2o_route extension.
 */
#ifndef O2O_ROUTE_H
#define O2O_ROUTE_H

#ifndef O2O_ROUTE_VERSION
#error "O2O_ROUTE_VERSION must be defined by the build (see Makefile)"
#endif

/* name of the extension, as in pg_extension.extname and the GUC prefix */
#define O2O_EXTENSION_NAME "o2o_route"

/*
 * The project's own SQLSTATEs, class O2: the one list.  The SQL source
 * raises them by code (ERRCODE = 'O2...'), the C code by these names, and
 * the README's Errors table documents each; test/cluster/reference.sh
 * checks that the three agree.
 */
#define ERRCODE_O2O_OUTSIDE_GRIDS		MAKE_SQLSTATE('O','2','0','0','1')	/* dealer outside every grid */
#define ERRCODE_O2O_APPEND_ONLY			MAKE_SQLSTATE('O','2','0','0','2')	/* UPDATE/DELETE of an event */
#define ERRCODE_O2O_UNKNOWN_SKU			MAKE_SQLSTATE('O','2','0','0','3')	/* no such product */
#define ERRCODE_O2O_OVER_CAPACITY		MAKE_SQLSTATE('O','2','0','0','4')	/* installer day overbooked */
#define ERRCODE_O2O_UNKNOWN_ORDER		MAKE_SQLSTATE('O','2','0','0','5')	/* no such order */
#define ERRCODE_O2O_WRONG_STATE			MAKE_SQLSTATE('O','2','0','0','6')	/* step not allowed in the order's status */
#define ERRCODE_O2O_NO_PRICE			MAKE_SQLSTATE('O','2','0','0','7')	/* no national price in force */
#define ERRCODE_O2O_WRONG_PRICE			MAKE_SQLSTATE('O','2','0','0','8')	/* unit price differs from the national price */
#define ERRCODE_O2O_PRICE_FIXED			MAKE_SQLSTATE('O','2','0','0','9')	/* unit price of an order changed */
#define ERRCODE_O2O_NO_COMMISSION_RULE	MAKE_SQLSTATE('O','2','0','1','0')	/* no commission rule in force (raised in SQL) */
#define ERRCODE_O2O_SYNC_REFUSED		MAKE_SQLSTATE('O','2','0','1','1')	/* an all-or-nothing stock sync with a bad row (raised in SQL) */
#define ERRCODE_O2O_HOLD_MISMATCH		MAKE_SQLSTATE('O','2','0','1','2')	/* unknown hold, or an order unlike its hold (raised in SQL) */
#define ERRCODE_O2O_NO_SLOT				MAKE_SQLSTATE('O','2','0','1','3')	/* no installer free on the day and window asked (raised in SQL) */

#endif							/* O2O_ROUTE_H */
