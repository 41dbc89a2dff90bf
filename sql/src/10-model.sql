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
	CONSTRAINT grid_id_not_negative CHECK (grid_id >= 0),
	CONSTRAINT grid_climate_check CHECK (climate IN ('north', 'south')),
	CONSTRAINT grid_geom_not_empty CHECK (NOT ST_IsEmpty(geom)),
	CONSTRAINT grid_geom_valid CHECK (ST_IsValid(geom)),
	CONSTRAINT grid_geom_lonlat CHECK (ST_XMin(geom::box3d) >= float8 '-180' AND ST_XMax(geom::box3d) <= float8 '180'
									   AND ST_YMin(geom::box3d) >= float8 '-90' AND ST_YMax(geom::box3d) <= float8 '90')
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
	CONSTRAINT dealer_location_lonlat CHECK (ST_X(location) BETWEEN float8 '-180' AND float8 '180'
											 AND ST_Y(location) BETWEEN float8 '-90' AND float8 '90'),
	CONSTRAINT dealer_service_radius_check CHECK (service_radius_m > float8 '0' AND service_radius_m <= float8 '1000000')
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
											 OR (pg_catalog.cardinality(climates) > 0
												 AND climates OPERATOR(pg_catalog.<@) ARRAY['north', 'south']))
);
CREATE INDEX product_category_idx ON o2o.product (category);
COMMENT ON TABLE o2o.product IS 'appliance models; climates NULL means sold everywhere';

CREATE TABLE o2o.national_price (
	sku			text NOT NULL REFERENCES o2o.product,
	price		numeric(12, 2) NOT NULL,
	valid_from	timestamptz NOT NULL,
	valid_to	timestamptz,
	PRIMARY KEY (sku, valid_from),
	CONSTRAINT national_price_positive CHECK (price > numeric '0'),
	CONSTRAINT national_price_period_check CHECK (valid_to IS NULL OR valid_to > valid_from),
	CONSTRAINT national_price_no_overlap
		EXCLUDE USING gist (sku WITH OPERATOR(pg_catalog.=),
							tstzrange(valid_from, valid_to, '[)') WITH OPERATOR(pg_catalog.&&))
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
	safety		int NOT NULL DEFAULT 0,
	counted_at	timestamptz,
	count_source text,
	last_consumed_at timestamptz,
	PRIMARY KEY (dealer_id, sku),
	CONSTRAINT stock_on_hand_check CHECK (on_hand >= 0),
	CONSTRAINT stock_reserved_check CHECK (reserved >= 0 AND reserved <= on_hand),
	CONSTRAINT stock_safety_check CHECK (safety >= 0)
) WITH (fillfactor = 90);
CREATE INDEX stock_sku_idx ON o2o.stock (sku);
CREATE INDEX stock_sku_grid_idx ON o2o.stock (sku, grid_id) INCLUDE (dealer_id);
COMMENT ON TABLE o2o.stock IS 'units per dealer and SKU; 0 <= reserved <= on_hand always holds; online may take on_hand - reserved - safety; the running sum of o2o.stock_ledger';

CREATE TABLE o2o.installer (
	installer_id int PRIMARY KEY,
	dealer_id	int NOT NULL REFERENCES o2o.dealer,
	name		text NOT NULL,
	skills		text[] NOT NULL,
	daily_capacity int NOT NULL,
	active		boolean NOT NULL DEFAULT true,
	region_id	int NOT NULL,
	CONSTRAINT installer_skills_check CHECK (pg_catalog.cardinality(skills) > 0
											 AND skills OPERATOR(pg_catalog.<@) ARRAY['fridge', 'washer', 'ac', 'water_heater',
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
	CONSTRAINT orders_unit_price_check CHECK (unit_price > numeric '0'),
	CONSTRAINT orders_status_check CHECK (status IN ('pending', 'assigned', 'unassignable',
													 'cancelled', 'completed')),
	CONSTRAINT orders_location_not_empty CHECK (NOT ST_IsEmpty(location)),
	CONSTRAINT orders_location_lonlat CHECK (ST_X(location) BETWEEN float8 '-180' AND float8 '180'
											 AND ST_Y(location) BETWEEN float8 '-90' AND float8 '90')
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
	CONSTRAINT assignment_distance_check CHECK (distance_m >= float8 '0'),
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

