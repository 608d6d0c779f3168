// Package txn holds the rules of the terminal's money: which sales, voids (撤销), refunds
// (退货) and manual refunds (手工退款) are allowed, in which order the journal and the
// host are asked, and which state every record ends in, whatever fails.
//
// It is pure logic. It sees the journal through the Store interface and the acquirer
// through the Host interface, and imports no driver and no database. The rules are
// tables of named checks (rules.go) so that each rule is a row a reader can find and a
// test can remove. The engine (engine.go) is write-ahead: the record and its reversal
// are committed before a request leaves, and the outcome is committed before anything
// is printed.
package txn
