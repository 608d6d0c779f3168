// Package frame is the serial protocol between the terminal and its PIN pad: frames
// checked by a longitudinal redundancy check (LRC), ACK/NAK with resend, and the
// command messages the frames carry.
//
// It is this project's own protocol. It is modelled on the framed serial protocols
// common to PIN pads and payment peripherals (STX ... ETX LRC frames acknowledged by
// ACK or NAK, the ASCII control characters of ANSI X3.4 / ISO 646), with two changes:
// a binary length after STX, so that a payload may carry any byte value (PIN blocks
// and KSNs are binary) without escaping, and a sequence number in every message, so
// that a frame resent after a lost ACK is recognised and not executed twice.
//
// # Frames
//
// Byte by byte:
//
//	offset   size  value
//	0        1     STX 0x02
//	1        2     LEN: payload length, big-endian, 1 to MaxPayload (1024)
//	3        LEN   payload, any byte values
//	3+LEN    1     ETX 0x03
//	4+LEN    1     LRC: XOR of the two LEN bytes, every payload byte and ETX
//
// STX is outside the LRC, as in the protocols this follows. For example the payload
// 10 01 (an info request with sequence number 1) is sent as
//
//	02 00 02 10 01 03 10      LRC = 00^02^10^01^03 = 10
//
// # Acknowledgement and resend
//
// The receiver of a frame answers with one byte: ACK (0x06) when the frame is well
// formed, or NAK (0x15) when its LRC does not match, ETX is not where LEN says, or LEN
// is 0 or above MaxPayload. A sender has one frame outstanding at a time. It resends
// the frame on NAK, or when no ACK came within the ACK timeout (1 s by default, which
// covers a maximal frame at 19200 baud and above), at most 3 times; after the fourth
// unacknowledged attempt it gives up with ErrNoAck.
//
// Between frames, a receiver discards every byte other than STX, ACK and NAK: line
// noise, a partial frame left by a reset. ACK and NAK mean something only between
// frames; inside a frame they are payload bytes. A frame whose bytes stop coming for
// longer than the inter-byte timeout (200 ms) is dropped without an answer, so that
// the sender's resend finds the receiver hunting for STX again.
//
// # Messages
//
// A payload is one message. A request is the command code, the sequence number and
// the request's fields; its response carries the command code with the top bit set,
// the same sequence number and a status byte, then the response's fields:
//
//	request:   CMD      SEQ         field...
//	response:  CMD|80   SEQ  STATUS field...
//	field:     TAG LEN VALUE        LEN one byte, 0 to 255
//
// Each command has exactly one response. Fields may come in any order; a tag may
// appear once. Fields a command does not list are skipped, so that a newer PIN pad can
// add some. The fields of a response are present when its status is StatusOK. A
// request with an unknown command code is answered CMD|80 SEQ 06 with no fields.
//
// A sender numbers its requests 0-255 and wraps; the response to a request carries its
// SEQ, which is how answers find their request when two are in flight (a cancel during
// a PIN entry). The receiver of a request sent again because its ACK was lost must not
// do it twice: info, display, cancel, load key, card hash, seal, anchor and check seal
// give the same result when repeated, and a get PIN request identical, SEQ included, to
// the one in progress is ignored.
//
//	command         code  request fields                         response fields (OK)
//	info            10    -                                      model serial firmware KSN
//	display         11    line1 line2                            -
//	get PIN         12    PAN digits, amount, min and max        PIN block, KSN
//	                      length, timeout, flags
//	cancel          13    -                                      -
//	load key        14    IPEK, KSN                              KSN
//	card hash       15    PAN                                    card hash
//	seal            16    event id, chain hash                   seal MAC
//	anchor          17    -                                      event id, chain hash,
//	                                                             seal MAC
//	check seal      18    event id, chain hash, seal MAC         -
//	load TMK        19    } the master/session key commands:
//	load TMK part   1A    } the terminal master key and the working keys
//	load working    1B    } of a sign-on live in the pad, which computes
//	  keys                } MACs and encrypts track data with them; tags
//	MAC             1C    } 50-63 and status 0B, written out in
//	encrypt track   1D    } workingkeys.go
//
//	tag  field         value
//	01   model         text, 1-32 bytes
//	02   serial        text, 1-32 bytes
//	03   firmware      text, 1-32 bytes
//	04   KSN           10 bytes, X9.24-1 key serial number
//	10   line1         text, 0-64 bytes of UTF-8
//	11   line2         text, 0-64 bytes of UTF-8
//	20   PAN digits    12 ASCII digits: the 12 rightmost PAN digits without the check
//	                   digit, the only part of the PAN an ISO 9564 format 0 block uses
//	21   amount        12 ASCII digits, minor units (as ISO 8583 field 4)
//	22   min length    1 byte, 4-12
//	23   max length    1 byte, min-12
//	24   timeout       2 bytes big-endian, tenths of a second, 1-65535
//	25   flags         1 byte; bit 0: ENTER with no digits bypasses the PIN
//	30   PIN block     8 bytes, ISO 9564 format 0 under the DUKPT PIN key of KSN
//	26   PAN           12-19 ASCII digits, the full PAN (card hash only)
//	31   IPEK          16 bytes, initial PIN encryption key, in clear
//	32   card hash     32 bytes: HMAC-SHA256 of the PAN under the pad's card key
//	40   event id      8 bytes big-endian: an event of the terminal's journal chain
//	41   chain hash    32 bytes: that event's chain hash (SHA-256)
//	42   seal MAC      32 bytes: HMAC-SHA256 under the pad's journal key over the
//	                   ASCII "posfw journal seal v1", a zero byte, the event id (8
//	                   bytes big-endian) and the chain hash
//
//	status  meaning
//	00      done
//	01      cancelled: CANCEL pressed on the pad, or a cancel command
//	02      timeout: no PIN entered in time
//	03      bypass: ENTER with no digits, bypass allowed
//	04      busy: a PIN entry is in progress
//	05      bad request: a field is missing or out of range
//	06      unknown command
//	07      no key: no initial key loaded, or its counter is exhausted
//	08      not permitted: a production PIN pad refuses load key
//	09      bad seal: the seal MAC of a check seal request is not the pad's
//	0A      seal conflict: a seal of the event id the anchor holds, with another hash
//
// # The pad's own keys: card hashes and the journal's anchor
//
// The PIN pad generates two 32-byte keys inside itself the first time it needs them and
// never sends them: the card key and the journal key. Card hash answers HMAC-SHA256 of
// the PAN under the card key (the ASCII "posfw card hash v1", a zero byte, then the PAN
// digits), so that the terminal can tell the same card again while its data directory
// holds nothing that gives the PAN back from a masked PAN and its hash.
//
// Seal answers the seal MAC of an event id and chain hash (the journal's newest event)
// and keeps them as the pad's anchor when the id is at least the one it holds: the
// anchor never goes back. A seal of the anchor's own id with another hash is refused
// (seal conflict): a chain rewritten from that event on. Anchor answers the anchor and
// its MAC (event id 0 and a zero hash before the first seal); check seal answers done
// when the MAC is the pad's for that id and hash, bad seal otherwise, and never
// computes a MAC for the terminal to read. A terminal that starts with a journal not
// holding the anchor's event, with the anchor's hash, has lost events: a copy restored,
// a write-ahead log deleted.
//
// A seal sent again after a lost ACK gives the same MAC and leaves the same anchor.
//
// A get PIN request is acknowledged at once and answered when the entry ends. While it
// is in progress the PIN pad answers info, cancel, card hash, seal, anchor and check
// seal, and busy to anything else. A
// cancel during the entry ends it: the PIN pad answers the get PIN request
// (cancelled) and then the cancel request (done).
//
// The load key command carries a key in clear. It exists for simulators and
// development pads; a production PIN pad is loaded in a key injection facility and
// answers it with not permitted.
package frame
