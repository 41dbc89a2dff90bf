/* o2o_route--0.3.0--0.4.0.sql: the hot path of o2o_assign -- its row triggers in C, installers cached, stock updated in place */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION o2o_route UPDATE TO '0.4.0'" to load this file. \quit

-- the row triggers every assignment fires, in C (src/triggers.c): each
-- reads one row by primary key instead of running a PL/pgSQL statement
CREATE OR REPLACE FUNCTION o2o._installer_day_check() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_installer_day_check'
	LANGUAGE C;
CREATE OR REPLACE FUNCTION o2o._region_from_dealer() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_region_from_dealer'
	LANGUAGE C;
CREATE OR REPLACE FUNCTION o2o._stock_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_stock_derive'
	LANGUAGE C;
CREATE OR REPLACE FUNCTION o2o._event_derive() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_event_derive'
	LANGUAGE C;

-- o2o_assign caches installers with the dealers (src/dealercache.c)
CREATE TRIGGER installer_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON o2o.installer
	FOR EACH STATEMENT EXECUTE FUNCTION o2o._table_changed();

-- room on each page for the new version of a stock row, so that reserving
-- (which changes no indexed column) is a HOT update; pages written from
-- now on get it
ALTER TABLE o2o.stock SET (fillfactor = 90);

-- o2o_assign takes the dealers of a grid holding a SKU from this index alone
-- and reads the stock rows of the nearest only
DROP INDEX o2o.stock_sku_grid_idx;
CREATE INDEX stock_sku_grid_idx ON o2o.stock (sku, grid_id) INCLUDE (dealer_id);
