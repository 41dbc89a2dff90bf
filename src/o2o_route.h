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

/* the extension's own SQLSTATEs, class O2 (see README, Errors) */
#define ERRCODE_O2O_OUTSIDE_GRIDS		MAKE_SQLSTATE('O','2','0','0','1')
#define ERRCODE_O2O_APPEND_ONLY			MAKE_SQLSTATE('O','2','0','0','2')
#define ERRCODE_O2O_UNKNOWN_SKU			MAKE_SQLSTATE('O','2','0','0','3')
#define ERRCODE_O2O_OVER_CAPACITY		MAKE_SQLSTATE('O','2','0','0','4')
#define ERRCODE_O2O_UNKNOWN_ORDER		MAKE_SQLSTATE('O','2','0','0','5')
#define ERRCODE_O2O_WRONG_STATE			MAKE_SQLSTATE('O','2','0','0','6')
#define ERRCODE_O2O_NO_PRICE			MAKE_SQLSTATE('O','2','0','0','7')
#define ERRCODE_O2O_WRONG_PRICE			MAKE_SQLSTATE('O','2','0','0','8')
#define ERRCODE_O2O_PRICE_FIXED			MAKE_SQLSTATE('O','2','0','0','9')

#endif							/* O2O_ROUTE_H */
