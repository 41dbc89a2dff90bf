/*
 * o2o_route's install script: the data model, grid membership, coverage,
 * assignment and its life cycle, pricing, the aggregates.  Built by the
 * Makefile from sql/src/NN-*.sql, joined in name order; edit those.
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION o2o_route CASCADE" to load this file. \quit

/*
 * Functions callable by applications live in the extension's schema
 * (@extschema@, normally public) so that they work unqualified.  The tables
 * and the internal trigger functions live in schema o2o, which belongs to
 * the extension and is dropped with it.
 *
 * Security (PostgreSQL's "Security Considerations for Extensions"):
 * every SQL-language function pins search_path = pg_catalog, pg_temp and
 * names everything else with its schema (o2o., @extschema@., PostGIS's
 * schema found at run time); constraints, defaults and views, which bind
 * their operators and functions when this script runs, use constants of
 * the exact type (numeric '0', float8 '-180') or OPERATOR(pg_catalog.x) and
 * pg_catalog.f() wherever a better-matching overload planted beforehand
 * could otherwise win.  test/sql/security.sql plants such overloads.
 */
CREATE SCHEMA o2o;
COMMENT ON SCHEMA o2o IS 'o2o_route: grids, dealers, stock, installers, orders and their routing history';

CREATE FUNCTION o2o_route_version() RETURNS text
	AS 'MODULE_PATHNAME', 'o2o_route_version'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION o2o_route_version() IS
	'version of the loaded o2o_route library; errors (SQLSTATE 55000) if it differs from the installed SQL version';

/*
 * The per-backend caches (the grid index, the dealer cache, the national
 * prices) are invalidated by one statement-level trigger on each table
 * they read (src/cache.c).
 */
CREATE FUNCTION o2o._table_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'o2o_table_changed'
	LANGUAGE C;
COMMENT ON FUNCTION o2o._table_changed() IS
	'internal trigger: any change to a cached table makes every backend rebuild its cache';

