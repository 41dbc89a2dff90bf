------------------------------------------------------------------------
-- assignment and its life cycle
------------------------------------------------------------------------
/*
 * The functions that change state run as the extension's owner (SECURITY
 * DEFINER, search_path pinned to pg_catalog): an application needs EXECUTE
 * on them (see 95-privileges.sql), not write grants on stock, bookings,
 * assignments and events.
 */
CREATE FUNCTION o2o_assign(order_id bigint) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_assign'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION o2o_assign(bigint) IS
	'choose dealer and installer, reserve stock and a slot, record why; returns the dealer, or NULL (order unassignable, reason recorded); idempotent';

CREATE FUNCTION o2o_candidates(order_id bigint, k int DEFAULT 10)
	RETURNS TABLE (rank int, dealer_id int, grid_id int, same_grid boolean, distance_m float8,
				   available int, installer_id int, install_day date, load float8, score float8,
				   score_distance float8, score_stock float8, score_load float8,
				   cross_grid_penalty float8, eligible boolean, reason text,
				   safety int, stock_counted_at timestamptz)
	AS 'MODULE_PATHNAME', 'o2o_candidates'
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 20;
COMMENT ON FUNCTION o2o_candidates(bigint, int) IS
	'the k best eligible dealers for an order with the parts of their scores, then every dealer filtered out and why; reads only';

CREATE FUNCTION o2o_assign_pending(max int) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_assign_pending'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION o2o_assign_pending(int) IS
	'assign up to max pending orders, oldest first, skipping orders other sessions hold; returns how many were assigned';

