-- stands alone: make installcheck REGRESS=lifecycle
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
--
-- The order's life cycle, in one place (src/orderstate.c): which step is
-- allowed in which status, and the status it leads to.  o2o_assign and the
-- SQL life-cycle functions (o2o_decline, o2o_cancel, o2o_complete) all ask
-- it; test/sql/assign.sql drives the functions themselves.
--
CREATE FUNCTION pg_temp.step(status text, step text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN o2o._order_step(7, status, step);
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT s.status, st.step, pg_temp.step(s.status, st.step) AS after
  FROM unnest(ARRAY['pending', 'assigned', 'unassignable', 'cancelled', 'completed']) WITH ORDINALITY s(status, i),
	   unnest(ARRAY['o2o_assign', 'o2o_decline', 'o2o_cancel', 'o2o_complete', 'o2o_stock_sync']) WITH ORDINALITY st(step, j)
 ORDER BY s.i, st.j;
-- the refusal names the order and its status in the detail too
\set VERBOSITY default
SELECT o2o._order_step(7, 'pending', 'o2o_decline');
SELECT o2o._order_step(7, 'cancelled', 'o2o_cancel');
-- names it does not know are internal errors (the status column's check
-- constraint allows no other status)
SELECT pg_temp.step('lost', 'o2o_cancel') LIKE 'XX000%' AS unknown_status;
SELECT pg_temp.step('pending', 'o2o_teleport') LIKE 'XX000%' AS unknown_step;
SELECT o2o._order_step(7, NULL, 'o2o_cancel') IS NULL AS strict;
