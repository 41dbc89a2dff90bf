/*
 * o2o_route.c
 *		Module entry point: the magic block and _PG_init.
 *
 * _PG_init stays small: it asks each module to register what it needs
 * (GUCs, cache callbacks).  Modules are added here as they are written.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "dealercache.h"
#include "grid.h"
#include "guc.h"
#include "ledger.h"
#include "o2o_route.h"
#include "price.h"
#include "shcache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	O2oGucInit();

	/*
	 * Every setting of this extension lives under "o2o_route.".  Reserving
	 * the prefix makes a misspelt setting (SET o2o_route.wieght_load = ...)
	 * an error instead of a silently ignored placeholder.
	 */
	MarkGUCPrefixReserved(O2O_EXTENSION_NAME);

	O2oGridInit();
	O2oPriceInit();
	O2oDealerCacheInit();
	O2oLedgerInit();

	/* preloaded: the grid index and the dealer cache are shared (shcache.c) */
	if (process_shared_preload_libraries_in_progress)
		O2oShCacheRequestShmem();
}
