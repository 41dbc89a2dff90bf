
------------------------------------------------------------------------
-- privileges: nothing that changes state is executable by PUBLIC
------------------------------------------------------------------------
/*
 * EXECUTE on the routing and life-cycle functions is the privilege to
 * route: the DBA grants it to the application's role (README, Privileges).
 * The internal functions of schema o2o are the extension's own.  The
 * read-only functions and the aggregates stay executable by PUBLIC; what
 * they read still needs SELECT on the tables.
 */
REVOKE EXECUTE ON FUNCTION @extschema@.o2o_assign(bigint), @extschema@.o2o_assign_pending(int),
	@extschema@.o2o_decline(bigint, text), @extschema@.o2o_cancel(bigint),
	@extschema@.o2o_complete(bigint) FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA o2o FROM PUBLIC;
