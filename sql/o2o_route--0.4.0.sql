/* o2o_route--0.4.0.sql: the data model of o2o_route, grid membership, coverage, assignment, pricing */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION o2o_route CASCADE" to load this file. \quit

/*
 * Functions callable by applications live in the extension's schema
 * (@extschema@, normally public) so that they work unqualified.  The tables
 * and the internal trigger functions live in schema o2o, which belongs to
 * the extension and is dropped with it.
 *
 * Internal PL/pgSQL functions pin their search_path to the one in force
 * while this script runs: the extension's schema followed by the schemas of
 * the required extensions (PostGIS, btree_gist), wherever they were
 * installed.
 */
CREATE SCHEMA o2o;
COMMENT ON SCHEMA o2o IS 'o2o_route: grids, dealers, stock, installers, orders and their routing history';

CREATE FUNCTION o2o_route_version() RETURNS text
	AS 'MODULE_PATHNAME', 'o2o_route_version'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_route_version() IS
	'version of the loaded o2o_route library; errors (SQLSTATE 55000) if it differs from the installed SQL version';

------------------------------------------------------------------------
-- grid: the service grids that tile the country
------------------------------------------------------------------------
CREATE TABLE o2o.grid (
	grid_id		int PRIMARY KEY,
	code		text NOT NULL UNIQUE,
	name		text NOT NULL,
	province	text NOT NULL,
	city		text NOT NULL,
	county		text NOT NULL,
	region_id	int NOT NULL,
	climate		text NOT NULL,
	geom		geometry(MultiPolygon, 4326) NOT NULL,
	CONSTRAINT grid_climate_check CHECK (climate IN ('north', 'south')),
	CONSTRAINT grid_geom_not_empty CHECK (NOT ST_IsEmpty(geom)),
	CONSTRAINT grid_geom_valid CHECK (ST_IsValid(geom)),
	CONSTRAINT grid_geom_lonlat CHECK (ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180
									   AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90)
);
CREATE INDEX grid_geom_gist ON o2o.grid USING gist (geom);
CREATE INDEX grid_region_idx ON o2o.grid (region_id);
COMMENT ON TABLE o2o.grid IS 'service grids: valid polygons (SRID 4326) that tile the country; region_id is the province';

------------------------------------------------------------------------
-- dealer: offline dealers; grid_id and region_id are derived from location
------------------------------------------------------------------------
CREATE TABLE o2o.dealer (
	dealer_id	int PRIMARY KEY,
	name		text NOT NULL,
	kind		text NOT NULL,
	location	geometry(Point, 4326) NOT NULL,
	grid_id		int REFERENCES o2o.grid,
	region_id	int,
	service_radius_m float8 NOT NULL DEFAULT 30000,
	active		boolean NOT NULL DEFAULT true,
	CONSTRAINT dealer_kind_check CHECK (kind IN ('agent', 'retailer', 'service_center')),
	CONSTRAINT dealer_location_not_empty CHECK (NOT ST_IsEmpty(location)),
	CONSTRAINT dealer_location_lonlat CHECK (ST_X(location) BETWEEN -180 AND 180
											 AND ST_Y(location) BETWEEN -90 AND 90),
	CONSTRAINT dealer_service_radius_check CHECK (service_radius_m > 0 AND service_radius_m <= 1000000)
);
CREATE INDEX dealer_location_gist ON o2o.dealer USING gist (location);
CREATE INDEX dealer_grid_idx ON o2o.dealer (grid_id);
CREATE INDEX dealer_region_idx ON o2o.dealer (region_id);
COMMENT ON TABLE o2o.dealer IS 'offline dealers; grid_id and region_id are derived from location on every insert and move';

------------------------------------------------------------------------
-- product and its national price
------------------------------------------------------------------------
CREATE TABLE o2o.product (
	sku			text PRIMARY KEY,
	name		text NOT NULL,
	category	text NOT NULL,
	needs_install boolean NOT NULL,
	climates	text[],
	CONSTRAINT product_category_check CHECK (category IN ('fridge', 'washer', 'ac', 'water_heater',
														  'range_hood', 'purifier')),
	CONSTRAINT product_climates_check CHECK (climates IS NULL
											 OR (cardinality(climates) > 0
												 AND climates <@ ARRAY['north', 'south']))
);
CREATE INDEX product_category_idx ON o2o.product (category);
COMMENT ON TABLE o2o.product IS 'appliance models; climates NULL means sold everywhere';

