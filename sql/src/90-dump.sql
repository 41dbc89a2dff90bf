
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
SELECT pg_catalog.pg_extension_config_dump('o2o.stock_ledger', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.stock_ledger_entry_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.dealer_login', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.dealer_sync', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.stock_feed', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.stock_feed_feed_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.hold', '');
SELECT pg_catalog.pg_extension_config_dump('o2o.hold_hold_id_seq', '');
