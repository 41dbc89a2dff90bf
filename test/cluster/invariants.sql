/*
 * The invariants after a soak or a crash (test/cluster/soak.sh,
 * test/cluster/crash.sh), and what the run did.  One line per check,
 * "name count ..."; a check whose name holds "wrong", "two_active" or
 * "violations" must count 0.
 *   every stock row: reserved = sum(qty) of its active assignments and held
 *   holds, 0 <= reserved <= on_hand;
 *   every stock row is the running sum of its ledger entries, and the
 *   entries of a (dealer, SKU) without a stock row sum to 0;
 *   every installer day: booked = its active assignments and held holds,
 *   booked <= capacity, each window within its share, booked = the sum of
 *   the windows;
 *   no order with two active assignments; assigned <=> one active assignment;
 *   an order placed with a hold still held got the hold's dealer;
 *   no active assignment or held hold on a removed slot (an inactive
 *   installer, a closed dealer);
 *   o2o.invariant_violations is empty.
 */
SELECT 'stock_rows_wrong', count(*) FROM o2o.stock s
 WHERE s.reserved <> coalesce((SELECT sum(a.qty) FROM o2o.assignment a JOIN o2o.orders o USING (order_id)
							   WHERE a.dealer_id = s.dealer_id AND o.sku = s.sku AND a.state = 'active'), 0)
					+ coalesce((SELECT sum(h.qty) FROM o2o.hold h
								 WHERE h.dealer_id = s.dealer_id AND h.sku = s.sku AND h.state = 'held'), 0)
	OR s.reserved < 0 OR s.reserved > s.on_hand;
SELECT 'ledger_rows_wrong', count(*) FROM o2o.stock s
  LEFT JOIN (SELECT dealer_id, sku, sum(d_on_hand) AS on_hand, sum(d_reserved) AS reserved
			   FROM o2o.stock_ledger GROUP BY 1, 2) l USING (dealer_id, sku)
 WHERE s.on_hand <> coalesce(l.on_hand, 0) OR s.reserved <> coalesce(l.reserved, 0);
SELECT 'ledger_without_row_wrong', count(*)
  FROM (SELECT dealer_id, sku, sum(d_on_hand) AS on_hand, sum(d_reserved) AS reserved
		  FROM o2o.stock_ledger GROUP BY 1, 2) l
 WHERE NOT EXISTS (SELECT 1 FROM o2o.stock s WHERE s.dealer_id = l.dealer_id AND s.sku = l.sku)
   AND (l.on_hand <> 0 OR l.reserved <> 0);
SELECT 'bookings_wrong', count(*) FROM o2o.installer_day b JOIN o2o.installer i USING (installer_id)
 WHERE b.booked > i.daily_capacity
	OR b.booked <> (SELECT count(*) FROM o2o.assignment a
					 WHERE a.installer_id = b.installer_id AND a.install_day = b.day AND a.state = 'active')
				  + (SELECT count(*) FROM o2o.hold h
					 WHERE h.installer_id = b.installer_id AND h.install_day = b.day AND h.state = 'held');
SELECT 'orders_two_active', count(*) FROM (SELECT order_id FROM o2o.assignment WHERE state = 'active'
											GROUP BY 1 HAVING count(*) > 1) x;
SELECT 'status_wrong', count(*) FROM o2o.orders o
 WHERE (o.status = 'assigned') <> EXISTS (SELECT 1 FROM o2o.assignment a
										   WHERE a.order_id = o.order_id AND a.state = 'active');
SELECT 'work_done', count(*) FROM o2o.order_event;
SELECT 'assigned_now', count(*) FROM o2o.orders WHERE status = 'assigned';
SELECT 'completed', count(*) FROM o2o.orders WHERE status = 'completed';
SELECT 'declined', count(*) FROM o2o.assignment WHERE state = 'declined';
SELECT 'syncs', count(*), 'full', count(*) FILTER (WHERE full_sync), 'items', coalesce(sum(items), 0),
	   'applied', coalesce(sum(applied), 0), 'unchanged', coalesce(sum(unchanged), 0),
	   'stale', coalesce(sum(stale), 0), 'rejected', coalesce(sum(rejected), 0) FROM stress.sync_log;
SELECT 'released_by_shortfall', coalesce(sum(released), 0), 'ledger', (SELECT count(*) FROM o2o.stock_ledger
	   WHERE kind = 'release' AND reason LIKE 'stock shortfall at dealer %') FROM stress.sync_log;
