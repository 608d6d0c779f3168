-- 0011: whether a PIN block went with a record's request (field 22's last digit), so that
-- its reversal and its batch upload repeat the original's entry mode exactly.
ALTER TABLE records ADD COLUMN pin INTEGER NOT NULL DEFAULT 0;
