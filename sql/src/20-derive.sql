------------------------------------------------------------------------
-- derivations and guards
------------------------------------------------------------------------

/*
 * Every derived column is derived in C, in one place (src/triggers.c): the
 * grid and region of dealers and orders from their location, the region
 * (and grid) of dealer-owned rows from their dealer, of events from their
 * order.
 */
CREATE FUNCTION o2o._dealer_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_dealer_derive'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._dealer_derive() IS 'internal trigger: derive dealer.grid_id and region_id from location';

CREATE TRIGGER dealer_derive
	BEFORE INSERT OR UPDATE OF location, grid_id, region_id ON o2o.dealer
	FOR EACH ROW EXECUTE FUNCTION o2o._dealer_derive();

/* A dealer that moved to another region takes its stock and installers along. */
CREATE FUNCTION o2o._dealer_region_moved() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_dealer_moved'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._dealer_region_moved() IS 'internal trigger: keep region_id (and grid_id) of stock and installers equal to their dealer''s';

-- no column list: a move sets only location, and the grid and region follow
CREATE TRIGGER dealer_region_moved
	AFTER UPDATE ON o2o.dealer
	FOR EACH ROW WHEN (OLD.region_id IS DISTINCT FROM NEW.region_id OR OLD.grid_id IS DISTINCT FROM NEW.grid_id)
	EXECUTE FUNCTION o2o._dealer_region_moved();

/*
 * After grids are added or reshaped, re-derive the grid of the dealers and
 * open orders they cover (or covered).  One pass per statement, over the
 * transition tables, so that reloading every grid costs one index rebuild.
 */
CREATE FUNCTION o2o._grid_reshaped() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- PostGIS's functions and operators, qualified: the search_path is pg_catalog's
	postgis name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
					  WHERE e.extname = 'postgis');
	-- the shapes, before and after, of the grids that changed
	changed text := CASE TG_OP WHEN 'UPDATE' THEN
		format('(SELECT unnest(ARRAY[o.geom, n.geom]) AS geom
				   FROM old_grids o JOIN new_grids n USING (grid_id)
				  WHERE NOT o.geom OPERATOR(%I.=) n.geom OR o.region_id IS DISTINCT FROM n.region_id)', postgis)
		ELSE 'new_grids' END;
BEGIN
	EXECUTE format('UPDATE o2o.dealer d SET location = d.location FROM %s r
					 WHERE %I.st_covers(r.geom, d.location)', changed, postgis);
	EXECUTE format('UPDATE o2o.orders o SET location = o.location FROM %s r
					 WHERE o.status IN (''pending'', ''unassignable'')
					   AND %I.st_covers(r.geom, o.location)', changed, postgis);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION o2o._grid_reshaped() IS 'internal trigger: re-derive dealer and open-order grids after grids are added or reshaped';

CREATE TRIGGER grid_reshaped
	AFTER UPDATE ON o2o.grid
	REFERENCING OLD TABLE AS old_grids NEW TABLE AS new_grids
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._grid_reshaped();
CREATE TRIGGER grid_added
	AFTER INSERT ON o2o.grid
	REFERENCING NEW TABLE AS new_grids
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._grid_reshaped();

CREATE FUNCTION o2o._order_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_order_derive'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._order_derive() IS 'internal trigger: derive orders.grid_id and region_id from the delivery location';

CREATE TRIGGER orders_derive
	BEFORE INSERT OR UPDATE OF location ON o2o.orders
	FOR EACH ROW EXECUTE FUNCTION o2o._order_derive();

/* stock, installers and assignments live in their dealer's region */
CREATE FUNCTION o2o._region_from_dealer() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_region_from_dealer'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._region_from_dealer() IS 'internal trigger: region_id of a dealer-owned row is its dealer''s';

/* stock rows carry their dealer's region and grid (for the lookups of o2o_assign) */
CREATE FUNCTION o2o._stock_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_stock_derive'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._stock_derive() IS 'internal trigger: region_id and grid_id of a stock row are its dealer''s';

-- also when an UPDATE sets the derived columns themselves: they follow the
-- dealer whatever the statement says (UPDATEs of other columns, such as a
-- reservation's, do not fire them)
CREATE TRIGGER stock_derive BEFORE INSERT OR UPDATE OF dealer_id, region_id, grid_id ON o2o.stock
	FOR EACH ROW EXECUTE FUNCTION o2o._stock_derive();
CREATE TRIGGER installer_region BEFORE INSERT OR UPDATE OF dealer_id, region_id ON o2o.installer
	FOR EACH ROW EXECUTE FUNCTION o2o._region_from_dealer();
CREATE TRIGGER assignment_region BEFORE INSERT OR UPDATE OF dealer_id, region_id ON o2o.assignment
	FOR EACH ROW EXECUTE FUNCTION o2o._region_from_dealer();

CREATE FUNCTION o2o._event_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_event_derive'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._event_derive() IS 'internal trigger: region_id of an order event is its order''s';

CREATE TRIGGER order_event_region BEFORE INSERT ON o2o.order_event
	FOR EACH ROW EXECUTE FUNCTION o2o._event_derive();

CREATE FUNCTION o2o._append_only() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	RAISE EXCEPTION '% is append-only', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME
		USING ERRCODE = 'O2002',
			  DETAIL = format('%s of event %s was refused; the history of an order is never rewritten.',
							  TG_OP, OLD.event_id);
END
$$;
COMMENT ON FUNCTION o2o._append_only() IS 'internal trigger: refuse UPDATE and DELETE on an append-only table';

CREATE TRIGGER order_event_append_only BEFORE UPDATE OR DELETE ON o2o.order_event
	FOR EACH ROW EXECUTE FUNCTION o2o._append_only();

