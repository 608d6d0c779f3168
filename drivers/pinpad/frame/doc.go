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
// do it twice: info, display, cancel and load key give the same result when repeated,
// and a get PIN request identical, SEQ included, to the one in progress is ignored.
//
//	command         code  request fields                         response fields (OK)
//	info            10    -                                      model serial firmware KSN
//	display         11    line1 line2                            -
//	get PIN         12    PAN digits, amount, min and max        PIN block, KSN
//	                      length, timeout, flags
//	cancel          13    -                                      -
//	load key        14    IPEK, KSN                              KSN
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
//	31   IPEK          16 bytes, initial PIN encryption key, in clear
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
//
// A get PIN request is acknowledged at once and answered when the entry ends. While it
// is in progress the PIN pad answers info and cancel, and busy to anything else. A
// cancel during the entry ends it: the PIN pad answers the get PIN request
// (cancelled) and then the cancel request (done).
//
// The load key command carries a key in clear. It exists for simulators and
// development pads; a production PIN pad is loaded in a key injection facility and
// answers it with not permitted.
package frame
