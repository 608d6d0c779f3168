-- 0009: chip and contactless records (issue 16). icc is the record's field 55 (BER-TLV, upper-case hex):
-- the request's ICC data, then the card's final cryptogram. The kernel's field 55 never
-- holds the PAN, track 2 or anything of the PIN, so the column is no card data in the
-- sense of DESIGN §5; reversals and batch uploads send it, slips print from it. psn is
-- the card sequence number (field 23).
ALTER TABLE records ADD COLUMN icc TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN psn TEXT NOT NULL DEFAULT '';