SELECT 'ledger_entries', count(*) FROM o2o.stock_ledger;
-- an order placed with a hold that was still held got the hold's dealer
SELECT 'hold_taken_wrong', count(*) FROM stress.hold_log l JOIN o2o.hold h USING (hold_id)
 WHERE h.state = 'taken' AND (h.order_id <> l.order_id OR l.taken_by IS DISTINCT FROM l.dealer_id);
SELECT 'holds', count(*), 'taken', count(*) FILTER (WHERE state = 'taken'), 'expired', count(*) FILTER (WHERE state = 'expired'),
	   'released', count(*) FILTER (WHERE state = 'released'), 'held', count(*) FILTER (WHERE state = 'held') FROM o2o.hold;
-- live slots: no job or hold left on an inactive installer or at a closed
-- dealer, no window booked beyond its share
SELECT 'assignment_on_removed_slot_wrong', count(*) FROM o2o.assignment a
  JOIN o2o.dealer d USING (dealer_id) LEFT JOIN o2o.installer i ON i.installer_id = a.installer_id
 WHERE a.state = 'active' AND (NOT d.active OR NOT i.active);
SELECT 'hold_on_removed_slot_wrong', count(*) FROM o2o.hold h
  JOIN o2o.dealer d USING (dealer_id) LEFT JOIN o2o.installer i ON i.installer_id = h.installer_id
 WHERE h.state = 'held' AND (NOT d.active OR NOT i.active);
SELECT 'window_beyond_share_wrong', count(*) FROM o2o.installer_day b JOIN o2o.installer i USING (installer_id)
 CROSS JOIN LATERAL (VALUES ('morning', b.morning), ('afternoon', b.afternoon), ('evening', b.evening)) w (time_window, n)
 WHERE w.n > o2o._window_capacity(i.daily_capacity, w.time_window)
	OR b.booked <> b.morning + b.afternoon + b.evening;
SELECT 'progress_steps', coalesce(sum(n), 0), string_agg(event || ' ' || n, ' ' ORDER BY k) FROM (
	SELECT event, count(*) AS n, array_position(ARRAY['dispatched', 'en_route', 'arrived', 'installed', 'delivered',
													 'failed', 'rescheduled'], event) AS k
	  FROM o2o.order_event WHERE event IN ('dispatched', 'en_route', 'arrived', 'installed', 'delivered', 'failed', 'rescheduled')
	 GROUP BY event) x;
SELECT 'completed_after_progress', count(*) FROM o2o.assignment WHERE state = 'completed' AND progress IN ('installed', 'delivered');
SELECT 'changes', coalesce(sum(n), 0), string_agg(change || ' ' || n, ', ' ORDER BY change)
  FROM (SELECT change, sum(rows) AS n FROM stress.change_log GROUP BY change) x;
SELECT 'jeopardy', 'moved', count(*) FILTER (WHERE event = 'moved'), 'rerouted', count(*) FILTER (WHERE event = 'jeopardy'),
	   'holds_released', (SELECT count(*) FROM o2o.hold WHERE state = 'released'
						   AND (end_reason LIKE 'installer % deactivated' OR end_reason LIKE 'installer % cut %'
								OR end_reason LIKE 'installer % lost a skill' OR end_reason LIKE 'dealer % closed'))
  FROM o2o.order_event;
SELECT 'rerouted_now', 'assigned', count(*) FILTER (WHERE o.status = 'assigned'), 'pending', count(*) FILTER (WHERE o.status = 'pending'),
	   'unassignable', count(*) FILTER (WHERE o.status = 'unassignable'), 'other', count(*) FILTER (WHERE o.status NOT IN ('assigned', 'pending', 'unassignable'))
  FROM o2o.orders o WHERE EXISTS (SELECT 1 FROM o2o.order_event e WHERE e.order_id = o.order_id AND e.event = 'jeopardy');
SELECT 'refusals', coalesce(sum(n), 0), string_agg(op || ' ' || sqlstate || ' ' || n, ', ' ORDER BY op, sqlstate)
  FROM (SELECT op, sqlstate, count(*) AS n FROM stress.refusal GROUP BY 1, 2) x;
SELECT 'invariant_violations_view', count(*) FROM o2o.invariant_violations;
