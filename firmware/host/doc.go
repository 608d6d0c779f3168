// Package host is the terminal's link to the acquirer: the txn.Host interface
// carried as ISO 8583:1987 messages over TCP, optionally TLS with a pinned CA
// (DESIGN.md §3, §6), in one of two dialects (Dialect, chosen per acquirer by
// config host.dialect):
//
//   - ISO87: package iso87, the jPOS ISO87APackagerBBitmap ASCII layout;
//   - CUP: package cup, the China UnionPay POS layout (TPDU, header, BCD), whose
//     mapping of the fields below is written out at type CUP (cupdialect.go).
//
// The client and the host simulator speak in the fields of this doc (the neutral
// fields, which are iso87's); the dialect maps them to its own. Matching, echoes,
// reversals, settlement and upload are the same in both.
//
// # Keys: in the PIN pad
//
// The terminal master key (TMK) and the working keys live in the PIN pad (Keys,
// pinpad.KeyPad): sign-on hands the pad the keys of the answer, still encrypted
// under the TMK, and the pad checks each against its check value (a wrong one
// refuses them all: ErrKeyCheck, not signed on); every MAC is computed by the pad.
// The client never holds a clear TMK or working key.
//
// # Messages
//
// The dialect's messages are the table Messages; what goes in each field is
// written out below, and the functions of wire.go build and read them, so that
// the terminal (Client) and the acquirer simulator (package hostsim) share one
// definition.
//
//	sign-on      0800 → 0810   7 11 41 42 70=001      answer: 39, 62 = working keys
//	echo         0800 → 0810   7 11 41 42 70=301      answer: 39
//	sale         0200 → 0210   3=000000 (card, amount, PIN)            answer: 37 38 39
//	void         0200 → 0210   3=020000 37=orig RRN 38=orig auth 90    answer: 37 38 39
//	refund       0220 → 0230   3=200000 37=orig RRN 90 (orig date)     answer: 37 38 39
//	reversal     0400 → 0410   3 4 of the original, 11=orig STAN, 39=reason, 90
//	repeat       0401 → 0410   the same, MTI 0401
//	settlement   0500 → 0510   3=920000 60=batch 63=totals 62=journal head    answer: 39 = 00 balanced, 95 not
//	trailer      0500 → 0510   3=960000, after a batch upload: 00 balanced on the upload, 95 closed unbalanced
//	batch upload 0320 → 0330   3 4 of the record, 11=new STAN, 37 38, 60, 90
//	EMV query    0820 → 0830   7 11 41 42 70=372 keys / 382 AIDs, 62    answer: 39, 62 = a list
//	EMV download 0800 → 0810   70=370 key / 380 AID, 62 = 9F06 (9F22)   answer: 39, 62 = its TLV
//	EMV end      0800 → 0810   70=371 keys / 381 AIDs                   answer: 39
//
// Financial requests carry 2 (PAN) and 35 (track 2) when a card was read, 14
// (expiry YYMM) when known, 22 (entry mode, EntryModeCode), 25=00, 41, 42,
// 49 (currency), 60 (batch number, 6 digits), 52 (PIN block) and 62 (the
// DUKPT KSN as 20 hex digits) when a PIN was entered. Field 90, original data
// elements (n42), is the original's MTI, STAN, local date and time
// (MMDDhhmmss, its fields 13 and 12, not its field 7 as ISO has it, so that a
// refund can carry the date printed on the receipt: time 000000 when only the
// date is known) and two 11-digit institution ids sent as zeros (OriginalData).
// A reversal carries the original's STAN in field 11 as well (as China
// UnionPay terminals do), so that 0410 is matched on it.
//
// A chip or contactless card adds 55 (ICC data, BER-TLV from the kernel: no PAN,
// track or PIN) and 23 (card sequence number, "0" + the two-digit PSN) to its
// request; an answer may carry 55 for the card (91 issuer authentication data,
// scripts 71/72), read as txn.Response.ICC and never echoed. The reversal of a
// chip record carries 23 and of its chip data ReversalTags; the batch upload of
// one carries 23 and its whole final chip data (the TC). Field 22 is 05x chip,
// 07x contactless, 80x fallback (a chip card swiped after its chip failed).
//
// Field 7 is the transmission date and time in UTC; 12 and 13 the local time
// and date of the transaction. Responses echo 3 4 7 11 41 42 49 60 70 90 of
// the request and put the host's own local time in 12 and 13.
//
// # Working keys (field 62 of 0810)
//
// iso87: the MAC key, then optionally the PIN key (for master/session PIN pads),
// each as a KeyBlock: 32 hex digits of the 16-byte key encrypted under the
// terminal master key (two-key TDES, ECB), then 6 hex digits of its key check
// value (KCV of the clear key). CUP: binary keys and 4-byte check values by the
// sign-on's 60.3 (cup.Keys62). The PIN pad decrypts and checks them.
//
// # Settlement totals (field 63 of 0500)
//
// Five groups of 18 digits, in this order: sales, refunds, voids, manual
// refunds, failed reversals; each a 6-digit count and a 12-digit amount in
// minor units (EncodeTotals). The host compares sales, refunds and voids.
//
// # MAC
//
// 0200, 0220, 0400, 0401, 0500, 0320 and their answers carry a MAC, computed by
// the PIN pad. CUP: the CUP ECB MAC in field 64 over the MTI to the field before
// 64 (TPDU and header excluded). iso87: an ANSI X9.19
// MAC in field 64, or in field 128 when the message has a secondary bitmap
// (any field above 64, field 90 for instance), as ISO 8583:1987 requires. The
// MAC field is always the last one. The MAC is computed over the message as
// packed with the MAC bit set, from the MTI up to the last byte before the
// MAC field's 16 hex digits; the frame header is not included (PackMAC,
// CheckMAC). An answer to a MACed request counts only with a MAC that
// verifies, whatever its response code: a host that could not check the
// terminal's MAC answers A0 unsigned, and the terminal treats that as no
// answer (txn.ErrBadMAC: reversal, reason A0, and a new sign-on), because an
// unsigned A0 or 97 is exactly what an attacker on the line would forge to
// turn an approval into a "decline" without a reversal.
//
// # Echoed fields
//
// A signed answer must also repeat the request: the table Echoes lists the
// fields (3, 4, 11, 41, 42, 60, 70, 90 when the request carried them; 49 may
// be left out but not changed). An answer that differs answers some other
// request and counts as none (txn.ErrBadAnswer: reversal, reason 06).
//
// # QR orders
//
// Wallet orders (issue 17: WeChat Pay, Alipay, UnionPay QR) have no standard message in
// either dialect. They go on the same link as acquirers' 8583 specs carry them: the
// financial MTIs, a transaction type, and the order in private field 63 (qr.go).
//
//	op       MTI         iso87 field 3    CUP field 3, 60.1
//	pay      0200 → 0210 930000           000000, 91
//	query    0200 → 0210 931000           000000, 92
//	cancel   0200 → 0210 932000           000000, 93   (撤销订单: close; money taken goes back)
//	refund   0220 → 0230 933000           200000, 94
//	void     0200 → 0210 934000           000000, 95
//	precreate 0200 → 0210 935000          000000, 96   (a merchant-presented code shown)
//
// Each carries 4 (the order's amount), 7 11 12 13 25 41 42 49 60 (batch) as a sale
// does, no card fields, and the MAC. Field 63 (LLL, at most 163 characters, which is
// what CUP's 63 holds) is a run of tagged values: a 2-letter tag, a 3-digit length, the
// value in printable ASCII (QRData, ParseQRData):
//
//	ON  order number, the terminal's: in every request, repeated in the answer
//	PC  the customer's payment code: in the pay request only
//	OO  the original order (refund, void)
//	ST  the order's state (answer): P paid (a refund or void: done), U the customer
//	    is still confirming ("user paying"), F failed, C cancelled, N no such order
//	WL  wallet, PY payer id masked, WT the wallet's transaction id (answer)
//
// The answer's 39 says whether the message was taken (00) or refused (51, 13 amount
// beyond the original, 25 no such order, 94 duplicate order number, 12 an original that
// cannot be refunded or voided); ST says where the order is. An answer whose ON is not
// the request's order answers some other request (txn.ErrBadAnswer). The terminal
// never sends a pay request twice for one order: an order whose end is not known is
// queried and then cancelled.
//
// # EMV parameters
//
// The AIDs and CA public keys a chip terminal needs come from the acquirer in the
// network management exchanges of the UnionPay POS specification (60.3 = 372/370/371
// for the keys, 382/380/381 for the AIDs; field 70 in iso87), field 62 holding the
// BER-TLV of package emvparam (CUP: the bytes; iso87: upper-case hex). The exchanges,
// their field 62 and why none carries a MAC are written out in emvdownload.go
// (Client.DownloadEMV).
//
// # Connections
//
// One TCP connection per request, closed after the answer (the way most POS
// hosts are used over dial-up and 4G): nothing outlives an exchange, so a late
// answer can never be taken for the answer to a later request. Within a
// connection, answers are matched on the response MTI, STAN (11) and terminal
// id (41); a decodable answer that does not match is logged (iso87.Describe)
// and discarded.
package host
