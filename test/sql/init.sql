-- CREATE EXTENSION in a fresh database with the default search_path
SHOW search_path;
SET client_min_messages = warning;
CREATE EXTENSION o2o_route CASCADE;
RESET client_min_messages;
SELECT extname, extrelocatable FROM pg_extension
 WHERE extname IN ('o2o_route', 'postgis', 'btree_gist') ORDER BY 1;
-- public functions are callable unqualified
SELECT o2o_route_version() = (SELECT extversion FROM pg_extension WHERE extname = 'o2o_route') AS agrees;
-- the data model lives in schema o2o
SELECT c.relname, c.relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'o2o' AND c.relkind IN ('r', 'S')
 ORDER BY 1;
-- pg_dump keeps the rows of every table and the state of every sequence
SELECT c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'o2o' AND c.relkind IN ('r', 'S')
   AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'o2o_route')::oid[]);
-- every function has a comment for \df+ readers
SELECT p.oid::regprocedure FROM pg_proc p
  JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'o2o_route')
   AND obj_description(p.oid, 'pg_proc') IS NULL;
-- not relocatable
CREATE SCHEMA elsewhere;
ALTER EXTENSION o2o_route SET SCHEMA elsewhere;
\echo :LAST_ERROR_SQLSTATE
DROP SCHEMA elsewhere;
-- DROP EXTENSION leaves nothing of it behind
DROP EXTENSION o2o_route;
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 'o2o';
SELECT count(*) AS functions FROM pg_proc WHERE proname LIKE 'o2o%';
SELECT count(*) AS relations FROM pg_class WHERE relnamespace::regnamespace::text = 'o2o';
SELECT count(*) AS types FROM pg_type WHERE typnamespace::regnamespace::text = 'o2o';
-- the required extensions stay, and it installs again over them
SELECT extname FROM pg_extension WHERE extname IN ('o2o_route', 'postgis', 'btree_gist') ORDER BY 1;
CREATE EXTENSION o2o_route;
SELECT o2o_route_version() IS NOT NULL AS installed;
