/*
 * o2o_route 0.4.0 -> 0.5.0: one cache-invalidation trigger, the order's life
 * cycle in one place, every derived column in C, and the security fixes:
 * pinned search paths, exact types where a planted overload could win, the
 * routing functions SECURITY DEFINER and not executable by PUBLIC.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION o2o_route UPDATE TO '0.5.0'" to load this file. \quit

-- o2o.grid uses the trigger every other cached table uses; its own copy goes
DROP TRIGGER grid_changed ON o2o.grid;
-- any change to o2o.grid makes every backend rebuild its grid index
CREATE TRIGGER grid_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.grid
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._table_changed();
DROP FUNCTION o2o._grid_changed();

-- every derived column in C (src/triggers.c); a dealer's stock, installers,
-- bookings and active assignments follow its grid and region whatever the
-- UPDATE set
CREATE OR REPLACE FUNCTION o2o._dealer_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_dealer_derive'
	LANGUAGE C;
CREATE OR REPLACE FUNCTION o2o._order_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_order_derive'
	LANGUAGE C;
CREATE OR REPLACE FUNCTION o2o._dealer_region_moved() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_dealer_moved'
	LANGUAGE C;
DROP TRIGGER dealer_region_moved ON o2o.dealer;
-- no column list: a move sets only location, and the grid and region follow
CREATE TRIGGER dealer_region_moved
	AFTER UPDATE ON o2o.dealer
	FOR EACH ROW WHEN (OLD.region_id IS DISTINCT FROM NEW.region_id OR OLD.grid_id IS DISTINCT FROM NEW.grid_id)
	EXECUTE FUNCTION o2o._dealer_region_moved();

-- derived columns follow the dealer also when an UPDATE sets them
DROP TRIGGER stock_derive ON o2o.stock;
DROP TRIGGER installer_region ON o2o.installer;
DROP TRIGGER assignment_region ON o2o.assignment;
CREATE TRIGGER stock_derive BEFORE INSERT OR UPDATE OF dealer_id, region_id, grid_id ON o2o.stock
	FOR EACH ROW EXECUTE FUNCTION o2o._stock_derive();
CREATE TRIGGER installer_region BEFORE INSERT OR UPDATE OF dealer_id, region_id ON o2o.installer
	FOR EACH ROW EXECUTE FUNCTION o2o._region_from_dealer();
CREATE TRIGGER assignment_region BEFORE INSERT OR UPDATE OF dealer_id, region_id ON o2o.assignment
	FOR EACH ROW EXECUTE FUNCTION o2o._region_from_dealer();
UPDATE o2o.stock s SET region_id = d.region_id, grid_id = d.grid_id
  FROM o2o.dealer d WHERE d.dealer_id = s.dealer_id
   AND (s.region_id, s.grid_id) IS DISTINCT FROM (d.region_id, d.grid_id);
UPDATE o2o.installer i SET region_id = d.region_id
  FROM o2o.dealer d WHERE d.dealer_id = i.dealer_id AND i.region_id IS DISTINCT FROM d.region_id;

-- grid ids are not negative: the C code's lookups keep -1 for "no grid"
ALTER TABLE o2o.grid ADD CONSTRAINT grid_id_not_negative CHECK (grid_id >= 0);

-- the life-cycle functions ask src/orderstate.c whether a step is allowed
CREATE FUNCTION o2o._order_step(order_id bigint, status text, step text) RETURNS text
	AS 'MODULE_PATHNAME', 'o2o_order_step'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o._order_step(bigint, text, text) IS
	'internal: the status of an order after a life-cycle step (o2o_assign, o2o_decline, o2o_cancel, o2o_complete); O2006 when the step is not allowed';
CREATE FUNCTION o2o._active_assignment(o o2o.orders) RETURNS o2o.assignment
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	a o2o.assignment;
BEGIN
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = o.order_id AND x.state = 'active';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'order % is % but has no active assignment', o.order_id, o.status
			USING ERRCODE = 'XX000';
	END IF;
	RETURN a;
END
$$;
COMMENT ON FUNCTION o2o._active_assignment(o2o.orders) IS
	'internal: the active assignment of an assigned order (an internal error if the invariant is broken)';

-- every SQL-language function: search_path pg_catalog, pg_temp; the routing
-- and life-cycle functions run as the owner
CREATE OR REPLACE FUNCTION o2o._grid_reshaped() RETURNS trigger
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
CREATE OR REPLACE FUNCTION o2o._append_only() RETURNS trigger
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
CREATE OR REPLACE FUNCTION o2o_stock_rollup(sku text)
	RETURNS TABLE (level text, region_id int, province text, city text, county text,
				   dealers bigint, units_available bigint)
	LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM o2o.product p WHERE p.sku = o2o_stock_rollup.sku) THEN
		RAISE EXCEPTION 'unknown SKU'
			USING ERRCODE = 'O2003',
				  DETAIL = format('No row of o2o.product has sku %L.', o2o_stock_rollup.sku);
	END IF;
	RETURN QUERY
	SELECT CASE WHEN grouping(g.city) = 1 THEN 'province'
				WHEN grouping(g.county) = 1 THEN 'city' ELSE 'county' END,
		   g.region_id, g.province, g.city, g.county,
		   pg_catalog.count(DISTINCT s.dealer_id), sum(s.on_hand - s.reserved)::bigint
	  FROM o2o.stock s
	  JOIN o2o.dealer d ON d.dealer_id = s.dealer_id AND d.active
	  JOIN o2o.grid g ON g.grid_id = d.grid_id
	 WHERE s.sku = o2o_stock_rollup.sku AND s.on_hand > s.reserved
	 GROUP BY GROUPING SETS ((g.region_id, g.province),
							 (g.region_id, g.province, g.city),
							 (g.region_id, g.province, g.city, g.county))
	 ORDER BY g.province, g.city NULLS FIRST, g.county NULLS FIRST;
END
$$;
CREATE OR REPLACE FUNCTION o2o._release(a o2o.assignment, new_state text, why text, consume boolean)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	UPDATE o2o.stock s
	   SET reserved = s.reserved - a.qty,
		   on_hand = s.on_hand - CASE WHEN consume THEN a.qty ELSE 0 END,
		   updated_at = now()
	  FROM o2o.orders o
	 WHERE o.order_id = a.order_id AND s.dealer_id = a.dealer_id AND s.sku = o.sku;
	IF a.installer_id IS NOT NULL THEN
		UPDATE o2o.installer_day SET booked = booked - 1
		 WHERE installer_id = a.installer_id AND day = a.install_day;
	END IF;
	UPDATE o2o.assignment SET state = new_state, ended_at = now(), reason = why
	 WHERE assignment_id = a.assignment_id;
END
$$;
CREATE OR REPLACE FUNCTION o2o._lock_order(p_order_id bigint, step text) RETURNS o2o.orders
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders;
BEGIN
	IF p_order_id IS NULL THEN
		RAISE EXCEPTION '%: order_id must not be NULL', step USING ERRCODE = '22004';
	END IF;
	SELECT * INTO o FROM o2o.orders WHERE order_id = p_order_id FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown order'
			USING ERRCODE = 'O2005', DETAIL = format('No row of o2o.orders has order_id %s.', p_order_id);
	END IF;
	RETURN o;
END
$$;
CREATE OR REPLACE FUNCTION o2o_decline(order_id bigint, reason text) RETURNS int
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_decline.order_id, 'o2o_decline');
	next_status text := o2o._order_step(o.order_id, o.status, 'o2o_decline');
	a o2o.assignment := o2o._active_assignment(o);
BEGIN
	PERFORM o2o._release(a, 'declined', o2o_decline.reason, false);
	UPDATE o2o.orders x SET status = next_status, promised_date = NULL WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'declined', next_status,
			jsonb_build_object('dealer_id', a.dealer_id, 'reason', o2o_decline.reason));
	RETURN @extschema@.o2o_assign(o.order_id);
END
$$;
CREATE OR REPLACE FUNCTION o2o_cancel(order_id bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_cancel.order_id, 'o2o_cancel');
	next_status text := o2o._order_step(o.order_id, o.status, 'o2o_cancel');
	a o2o.assignment;
BEGIN
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = o.order_id AND x.state = 'active';
	IF FOUND THEN
		PERFORM o2o._release(a, 'released', 'order cancelled', false);
	END IF;
	UPDATE o2o.orders x SET status = next_status, promised_date = NULL WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'cancelled', next_status, jsonb_build_object('dealer_id', a.dealer_id));
END
$$;
CREATE OR REPLACE FUNCTION o2o_complete(order_id bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_complete.order_id, 'o2o_complete');
	next_status text := o2o._order_step(o.order_id, o.status, 'o2o_complete');
	a o2o.assignment := o2o._active_assignment(o);
BEGIN
	PERFORM o2o._release(a, 'completed', NULL, true);
	PERFORM o2o._settle(o, a);
	UPDATE o2o.orders x SET status = next_status WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'completed', next_status,
			jsonb_build_object('dealer_id', a.dealer_id, 'installer_id', a.installer_id));
END
$$;
CREATE OR REPLACE FUNCTION o2o._settle(o o2o.orders, a o2o.assignment) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	cat text;
	r o2o.commission_rule;
	paid numeric(12, 2);
	to_dealer numeric(12, 2) := 0;
	to_installer numeric(12, 2) := 0;
	to_origin numeric(12, 2) := 0;
BEGIN
	SELECT p.category INTO cat FROM o2o.product p WHERE p.sku = o.sku;
	SELECT * INTO r FROM o2o.commission_rule c
	 WHERE c.category = cat AND c.valid_from <= o.created_at
	   AND (c.valid_to IS NULL OR o.created_at < c.valid_to);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no commission rule in force'
			USING ERRCODE = 'O2010',
				  DETAIL = format('Category %s has no commission rule at %s (order %s).', cat, o.created_at, o.order_id);
	END IF;
	IF o.unit_price IS NULL THEN
		RAISE EXCEPTION 'order % has no unit price', o.order_id USING ERRCODE = 'O2007';
	END IF;
	paid := o.unit_price * a.qty;
	to_dealer := trunc(paid * r.dealer_share, 2);
	IF a.installer_id IS NOT NULL THEN
		to_installer := trunc(paid * r.installer_share, 2);
	END IF;
	IF o.origin_dealer_id IS NOT NULL THEN
		to_origin := trunc(paid * r.origin_share, 2);
	END IF;
	INSERT INTO o2o.settlement (order_id, party, dealer_id, installer_id, amount, region_id)
	VALUES (o.order_id, 'fulfilling_dealer', a.dealer_id, NULL, to_dealer, a.region_id);
	IF a.installer_id IS NOT NULL THEN
		INSERT INTO o2o.settlement (order_id, party, dealer_id, installer_id, amount, region_id)
		VALUES (o.order_id, 'installer', a.dealer_id, a.installer_id, to_installer, a.region_id);
	END IF;
	IF o.origin_dealer_id IS NOT NULL THEN
		INSERT INTO o2o.settlement (order_id, party, dealer_id, installer_id, amount, region_id)
		VALUES (o.order_id, 'origin_store', o.origin_dealer_id, NULL, to_origin, a.region_id);
	END IF;
	INSERT INTO o2o.settlement (order_id, party, dealer_id, installer_id, amount, region_id)
	VALUES (o.order_id, 'manufacturer', NULL, NULL, paid - to_dealer - to_installer - to_origin, a.region_id);
END
$$;
ALTER FUNCTION o2o_assign(bigint) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION o2o_assign_pending(int) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- constraints and views bind their operators and functions when created:
-- exact types and pg_catalog names, so that no planted overload is bound
ALTER TABLE o2o.grid DROP CONSTRAINT grid_geom_lonlat,
	ADD CONSTRAINT grid_geom_lonlat CHECK (ST_XMin(geom::box3d) >= float8 '-180' AND ST_XMax(geom::box3d) <= float8 '180'
									   AND ST_YMin(geom::box3d) >= float8 '-90' AND ST_YMax(geom::box3d) <= float8 '90');
ALTER TABLE o2o.dealer DROP CONSTRAINT dealer_location_lonlat,
	ADD CONSTRAINT dealer_location_lonlat CHECK (ST_X(location) BETWEEN float8 '-180' AND float8 '180'
											 AND ST_Y(location) BETWEEN float8 '-90' AND float8 '90');
ALTER TABLE o2o.dealer DROP CONSTRAINT dealer_service_radius_check,
	ADD CONSTRAINT dealer_service_radius_check CHECK (service_radius_m > float8 '0' AND service_radius_m <= float8 '1000000');
ALTER TABLE o2o.product DROP CONSTRAINT product_climates_check,
	ADD CONSTRAINT product_climates_check CHECK (climates IS NULL
											 OR (pg_catalog.cardinality(climates) > 0
												 AND climates OPERATOR(pg_catalog.<@) ARRAY['north', 'south']));
ALTER TABLE o2o.national_price DROP CONSTRAINT national_price_positive,
	ADD CONSTRAINT national_price_positive CHECK (price > numeric '0');
ALTER TABLE o2o.national_price DROP CONSTRAINT national_price_no_overlap,
	ADD CONSTRAINT national_price_no_overlap EXCLUDE USING gist (sku WITH OPERATOR(pg_catalog.=),
							tstzrange(valid_from, valid_to, '[)') WITH OPERATOR(pg_catalog.&&));
ALTER TABLE o2o.installer DROP CONSTRAINT installer_skills_check,
	ADD CONSTRAINT installer_skills_check CHECK (pg_catalog.cardinality(skills) > 0
											 AND skills OPERATOR(pg_catalog.<@) ARRAY['fridge', 'washer', 'ac', 'water_heater',
																 'range_hood', 'purifier']);
ALTER TABLE o2o.orders DROP CONSTRAINT orders_unit_price_check,
	ADD CONSTRAINT orders_unit_price_check CHECK (unit_price > numeric '0');
ALTER TABLE o2o.orders DROP CONSTRAINT orders_location_lonlat,
	ADD CONSTRAINT orders_location_lonlat CHECK (ST_X(location) BETWEEN float8 '-180' AND float8 '180'
											 AND ST_Y(location) BETWEEN float8 '-90' AND float8 '90');
ALTER TABLE o2o.assignment DROP CONSTRAINT assignment_distance_check,
	ADD CONSTRAINT assignment_distance_check CHECK (distance_m >= float8 '0');
ALTER TABLE o2o.commission_rule DROP CONSTRAINT commission_rule_shares_check,
	ADD CONSTRAINT commission_rule_shares_check CHECK (dealer_share >= numeric '0' AND installer_share >= numeric '0'
												   AND origin_share >= numeric '0'
												   AND dealer_share + installer_share + origin_share <= numeric '1');
ALTER TABLE o2o.commission_rule DROP CONSTRAINT commission_rule_no_overlap,
	ADD CONSTRAINT commission_rule_no_overlap EXCLUDE USING gist (category WITH OPERATOR(pg_catalog.=),
							tstzrange(valid_from, valid_to, '[)') WITH OPERATOR(pg_catalog.&&));
ALTER TABLE o2o.settlement DROP CONSTRAINT settlement_amount_check,
	ADD CONSTRAINT settlement_amount_check CHECK (amount >= numeric '0');

CREATE OR REPLACE VIEW o2o.grid_coverage AS
SELECT g.grid_id, g.code, g.name, g.province, g.city, g.county, g.region_id, g.climate,
	   coalesce(d.dealers, 0) AS dealers,
	   coalesce(d.active_dealers, 0) AS active_dealers,
	   coalesce(i.installers, 0) AS installers,
	   coalesce(i.daily_install_capacity, 0) AS daily_install_capacity,
	   coalesce(s.skus_in_stock, 0) AS skus_in_stock,
	   coalesce(s.units_available, 0) AS units_available,
	   g.geom
  FROM o2o.grid g
  LEFT JOIN (SELECT grid_id, count(*) AS dealers, count(*) FILTER (WHERE active) AS active_dealers
			   FROM o2o.dealer GROUP BY grid_id) d USING (grid_id)
  LEFT JOIN (SELECT dl.grid_id, count(*) AS installers, sum(ins.daily_capacity) AS daily_install_capacity
			   FROM o2o.installer ins JOIN o2o.dealer dl USING (dealer_id)
			  WHERE ins.active AND dl.active GROUP BY dl.grid_id) i USING (grid_id)
  LEFT JOIN (SELECT dl.grid_id, pg_catalog.count(DISTINCT st.sku) AS skus_in_stock,
					sum(st.on_hand - st.reserved) AS units_available
			   FROM o2o.stock st JOIN o2o.dealer dl USING (dealer_id)
			  WHERE dl.active AND st.on_hand > st.reserved GROUP BY dl.grid_id) s USING (grid_id);
CREATE OR REPLACE VIEW o2o.grid_holes AS
SELECT g.grid_id, g.code, g.name, g.province, g.city, g.county, g.region_id, c.category,
	   CASE WHEN NOT EXISTS (SELECT 1 FROM o2o.dealer d WHERE d.grid_id = g.grid_id AND d.active)
			THEN 'no active dealer' ELSE 'no stock' END AS reason,
	   g.geom
  FROM o2o.grid g
 CROSS JOIN pg_catalog.unnest(ARRAY['fridge', 'washer', 'ac', 'water_heater', 'range_hood', 'purifier']) AS c(category)
 WHERE NOT EXISTS (SELECT 1
					 FROM o2o.dealer d
					 JOIN o2o.stock s ON s.dealer_id = d.dealer_id AND s.on_hand > s.reserved
					 JOIN o2o.product p ON p.sku = s.sku AND p.category = c.category
					WHERE d.grid_id = g.grid_id AND d.active);
CREATE OR REPLACE VIEW o2o.dealer_earnings_monthly AS
SELECT s.dealer_id, date_trunc('month', s.settled_at)::date AS month,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'fulfilling_dealer'), 0) AS as_fulfiller,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'installer'), 0) AS as_installer,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'origin_store'), 0) AS as_origin_store,
	   sum(s.amount) AS total,
	   pg_catalog.count(DISTINCT s.order_id) AS orders
  FROM o2o.settlement s
 WHERE s.dealer_id IS NOT NULL
 GROUP BY s.dealer_id, date_trunc('month', s.settled_at)::date;
CREATE OR REPLACE VIEW o2o.price_history AS
SELECT n.sku, p.name, p.category, n.valid_from, n.valid_to, n.price,
	   pg_catalog.lag(n.price) OVER w AS previous_price,
	   round(numeric '100' * (n.price - pg_catalog.lag(n.price) OVER w) / pg_catalog.lag(n.price) OVER w, 2) AS change_pct
  FROM o2o.national_price n JOIN o2o.product p USING (sku)
WINDOW w AS (PARTITION BY n.sku ORDER BY n.valid_from);
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
