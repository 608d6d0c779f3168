-- 0005: the fast path (project.go). A sale's Begin and Finish commit only their events;
-- records, counters and reversals follow in a projection transaction. 'projected' is the
-- newest event the tables reflect: every event of a journal written before this version
-- is reflected already.
INSERT INTO counters (name, value) VALUES ('projected', (SELECT COALESCE(max(id), 0) FROM events));
