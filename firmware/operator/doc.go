// Package operator is the terminal's operators: who may log in, with which password,
// and what happens after wrong ones (DESIGN.md §3 and §4, issue 3 "Operators").
//
// Roles are data (see roles): cashiers 01–97 with 4-digit passwords, the supervisor 00
// (6 digits), who authorises voids and refunds, the technician 98 (8 digits), who
// services the terminal, and the administrator 99 (8 digits), who manages cashiers and
// the supervisor's and technician's passwords. Passwords are stored only as argon2id
// hashes (RFC 9106) in the PHC string format, and compared in constant time.
//
// Lockout (Policy, DefaultPolicy): five wrong passwords in a row lock that operator for
// five minutes; each further lockout doubles the time (5, 10, 20 … minutes, capped at
// 24 hours). While locked, no password is even checked. A right password resets the count
// of wrong ones but not the doubling: otherwise a guesser sharing the terminal with the
// real operator would get five fresh guesses every five minutes, all day. The doubling is
// forgotten when the right password is given a full day (Policy.Forget) after the last
// lockout ended, so an operator who fumbles now and then is not punished for ever, and
// when the administrator sets that operator's password, which also unlocks it.
//
// The package holds no database: a Service works on a Store (the journal implements it),
// which writes each operator change in one transaction together with its audit events,
// so that the audit trail is part of the journal's hash chain. An Event has no field
// that could carry a password or a hash.
package operator