CREATE TABLE o2o.national_price (
	sku			text NOT NULL REFERENCES o2o.product,
	price		numeric(12, 2) NOT NULL,
	valid_from	timestamptz NOT NULL,
	valid_to	timestamptz,
	PRIMARY KEY (sku, valid_from),
	CONSTRAINT national_price_positive CHECK (price > 0),
	CONSTRAINT national_price_period_check CHECK (valid_to IS NULL OR valid_to > valid_from),
	CONSTRAINT national_price_no_overlap
		EXCLUDE USING gist (sku WITH =, tstzrange(valid_from, valid_to, '[)') WITH &&)
);
COMMENT ON TABLE o2o.national_price IS 'the one online price of a SKU over [valid_from, valid_to); periods of one SKU never overlap';

------------------------------------------------------------------------
-- stock and installers, per dealer
------------------------------------------------------------------------
CREATE TABLE o2o.stock (
	dealer_id	int NOT NULL REFERENCES o2o.dealer,
	sku			text NOT NULL REFERENCES o2o.product,
	on_hand		int NOT NULL DEFAULT 0,
	reserved	int NOT NULL DEFAULT 0,
	region_id	int NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	grid_id		int,
	PRIMARY KEY (dealer_id, sku),
	CONSTRAINT stock_on_hand_check CHECK (on_hand >= 0),
	CONSTRAINT stock_reserved_check CHECK (reserved >= 0 AND reserved <= on_hand)
) WITH (fillfactor = 90);
CREATE INDEX stock_sku_idx ON o2o.stock (sku);
CREATE INDEX stock_sku_grid_idx ON o2o.stock (sku, grid_id) INCLUDE (dealer_id);
COMMENT ON TABLE o2o.stock IS 'units per dealer and SKU; 0 <= reserved <= on_hand always holds';

CREATE TABLE o2o.installer (
	installer_id int PRIMARY KEY,
	dealer_id	int NOT NULL REFERENCES o2o.dealer,
	name		text NOT NULL,
	skills		text[] NOT NULL,
	daily_capacity int NOT NULL,
	active		boolean NOT NULL DEFAULT true,
	region_id	int NOT NULL,
	CONSTRAINT installer_skills_check CHECK (cardinality(skills) > 0
											 AND skills <@ ARRAY['fridge', 'washer', 'ac', 'water_heater',
																 'range_hood', 'purifier']),
	CONSTRAINT installer_capacity_check CHECK (daily_capacity > 0)
);
CREATE INDEX installer_dealer_idx ON o2o.installer (dealer_id);
COMMENT ON TABLE o2o.installer IS 'installers of a dealer: the categories they can install and how many jobs a day';

------------------------------------------------------------------------
-- installer bookings: jobs per installer per day, never past capacity
------------------------------------------------------------------------
CREATE TABLE o2o.installer_day (
	installer_id int NOT NULL REFERENCES o2o.installer,
	day			date NOT NULL,
	booked		int NOT NULL DEFAULT 0,
	region_id	int,
	PRIMARY KEY (installer_id, day),
	CONSTRAINT installer_day_booked_check CHECK (booked >= 0)
);
COMMENT ON TABLE o2o.installer_day IS 'open jobs booked per installer and day; booked never exceeds the installer''s daily_capacity';

CREATE FUNCTION o2o._installer_day_check() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_installer_day_check'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._installer_day_check() IS 'internal trigger: refuse bookings past an installer''s daily capacity; region from the dealer';

CREATE TRIGGER installer_day_check BEFORE INSERT OR UPDATE ON o2o.installer_day
	FOR EACH ROW EXECUTE FUNCTION o2o._installer_day_check();

------------------------------------------------------------------------
-- orders, assignments, events
------------------------------------------------------------------------
CREATE TABLE o2o.orders (
	order_id	bigserial PRIMARY KEY,
	sku			text NOT NULL REFERENCES o2o.product,
	qty			int NOT NULL DEFAULT 1,
	location	geometry(Point, 4326) NOT NULL,
	address		text,
	unit_price	numeric(12, 2),
	origin_dealer_id int REFERENCES o2o.dealer,
	region_id	int,
	grid_id		int REFERENCES o2o.grid,
	status		text NOT NULL DEFAULT 'pending',
	status_reason text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	promised_date date,
	CONSTRAINT orders_qty_check CHECK (qty > 0),
	CONSTRAINT orders_unit_price_check CHECK (unit_price > 0),
	CONSTRAINT orders_status_check CHECK (status IN ('pending', 'assigned', 'unassignable',
													 'cancelled', 'completed')),
	CONSTRAINT orders_location_not_empty CHECK (NOT ST_IsEmpty(location)),
	CONSTRAINT orders_location_lonlat CHECK (ST_X(location) BETWEEN -180 AND 180
											 AND ST_Y(location) BETWEEN -90 AND 90)
);
CREATE INDEX orders_location_gist ON o2o.orders USING gist (location);
CREATE INDEX orders_pending_idx ON o2o.orders (order_id) WHERE status = 'pending';
CREATE INDEX orders_grid_idx ON o2o.orders (grid_id);
CREATE INDEX orders_region_idx ON o2o.orders (region_id);
COMMENT ON TABLE o2o.orders IS 'online orders; grid_id and region_id are derived from the delivery location (NULL outside every grid)';

