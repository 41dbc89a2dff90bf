
------------------------------------------------------------------------
-- one national price, commissions and settlement
------------------------------------------------------------------------
CREATE FUNCTION o2o_national_price(sku text, at timestamptz DEFAULT now()) RETURNS numeric
	AS 'MODULE_PATHNAME', 'o2o_national_price'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_national_price(text, timestamptz) IS
	'the one online price of a SKU in force at a time (default now); NULL when none is; errors (O2003) for an unknown SKU';

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
	CONSTRAINT commission_rule_shares_check CHECK (dealer_share >= numeric '0' AND installer_share >= numeric '0'
												   AND origin_share >= numeric '0'
												   AND dealer_share + installer_share + origin_share <= numeric '1'),
	CONSTRAINT commission_rule_period_check CHECK (valid_to IS NULL OR valid_to > valid_from),
	CONSTRAINT commission_rule_no_overlap
		EXCLUDE USING gist (category WITH OPERATOR(pg_catalog.=),
							tstzrange(valid_from, valid_to, '[)') WITH OPERATOR(pg_catalog.&&))
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
	CONSTRAINT settlement_amount_check CHECK (amount >= numeric '0'),
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
COMMENT ON FUNCTION o2o._settle(o2o.orders, o2o.assignment) IS
	'internal: write the settlement of a completed order (parts rounded down to the fen, the manufacturer keeps the rest)';

CREATE VIEW o2o.dealer_earnings_monthly AS
SELECT s.dealer_id, date_trunc('month', s.settled_at)::date AS month,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'fulfilling_dealer'), 0) AS as_fulfiller,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'installer'), 0) AS as_installer,
	   coalesce(sum(s.amount) FILTER (WHERE s.party = 'origin_store'), 0) AS as_origin_store,
	   sum(s.amount) AS total,
	   pg_catalog.count(DISTINCT s.order_id) AS orders
  FROM o2o.settlement s
 WHERE s.dealer_id IS NOT NULL
 GROUP BY s.dealer_id, date_trunc('month', s.settled_at)::date;
COMMENT ON VIEW o2o.dealer_earnings_monthly IS
	'per dealer and month: earnings as fulfilling dealer, from its installers'' fees, as the origin store of orders, in total';

CREATE VIEW o2o.price_history AS
SELECT n.sku, p.name, p.category, n.valid_from, n.valid_to, n.price,
	   pg_catalog.lag(n.price) OVER w AS previous_price,
	   round(numeric '100' * (n.price - pg_catalog.lag(n.price) OVER w) / pg_catalog.lag(n.price) OVER w, 2) AS change_pct
  FROM o2o.national_price n JOIN o2o.product p USING (sku)
WINDOW w AS (PARTITION BY n.sku ORDER BY n.valid_from);
COMMENT ON VIEW o2o.price_history IS 'the national price of each SKU over time, with the change from the previous period';

