// Package crashtest holds the power-cut tests of the money path: a terminal process is
// killed (SIGKILL, no cleanup) after every journal or host step of a sale, a void and a
// settlement, restarted, and checked against the acquirer simulator's ledger: no
// approved transaction lost, none counted twice, every unanswered request reversed
// exactly once, the journal's hash chain intact. It has no code outside its tests.
package crashtest