CREATE TABLE o2o.assignment (
	assignment_id bigserial PRIMARY KEY,
	order_id	bigint NOT NULL REFERENCES o2o.orders,
	dealer_id	int NOT NULL REFERENCES o2o.dealer,
	installer_id int REFERENCES o2o.installer,
	grid_id		int REFERENCES o2o.grid,
	cross_grid	boolean NOT NULL DEFAULT false,
	distance_m	float8,
	score		float8,
	detail		jsonb,
	state		text NOT NULL DEFAULT 'active',
	reason		text,
	region_id	int NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	ended_at	timestamptz,
	install_day date,
	qty			int NOT NULL DEFAULT 1,
	CONSTRAINT assignment_state_check CHECK (state IN ('active', 'declined', 'released', 'completed')),
	CONSTRAINT assignment_distance_check CHECK (distance_m >= 0),
	CONSTRAINT assignment_ended_check CHECK ((state = 'active') = (ended_at IS NULL)),
	CONSTRAINT assignment_qty_check CHECK (qty > 0)
);
CREATE UNIQUE INDEX assignment_one_active ON o2o.assignment (order_id) WHERE state = 'active';
CREATE INDEX assignment_order_idx ON o2o.assignment (order_id);
CREATE INDEX assignment_dealer_active_idx ON o2o.assignment (dealer_id) WHERE state = 'active';
COMMENT ON TABLE o2o.assignment IS 'one row per routing attempt of an order; at most one active row per order';

CREATE TABLE o2o.order_event (
	event_id	bigserial PRIMARY KEY,
	order_id	bigint NOT NULL REFERENCES o2o.orders,
	region_id	int,
	event		text NOT NULL,
	status		text NOT NULL,
	detail		jsonb,
	at			timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX order_event_order_idx ON o2o.order_event (order_id, event_id);
COMMENT ON TABLE o2o.order_event IS 'append-only status history of each order, for real-time tracking';

------------------------------------------------------------------------
-- derivations and guards
------------------------------------------------------------------------

CREATE FUNCTION o2o._dealer_derive() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	-- a location that is empty or out of the lon/lat range is left to the
	-- dealer_location_* check constraints
	IF ST_X(NEW.location) BETWEEN -180 AND 180 AND ST_Y(NEW.location) BETWEEN -90 AND 90 THEN
		NEW.grid_id := o2o_grid_of(NEW.location);
		IF NEW.grid_id IS NULL THEN
			RAISE EXCEPTION 'dealer location is outside every service grid'
				USING ERRCODE = 'O2001',
					  DETAIL = format('Dealer %s is at %s, which no row of o2o.grid covers.',
									  NEW.dealer_id, ST_AsText(NEW.location));
		END IF;
		SELECT g.region_id INTO NEW.region_id FROM o2o.grid g WHERE g.grid_id = NEW.grid_id;
	ELSE
		NEW.grid_id := NULL;
		NEW.region_id := NULL;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION o2o._dealer_derive() IS 'internal trigger: derive dealer.grid_id and region_id from location';

CREATE TRIGGER dealer_derive
	BEFORE INSERT OR UPDATE OF location, grid_id, region_id ON o2o.dealer
	FOR EACH ROW EXECUTE FUNCTION o2o._dealer_derive();

/* A dealer that moved to another region takes its stock and installers along. */
CREATE FUNCTION o2o._dealer_region_moved() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	UPDATE o2o.stock SET region_id = NEW.region_id, grid_id = NEW.grid_id WHERE dealer_id = NEW.dealer_id;
	UPDATE o2o.installer SET region_id = NEW.region_id WHERE dealer_id = NEW.dealer_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION o2o._dealer_region_moved() IS 'internal trigger: keep region_id (and grid_id) of stock and installers equal to their dealer''s';

CREATE TRIGGER dealer_region_moved
	AFTER UPDATE OF grid_id, region_id ON o2o.dealer
	FOR EACH ROW WHEN (OLD.region_id IS DISTINCT FROM NEW.region_id OR OLD.grid_id IS DISTINCT FROM NEW.grid_id)
	EXECUTE FUNCTION o2o._dealer_region_moved();

/*
 * After grids are added or reshaped, re-derive the grid of the dealers and
 * open orders they cover (or covered).  One pass per statement, over the
 * transition tables, so that reloading every grid costs one index rebuild.
 */
CREATE FUNCTION o2o._grid_reshaped() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
DECLARE
	-- the shapes, before and after, of the grids that changed
	changed text := CASE TG_OP WHEN 'UPDATE' THEN
		'(SELECT unnest(ARRAY[o.geom, n.geom]) AS geom
			FROM old_grids o JOIN new_grids n USING (grid_id)
		   WHERE o.geom IS DISTINCT FROM n.geom OR o.region_id IS DISTINCT FROM n.region_id)'
		ELSE 'new_grids' END;
