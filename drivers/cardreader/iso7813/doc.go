// Package iso7813 parses and builds the magnetic stripe tracks of financial
// transaction cards as a serial magnetic stripe reader sends them in ASCII.
//
// It follows ISO/IEC 7813 for the content of track 1 (format B) and track 2,
// ISO/IEC 7811-2 and 7811-6 for their character sets and longitudinal
// redundancy check (LRC), and ISO/IEC 7812-1 for the PAN's Luhn check digit.
//
// # Tracks
//
//	track 1: % B PAN ^ NAME ^ YYMM SSS discretionary ? LRC   at most 79 characters
//	track 2: ; PAN = YYMM SSS discretionary ? LRC            at most 40 characters
//
// "%" and ";" are the start sentinels, "?" the end sentinel, "^" and "=" the
// field separators. PAN is 12 to 19 digits ending in a Luhn check digit, NAME
// 2 to 26 characters, YYMM the expiry date and SSS the service code. ISO/IEC
// 7813 lets expiry and service code be absent; a payment card needs both, so
// this package requires them.
//
// Track 1 is written in the 6-bit alphabet: ASCII 0x20 to 0x5F, track code =
// ASCII − 0x20. Track 2 is written in the 4-bit alphabet: ASCII 0x30 to 0x3F,
// track code = ASCII − 0x30. The LRC makes every bit column of the codes from
// the start sentinel to the end sentinel, inclusive, even: it is the XOR of
// those codes. Each character's parity bit is not part of the LRC and a serial
// reader does not send it. The LRC is sent as the ASCII character of its code.
// For example track 2 ";00012?" has LRC code 0xB^0^0^0^1^2^0xF = 7, sent as "7".
//
// # The reader's serial frame
//
// For one swipe the reader sends track 1 then track 2, back to back, then CR LF:
//
//	%B6222021234567894^ZHANG/SAN^4912101000001230000?L;6222021234567894=49121010000012300?4\r\n
//
// Each track is its start sentinel, data, end sentinel and LRC character. A
// track the reader could not read (no signal, a parity or LRC error on the
// stripe) is sent as its start sentinel followed by "E?", with no LRC:
//
//	%E?;6222021234567894=49121010000012300?4\r\n     track 1 not read
//	%E?;E?\r\n                                      nothing read
//
// Both tracks are always present in a frame. Track 3 is not read.
//
// A Card needs track 2, because the host needs it as track 2 equivalent data
// (ISO 8583 field 35). Track 1 is optional and adds the cardholder name; when
// both tracks are read they must agree on PAN, expiry and service code.
//
// # Errors
//
// Every failure is an *Error that wraps one of the Err* values, for logs and
// tests (errors.Is). The cashier sees only ReadErrorMessage, whatever the
// cause. Error texts name the problem and the track, never the card's data.
//
// # Card data
//
// PAN and discretionary data (which holds the card verification value) are
// kept in byte slices so that Wipe can zero them once the host has answered.
// String and Format print a masked PAN only, so a Card, Track or Swipe passed to
// a logger by mistake does not leak the card number.
package iso7813
