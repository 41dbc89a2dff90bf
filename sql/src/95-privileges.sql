
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

/*
 * Stock comes in through SECURITY DEFINER functions that check, row by
 * row, that the caller may sync the dealer (o2o.dealer_login, or UPDATE on
 * o2o.stock): the DBA grants EXECUTE to the integration and dealer roles.
 * A dealer's login reads its own rows through o2o.dealer_stock and
 * o2o.dealer_stock_ledger, which filter by the current role; they need
 * USAGE on schema o2o and SELECT on those views, nothing else.
 */
REVOKE EXECUTE ON FUNCTION @extschema@.o2o_stock_sync(int, jsonb, timestamptz, text, boolean, boolean),
	@extschema@.o2o_stock_apply_feed(boolean, boolean, int), @extschema@.o2o_stock_check_feed() FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE @extschema@.o2o_stock_apply(boolean, boolean, int, bigint, bigint, bigint, bigint, bigint) FROM PUBLIC;

/*
 * A checkout hold reserves like an order: EXECUTE on o2o_hold,
 * o2o_release_hold and o2o_expire_holds is granted with the routing
 * functions.  The promise reads only: PUBLIC may ask it.
 */
REVOKE EXECUTE ON FUNCTION @extschema@.o2o_hold(text, geometry, int, interval),
	@extschema@.o2o_release_hold(bigint), @extschema@.o2o_expire_holds(int) FROM PUBLIC;

/*
 * Tracking: the application (or the dealer's delivery app) reports
 * progress and shows the tracking page; a consumer reads the outbox.  All
 * three run as the extension's owner and are granted by the DBA: the
 * timeline names buyers' orders, so PUBLIC reads none of it.
 */
REVOKE EXECUTE ON FUNCTION @extschema@.o2o_progress(bigint, text, timestamptz, timestamptz, text, date, text, int),
	@extschema@.o2o_track(bigint), @extschema@.o2o_events(pg_snapshot, pg_snapshot) FROM PUBLIC;