BEGIN
	EXECUTE format('UPDATE o2o.dealer d SET location = d.location FROM %s r
					 WHERE ST_Covers(r.geom, d.location)', changed);
	EXECUTE format('UPDATE o2o.orders o SET location = o.location FROM %s r
					 WHERE o.status IN (''pending'', ''unassignable'')
					   AND ST_Covers(r.geom, o.location)', changed);
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
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	IF ST_X(NEW.location) BETWEEN -180 AND 180 AND ST_Y(NEW.location) BETWEEN -90 AND 90 THEN
		NEW.grid_id := o2o_grid_of(NEW.location);
		SELECT g.region_id INTO NEW.region_id FROM o2o.grid g WHERE g.grid_id = NEW.grid_id;
	ELSE
		NEW.grid_id := NULL;
		NEW.region_id := NULL;
	END IF;
	RETURN NEW;
END
$$;
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

CREATE TRIGGER stock_derive BEFORE INSERT OR UPDATE OF dealer_id ON o2o.stock
	FOR EACH ROW EXECUTE FUNCTION o2o._stock_derive();
CREATE TRIGGER installer_region BEFORE INSERT OR UPDATE OF dealer_id ON o2o.installer
	FOR EACH ROW EXECUTE FUNCTION o2o._region_from_dealer();
CREATE TRIGGER assignment_region BEFORE INSERT OR UPDATE OF dealer_id ON o2o.assignment
	FOR EACH ROW EXECUTE FUNCTION o2o._region_from_dealer();

CREATE FUNCTION o2o._event_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_event_derive'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._event_derive() IS 'internal trigger: region_id of an order event is its order''s';

CREATE TRIGGER order_event_region BEFORE INSERT ON o2o.order_event
	FOR EACH ROW EXECUTE FUNCTION o2o._event_derive();

CREATE FUNCTION o2o._append_only() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
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

------------------------------------------------------------------------
-- grid membership, in C (src/grid.c, src/gridindex.c)
------------------------------------------------------------------------
CREATE FUNCTION o2o_grid_of(geometry) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_grid_of'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_grid_of(geometry) IS
	'grid covering a point of SRID 4326 (borders included; lowest grid_id where grids share or overlap); NULL outside every grid';

CREATE FUNCTION o2o_grid_of(lon float8, lat float8) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_grid_of_lonlat'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_grid_of(float8, float8) IS
	'grid covering the point (lon, lat) in degrees; same rule as o2o_grid_of(geometry)';

CREATE FUNCTION o2o_grid_nearest(geometry, max_distance_m float8 DEFAULT 5000) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_grid_nearest'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_grid_nearest(geometry, float8) IS
	'grid covering the point, else the grid whose border is nearest within max_distance_m metres (lowest grid_id on ties); NULL when none is that near';

CREATE FUNCTION o2o_grid_index_stats(OUT grids int, OUT vertices bigint, OUT edges bigint,
									 OUT cells bigint, OUT edge_refs bigint,
									 OUT index_bytes bigint, OUT vertex_bytes bigint,
									 OUT build_ms float8)
	RETURNS record
	AS 'MODULE_PATHNAME', 'o2o_grid_index_stats'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION o2o_grid_index_stats() IS
	'the grid index of this backend (built now if missing or stale): size, memory and the duration of its last build';

CREATE FUNCTION o2o._grid_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_grid_changed'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._grid_changed() IS
	'internal trigger: any change to o2o.grid makes every backend rebuild its grid index';

CREATE TRIGGER grid_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.grid
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._grid_changed();

------------------------------------------------------------------------
-- coverage, for BI tools (QGIS can map every view that has geom)
------------------------------------------------------------------------
/*
 * Per grid: its dealers, and what the active ones can serve: active
 * installers of active dealers and their daily capacity, SKUs with units
 * available, and units available (on_hand - reserved).
 */
CREATE VIEW o2o.grid_coverage AS
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
  LEFT JOIN (SELECT dl.grid_id, count(DISTINCT st.sku) AS skus_in_stock,
					sum(st.on_hand - st.reserved) AS units_available
			   FROM o2o.stock st JOIN o2o.dealer dl USING (dealer_id)
			  WHERE dl.active AND st.on_hand > st.reserved GROUP BY dl.grid_id) s USING (grid_id);
COMMENT ON VIEW o2o.grid_coverage IS
	'per grid: dealers, active dealers, active installers and daily install capacity, SKUs in stock and units available (active dealers), geometry';

/*
 * Holes: one row per grid and category that nobody in the grid can supply
 * now: either the grid has no active dealer, or none of its active dealers
 * has a unit of that category available.
 */
CREATE VIEW o2o.grid_holes AS
SELECT g.grid_id, g.code, g.name, g.province, g.city, g.county, g.region_id, c.category,
	   CASE WHEN NOT EXISTS (SELECT 1 FROM o2o.dealer d WHERE d.grid_id = g.grid_id AND d.active)
			THEN 'no active dealer' ELSE 'no stock' END AS reason,
	   g.geom
  FROM o2o.grid g
 CROSS JOIN unnest(ARRAY['fridge', 'washer', 'ac', 'water_heater', 'range_hood', 'purifier']) AS c(category)
 WHERE NOT EXISTS (SELECT 1
					 FROM o2o.dealer d
					 JOIN o2o.stock s ON s.dealer_id = d.dealer_id AND s.on_hand > s.reserved
					 JOIN o2o.product p ON p.sku = s.sku AND p.category = c.category
					WHERE d.grid_id = g.grid_id AND d.active);
COMMENT ON VIEW o2o.grid_holes IS
	'grid and category pairs that no active dealer of the grid can supply now (reason: no active dealer, or no stock)';

/*
 * The storefront's question for one SKU: where is it available, by
 * province, city and county (active dealers with units available, and how
 * many units).  level says which roll-up a row is.
 */
CREATE FUNCTION o2o_stock_rollup(sku text)
	RETURNS TABLE (level text, region_id int, province text, city text, county text,
				   dealers bigint, units_available bigint)
	LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
	SET search_path FROM CURRENT
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
		   count(DISTINCT s.dealer_id), sum(s.on_hand - s.reserved)::bigint
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
COMMENT ON FUNCTION o2o_stock_rollup(text) IS
	'availability of one SKU by province, city and county: active dealers with units available and the units; errors (O2003) for an unknown SKU';

------------------------------------------------------------------------
-- assignment and its life cycle
------------------------------------------------------------------------
CREATE FUNCTION o2o_assign(order_id bigint) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_assign'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION o2o_assign(bigint) IS
	'choose dealer and installer, reserve stock and a slot, record why; returns the dealer, or NULL (order unassignable, reason recorded); idempotent';

CREATE FUNCTION o2o_candidates(order_id bigint, k int DEFAULT 10)
	RETURNS TABLE (rank int, dealer_id int, grid_id int, same_grid boolean, distance_m float8,
				   available int, installer_id int, install_day date, load float8, score float8,
				   score_distance float8, score_stock float8, score_load float8,
				   cross_grid_penalty float8, eligible boolean, reason text)
	AS 'MODULE_PATHNAME', 'o2o_candidates'
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 20;
COMMENT ON FUNCTION o2o_candidates(bigint, int) IS
	'the k best eligible dealers for an order with the parts of their scores, then every dealer filtered out and why; reads only';

CREATE FUNCTION o2o_assign_pending(max int) RETURNS int
	AS 'MODULE_PATHNAME', 'o2o_assign_pending'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION o2o_assign_pending(int) IS
	'assign up to max pending orders, oldest first, skipping orders other sessions hold; returns how many were assigned';

/* Give back what an assignment holds: the reservation (or consume it) and the slot. */
CREATE FUNCTION o2o._release(a o2o.assignment, new_state text, why text, consume boolean)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
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
COMMENT ON FUNCTION o2o._release(o2o.assignment, text, text, boolean) IS
	'internal: release (or consume) an assignment''s stock and free its installer slot';

/* Lock an order for a life-cycle step; unknown orders are an error. */
CREATE FUNCTION o2o._lock_order(p_order_id bigint, step text) RETURNS o2o.orders
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
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
COMMENT ON FUNCTION o2o._lock_order(bigint, text) IS 'internal: lock an order row for a life-cycle step';

CREATE FUNCTION o2o_decline(order_id bigint, reason text) RETURNS int
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path FROM CURRENT
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_decline.order_id, 'o2o_decline');
	a o2o.assignment;
BEGIN
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = o.order_id AND x.state = 'active';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'order % has no active assignment to decline', o.order_id
			USING ERRCODE = 'O2006', DETAIL = format('The order is %s.', o.status);
	END IF;
	PERFORM o2o._release(a, 'declined', o2o_decline.reason, false);
	UPDATE o2o.orders x SET status = 'pending', promised_date = NULL WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'declined', 'pending',
			jsonb_build_object('dealer_id', a.dealer_id, 'reason', o2o_decline.reason));
	RETURN o2o_assign(o.order_id);
