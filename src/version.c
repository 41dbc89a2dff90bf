/*
 * version.c
 *		o2o_route_version(): the library's version, checked against the SQL
 *		objects installed in the current database.
 *
 * The shared library is not versioned by file name, so after an upgrade of
 * the package the new library can meet SQL objects created by an older
 * script.  Functions whose behaviour depends on the catalog shape call
 * O2oCheckVersion() so that such a mismatch is reported clearly instead of
 * failing in some obscure way later.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "o2o_route.h"
#include "version.h"

PG_FUNCTION_INFO_V1(o2o_route_version);

/*
 * Look an extension up in pg_extension: whether it is installed, its
 * schema and (when version is not NULL) its version, palloc'd.
 */
static bool
ExtensionRow(const char *extname, Oid *schema, char **version)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(extname));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	found = HeapTupleIsValid(tuple);
	if (found)
	{
		*schema = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
		if (version != NULL)
		{
			bool		isnull;
			Datum		d = heap_getattr(tuple, Anum_pg_extension_extversion,
										 RelationGetDescr(rel), &isnull);

			*version = isnull ? NULL : text_to_cstring(DatumGetTextPP(d));
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

void
O2oCheckVersion(void)
{
	char	   *installed = NULL;
	Oid			schema;

	if (!ExtensionRow(O2O_EXTENSION_NAME, &schema, &installed))
		installed = NULL;

	if (installed == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database",
						O2O_EXTENSION_NAME),
				 errhint("Run CREATE EXTENSION %s CASCADE.", O2O_EXTENSION_NAME)));
	if (strcmp(installed, O2O_ROUTE_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s library version %s does not match the installed SQL version %s",
						O2O_EXTENSION_NAME, O2O_ROUTE_VERSION, installed),
				 errdetail("The shared library was built for version %s, but this database has version %s of the extension's SQL objects.",
						   O2O_ROUTE_VERSION, installed),
				 errhint("Run ALTER EXTENSION %s UPDATE, or install the library that matches version %s.",
						 O2O_EXTENSION_NAME, installed)));
	pfree(installed);
}

/*
 * o2o_route_version() returns text
 *
 * The version of the loaded library, after checking that it agrees with the
 * version of the extension installed in this database.
 */
Datum
o2o_route_version(PG_FUNCTION_ARGS)
{
	O2oCheckVersion();
	PG_RETURN_TEXT_P(cstring_to_text(O2O_ROUTE_VERSION));
}
