/* o2o_route--0.1.0.sql: the data model of o2o_route and its first C function */

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
	PRIMARY KEY (dealer_id, sku),
	CONSTRAINT stock_on_hand_check CHECK (on_hand >= 0),
	CONSTRAINT stock_reserved_check CHECK (reserved >= 0 AND reserved <= on_hand)
);
CREATE INDEX stock_sku_idx ON o2o.stock (sku);
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
	CONSTRAINT assignment_state_check CHECK (state IN ('active', 'declined', 'released', 'completed')),
	CONSTRAINT assignment_distance_check CHECK (distance_m >= 0),
	CONSTRAINT assignment_ended_check CHECK ((state = 'active') = (ended_at IS NULL))
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

/*
 * The grid containing a point: covered points (borders included) belong to
 * the grid with the lowest grid_id among those covering them.  A plain
 * PostGIS lookup through the GiST index.
 */
CREATE FUNCTION o2o._grid_lookup(pt geometry, OUT grid_id int, OUT region_id int)
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	SET search_path FROM CURRENT
	AS $$
	SELECT g.grid_id, g.region_id
	  FROM o2o.grid g
	 WHERE ST_Covers(g.geom, pt)
	 ORDER BY g.grid_id
	 LIMIT 1
$$;
COMMENT ON FUNCTION o2o._grid_lookup(geometry) IS 'internal: grid and region covering a point (lowest grid_id on shared borders)';

CREATE FUNCTION o2o._dealer_derive() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	SELECT l.grid_id, l.region_id INTO NEW.grid_id, NEW.region_id
	  FROM o2o._grid_lookup(NEW.location) l;
	-- a location outside the lon/lat range is left to dealer_location_lonlat
	IF NEW.grid_id IS NULL AND ST_X(NEW.location) BETWEEN -180 AND 180
	   AND ST_Y(NEW.location) BETWEEN -90 AND 90 THEN
		RAISE EXCEPTION 'dealer location is outside every service grid'
			USING ERRCODE = 'O2001',
				  DETAIL = format('Dealer %s is at %s, which no row of o2o.grid covers.',
								  NEW.dealer_id, ST_AsText(NEW.location));
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
	UPDATE o2o.stock SET region_id = NEW.region_id WHERE dealer_id = NEW.dealer_id;
	UPDATE o2o.installer SET region_id = NEW.region_id WHERE dealer_id = NEW.dealer_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION o2o._dealer_region_moved() IS 'internal trigger: keep region_id of stock and installers equal to their dealer''s';

CREATE TRIGGER dealer_region_moved
	AFTER UPDATE OF region_id ON o2o.dealer
	FOR EACH ROW WHEN (OLD.region_id IS DISTINCT FROM NEW.region_id)
	EXECUTE FUNCTION o2o._dealer_region_moved();

/* Grids that change shape re-derive the grid of the dealers they touch. */
CREATE FUNCTION o2o._grid_reshaped() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	UPDATE o2o.dealer d
	   SET location = d.location
	 WHERE ST_Covers(OLD.geom, d.location) OR ST_Covers(NEW.geom, d.location);
	UPDATE o2o.orders o
	   SET location = o.location
	 WHERE o.status IN ('pending', 'unassignable')
	   AND (ST_Covers(OLD.geom, o.location) OR ST_Covers(NEW.geom, o.location));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION o2o._grid_reshaped() IS 'internal trigger: re-derive dealer and open-order grids after a grid moves';

CREATE TRIGGER grid_reshaped
	AFTER UPDATE OF geom, region_id ON o2o.grid
	FOR EACH ROW EXECUTE FUNCTION o2o._grid_reshaped();

CREATE FUNCTION o2o._order_derive() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	SELECT l.grid_id, l.region_id INTO NEW.grid_id, NEW.region_id
	  FROM o2o._grid_lookup(NEW.location) l;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION o2o._order_derive() IS 'internal trigger: derive orders.grid_id and region_id from the delivery location';

CREATE TRIGGER orders_derive
	BEFORE INSERT OR UPDATE OF location ON o2o.orders
	FOR EACH ROW EXECUTE FUNCTION o2o._order_derive();

/* stock, installers and assignments live in their dealer's region */
CREATE FUNCTION o2o._region_from_dealer() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	SELECT d.region_id INTO NEW.region_id FROM o2o.dealer d WHERE d.dealer_id = NEW.dealer_id;
	-- an unknown dealer_id keeps NULL here and is then reported by its foreign key
	IF NEW.region_id IS NULL THEN
		NEW.region_id := 0;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION o2o._region_from_dealer() IS 'internal trigger: region_id of a dealer-owned row is its dealer''s';

CREATE TRIGGER stock_region BEFORE INSERT OR UPDATE OF dealer_id ON o2o.stock
	FOR EACH ROW EXECUTE FUNCTION o2o._region_from_dealer();
CREATE TRIGGER installer_region BEFORE INSERT OR UPDATE OF dealer_id ON o2o.installer
	FOR EACH ROW EXECUTE FUNCTION o2o._region_from_dealer();
CREATE TRIGGER assignment_region BEFORE INSERT OR UPDATE OF dealer_id ON o2o.assignment
	FOR EACH ROW EXECUTE FUNCTION o2o._region_from_dealer();

CREATE FUNCTION o2o._event_derive() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path FROM CURRENT
	AS $$
BEGIN
	SELECT o.region_id INTO NEW.region_id FROM o2o.orders o WHERE o.order_id = NEW.order_id;
	RETURN NEW;
END
$$;
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
-- pg_dump keeps the rows of every table and the state of every sequence
------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('o2o.grid', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.dealer', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.product', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.national_price', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.stock', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.installer', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.orders', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.orders_order_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.assignment', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.assignment_assignment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.order_event', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.order_event_event_id_seq', '');