END
$$;
COMMENT ON FUNCTION o2o_decline(bigint, text) IS
	'the dealer refuses the order: release its stock and slot, never offer it this order again, assign the next best (returns it, or NULL)';

CREATE FUNCTION o2o_cancel(order_id bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path FROM CURRENT
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_cancel.order_id, 'o2o_cancel');
	a o2o.assignment;
BEGIN
	IF o.status IN ('cancelled', 'completed') THEN
		RAISE EXCEPTION 'order % is already %', o.order_id, o.status
			USING ERRCODE = 'O2006', DETAIL = 'Only a pending, unassignable or assigned order can be cancelled.';
	END IF;
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = o.order_id AND x.state = 'active';
	IF FOUND THEN
		PERFORM o2o._release(a, 'released', 'order cancelled', false);
	END IF;
	UPDATE o2o.orders x SET status = 'cancelled', promised_date = NULL WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'cancelled', 'cancelled', jsonb_build_object('dealer_id', a.dealer_id));
END
$$;
COMMENT ON FUNCTION o2o_cancel(bigint) IS 'cancel an order: release its stock reservation and installer slot';

CREATE FUNCTION o2o_complete(order_id bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path FROM CURRENT
	AS $$
DECLARE
	o o2o.orders := o2o._lock_order(o2o_complete.order_id, 'o2o_complete');
	a o2o.assignment;
BEGIN
	SELECT * INTO a FROM o2o.assignment x WHERE x.order_id = o.order_id AND x.state = 'active';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'order % is %, not assigned', o.order_id, o.status
			USING ERRCODE = 'O2006', DETAIL = 'Only an assigned order can be completed.';
	END IF;
	PERFORM o2o._release(a, 'completed', NULL, true);
	PERFORM o2o._settle(o, a);
	UPDATE o2o.orders x SET status = 'completed' WHERE x.order_id = o.order_id;
	INSERT INTO o2o.order_event (order_id, event, status, detail)
	VALUES (o.order_id, 'completed', 'completed',
			jsonb_build_object('dealer_id', a.dealer_id, 'installer_id', a.installer_id));
END
$$;
COMMENT ON FUNCTION o2o_complete(bigint) IS
	'delivery and installation done: the reserved units leave stock (on_hand and reserved drop), the slot is freed, the settlement is written';

------------------------------------------------------------------------
-- one national price, commissions and settlement
------------------------------------------------------------------------
CREATE FUNCTION o2o_national_price(sku text, at timestamptz DEFAULT now()) RETURNS numeric
	AS 'MODULE_PATHNAME', 'o2o_national_price'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_national_price(text, timestamptz) IS
	'the one online price of a SKU in force at a time (default now); NULL when none is; errors (O2003) for an unknown SKU';

CREATE FUNCTION o2o._table_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_table_changed'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._table_changed() IS
	'internal trigger: any change to a cached table makes every backend rebuild its cache';

-- o2o_assign caches every dealer and installer per backend
CREATE TRIGGER dealer_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.dealer
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._table_changed();

CREATE TRIGGER installer_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.installer
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._table_changed();

CREATE TRIGGER national_price_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.national_price
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._table_changed();

CREATE FUNCTION o2o._orders_price_guard() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_orders_price_guard'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._orders_price_guard() IS
	'internal trigger: an order costs the national price in force at its created_at (filled in when NULL, O2008 when different) and keeps it (O2009)';

-- each order names the price period it was priced under: the period cannot
-- vanish from under it, and pg_dump restores prices before orders
ALTER TABLE o2o.orders ADD COLUMN price_from timestamptz;
ALTER TABLE o2o.orders ADD CONSTRAINT orders_price_period_fkey
	FOREIGN KEY (sku, price_from) REFERENCES o2o.national_price (sku, valid_from);
COMMENT ON COLUMN o2o.orders.price_from IS 'valid_from of the national price period that priced the order (set by the price guard)';

CREATE TRIGGER orders_price_guard
	BEFORE INSERT OR UPDATE OF unit_price, sku, created_at, price_from ON o2o.orders
	FOR EACH ROW EXECUTE FUNCTION o2o._orders_price_guard();

/*
 * The value chain, by category and period: shares of the amount paid for
 * the fulfilling dealer (goods and delivery), the installer (models that
 * need installing) and the store whose QR code brought the order.  The
 * manufacturer keeps the rest.
 */
CREATE TABLE o2o.commission_rule (
	category	text NOT NULL,
	valid_from	timestamptz NOT NULL,
	valid_to	timestamptz,
	dealer_share numeric(6, 4) NOT NULL,
	installer_share numeric(6, 4) NOT NULL DEFAULT 0,
	origin_share numeric(6, 4) NOT NULL DEFAULT 0,
	PRIMARY KEY (category, valid_from),
	CONSTRAINT commission_rule_category_check CHECK (category IN ('fridge', 'washer', 'ac', 'water_heater',
																  'range_hood', 'purifier')),
	CONSTRAINT commission_rule_shares_check CHECK (dealer_share >= 0 AND installer_share >= 0 AND origin_share >= 0
												   AND dealer_share + installer_share + origin_share <= 1),
	CONSTRAINT commission_rule_period_check CHECK (valid_to IS NULL OR valid_to > valid_from),
	CONSTRAINT commission_rule_no_overlap
		EXCLUDE USING gist (category WITH =, tstzrange(valid_from, valid_to, '[)') WITH &&)
);
COMMENT ON TABLE o2o.commission_rule IS 'shares of the amount paid per category and period: fulfilling dealer, installer, origin store; the manufacturer keeps the rest';

CREATE TABLE o2o.settlement (
	settlement_id bigserial PRIMARY KEY,
	order_id	bigint NOT NULL REFERENCES o2o.orders,
	party		text NOT NULL,
	dealer_id	int REFERENCES o2o.dealer,
	installer_id int REFERENCES o2o.installer,
	amount		numeric(12, 2) NOT NULL,
	region_id	int,
	settled_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT settlement_party_check CHECK (party IN ('fulfilling_dealer', 'installer', 'origin_store', 'manufacturer')),
	CONSTRAINT settlement_amount_check CHECK (amount >= 0),
	CONSTRAINT settlement_one_per_party UNIQUE (order_id, party)
);
CREATE INDEX settlement_dealer_idx ON o2o.settlement (dealer_id, settled_at);
COMMENT ON TABLE o2o.settlement IS 'what each party earns from a completed order; the parts add up exactly to the amount paid';

/*
 * Split the amount paid for a completed order: each party's part is its
 * share of the amount, rounded down to the fen; the manufacturer receives
 * the rest, so the parts add up exactly to the amount paid.  The rule is
 * the one in force when the order was placed.
 */
CREATE FUNCTION o2o._settle(o o2o.orders, a o2o.assignment) RETURNS void
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
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
COMMENT ON FUNCTION o2o._settle(o2o.orders, o2o.assignment) IS
	'internal: write the settlement of a completed order (parts rounded down to the fen, the manufacturer keeps the rest)';

CREATE VIEW o2o.dealer_earnings_monthly AS
SELECT s.dealer_id, date_trunc('month', s.settled_at)::date AS month,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'fulfilling_dealer'), 0) AS as_fulfiller,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'installer'), 0) AS as_installer,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'origin_store'), 0) AS as_origin_store,
	   sum(s.amount) AS total,
	   count(DISTINCT s.order_id) AS orders
  FROM o2o.settlement s
 WHERE s.dealer_id IS NOT NULL
 GROUP BY s.dealer_id, date_trunc('month', s.settled_at)::date;
COMMENT ON VIEW o2o.dealer_earnings_monthly IS
	'per dealer and month: earnings as fulfilling dealer, from its installers'' fees, as the origin store of orders, in total';

CREATE VIEW o2o.price_history AS
SELECT n.sku, p.name, p.category, n.valid_from, n.valid_to, n.price,
	   lag(n.price) OVER w AS previous_price,
	   round(100 * (n.price - lag(n.price) OVER w) / lag(n.price) OVER w, 2) AS change_pct
  FROM o2o.national_price n JOIN o2o.product p USING (sku)
WINDOW w AS (PARTITION BY n.sku ORDER BY n.valid_from);
COMMENT ON VIEW o2o.price_history IS 'the national price of each SKU over time, with the change from the previous period';

------------------------------------------------------------------------
-- set-wise ranking and balance, as parallel-safe C aggregates (src/agg.c)
------------------------------------------------------------------------
--
-- Parallel-safe routing aggregates (internal state, with combine and
-- serialize/deserialize support so they can run as partial aggregates).
--
-- The transition and combine functions are not STRICT: with an "internal"
-- state they must create the state themselves and see NULL inputs.  Final,
-- serialize and deserialize functions are STRICT: a NULL state means
-- "no rows" and maps to a NULL result.
--

-- o2o_best(id, score): id with the highest score

CREATE FUNCTION o2o._best_transfn(internal, bigint, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_best_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._best_finalfn(internal)
RETURNS bigint
AS 'MODULE_PATHNAME', 'o2o_best_finalfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._best_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_best_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._best_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'o2o_best_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._best_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_best_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE o2o_best(id bigint, score double precision) (
	SFUNC = o2o._best_transfn,
	STYPE = internal,
	FINALFUNC = o2o._best_finalfn,
	COMBINEFUNC = o2o._best_combinefn,
	SERIALFUNC = o2o._best_serialfn,
	DESERIALFUNC = o2o._best_deserialfn,
	PARALLEL = SAFE
);

COMMENT ON FUNCTION o2o._best_transfn(internal, bigint, double precision) IS
'transition function for o2o_best';
COMMENT ON FUNCTION o2o._best_finalfn(internal) IS
'final function for o2o_best';
COMMENT ON FUNCTION o2o._best_combinefn(internal, internal) IS
'combine function for o2o_best (parallel aggregation)';
COMMENT ON FUNCTION o2o._best_serialfn(internal) IS
'serialize function for o2o_best (parallel aggregation)';
COMMENT ON FUNCTION o2o._best_deserialfn(bytea, internal) IS
'deserialize function for o2o_best (parallel aggregation)';
COMMENT ON AGGREGATE o2o_best(bigint, double precision) IS
'id with the highest score; ties go to the smallest id; rows with NULL id or score are ignored; NULL if no rows; a NaN score is an error';

-- o2o_topk(id, score, k): ids of the k highest scores, best first

CREATE FUNCTION o2o._topk_transfn(internal, bigint, double precision, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_topk_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._topk_finalfn(internal)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'o2o_topk_finalfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._topk_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_topk_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._topk_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'o2o_topk_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._topk_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_topk_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE o2o_topk(id bigint, score double precision, k integer) (
	SFUNC = o2o._topk_transfn,
	STYPE = internal,
	FINALFUNC = o2o._topk_finalfn,
	COMBINEFUNC = o2o._topk_combinefn,
	SERIALFUNC = o2o._topk_serialfn,
	DESERIALFUNC = o2o._topk_deserialfn,
	PARALLEL = SAFE
);

COMMENT ON FUNCTION o2o._topk_transfn(internal, bigint, double precision, integer) IS
'transition function for o2o_topk';
COMMENT ON FUNCTION o2o._topk_finalfn(internal) IS
'final function for o2o_topk';
COMMENT ON FUNCTION o2o._topk_combinefn(internal, internal) IS
'combine function for o2o_topk (parallel aggregation)';
COMMENT ON FUNCTION o2o._topk_serialfn(internal) IS
'serialize function for o2o_topk (parallel aggregation)';
COMMENT ON FUNCTION o2o._topk_deserialfn(bytea, internal) IS
'deserialize function for o2o_topk (parallel aggregation)';
COMMENT ON AGGREGATE o2o_topk(bigint, double precision, integer) IS
'ids of the k highest scores, best first (score desc, id asc); rows with NULL id or score are ignored; k must be 1..10000 and equal on every row of a group; NULL if no rows; a NaN score is an error';

-- o2o_fairness(load): Jain's fairness index

CREATE FUNCTION o2o._fairness_transfn(internal, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_fairness_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._fairness_finalfn(internal)
RETURNS double precision
AS 'MODULE_PATHNAME', 'o2o_fairness_finalfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._fairness_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_fairness_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION o2o._fairness_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'o2o_fairness_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION o2o._fairness_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'o2o_fairness_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE o2o_fairness(load double precision) (
	SFUNC = o2o._fairness_transfn,
	STYPE = internal,
	FINALFUNC = o2o._fairness_finalfn,
	COMBINEFUNC = o2o._fairness_combinefn,
	SERIALFUNC = o2o._fairness_serialfn,
	DESERIALFUNC = o2o._fairness_deserialfn,
	PARALLEL = SAFE
);

COMMENT ON FUNCTION o2o._fairness_transfn(internal, double precision) IS
'transition function for o2o_fairness';
COMMENT ON FUNCTION o2o._fairness_finalfn(internal) IS
'final function for o2o_fairness';
COMMENT ON FUNCTION o2o._fairness_combinefn(internal, internal) IS
'combine function for o2o_fairness (parallel aggregation)';
COMMENT ON FUNCTION o2o._fairness_serialfn(internal) IS
'serialize function for o2o_fairness (parallel aggregation)';
COMMENT ON FUNCTION o2o._fairness_deserialfn(bytea, internal) IS
'deserialize function for o2o_fairness (parallel aggregation)';
COMMENT ON AGGREGATE o2o_fairness(double precision) IS
'Jain''s fairness index (sum x)^2 / (n * sum x^2) over non-NULL loads; 1.0 if all loads are zero; NULL if no rows; a negative, NaN or infinite load is an error';

------------------------------------------------------------------------
-- pg_dump keeps the rows of every table and the state of every sequence
------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('o2o.grid', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.dealer', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.product', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.national_price', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.stock', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.installer', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.installer_day', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.commission_rule', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.settlement', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.settlement_settlement_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.orders', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.orders_order_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.assignment', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.assignment_assignment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.order_event', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.order_event_event_id_seq', '');
