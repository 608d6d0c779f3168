package pcsc

import (
	"fmt"

	"posfw/drivers/chipreader"
)

// Code is a PC/SC return value (SCARD_E_*, SCARD_W_*, SCARD_F_*) other than success.
type Code uint32

// The return values this driver tells apart (pcsclite.h).
const (
	ErrCancelled         Code = 0x80100002
	ErrInvalidHandle     Code = 0x80100003
	ErrUnknownReader     Code = 0x80100009
	ErrTimeout           Code = 0x8010000A
	ErrSharingViolation  Code = 0x8010000B
	ErrNoSmartcard       Code = 0x8010000C
	ErrProtoMismatch     Code = 0x8010000F
	ErrNotReady          Code = 0x80100010
	ErrCommError         Code = 0x80100013
	ErrNotTransacted     Code = 0x80100016
	ErrReaderUnavailable Code = 0x80100017
	ErrNoService         Code = 0x8010001D
	ErrServiceStopped    Code = 0x8010001E
	ErrNoReaders         Code = 0x8010002E
	ErrUnsupportedCard   Code = 0x80100065
	ErrUnresponsiveCard  Code = 0x80100066
	ErrUnpoweredCard     Code = 0x80100067
	ErrResetCard         Code = 0x80100068
	ErrRemovedCard       Code = 0x80100069
)

var codeNames = map[Code]string{
	ErrCancelled:         "SCARD_E_CANCELLED",
	ErrInvalidHandle:     "SCARD_E_INVALID_HANDLE",
	ErrUnknownReader:     "SCARD_E_UNKNOWN_READER",
	ErrTimeout:           "SCARD_E_TIMEOUT",
	ErrSharingViolation:  "SCARD_E_SHARING_VIOLATION (another program holds the card)",
	ErrNoSmartcard:       "SCARD_E_NO_SMARTCARD",
	ErrProtoMismatch:     "SCARD_E_PROTO_MISMATCH",
	ErrNotReady:          "SCARD_E_NOT_READY",
	ErrCommError:         "SCARD_F_COMM_ERROR",
	ErrNotTransacted:     "SCARD_E_NOT_TRANSACTED",
	ErrReaderUnavailable: "SCARD_E_READER_UNAVAILABLE",
	ErrNoService:         "SCARD_E_NO_SERVICE",
	ErrServiceStopped:    "SCARD_E_SERVICE_STOPPED",
	ErrNoReaders:         "SCARD_E_NO_READERS_AVAILABLE",
	ErrUnsupportedCard:   "SCARD_W_UNSUPPORTED_CARD",
	ErrUnresponsiveCard:  "SCARD_W_UNRESPONSIVE_CARD",
	ErrUnpoweredCard:     "SCARD_W_UNPOWERED_CARD",
	ErrResetCard:         "SCARD_W_RESET_CARD",
	ErrRemovedCard:       "SCARD_W_REMOVED_CARD",
}

// Error names the code as pcsclite.h does.
func (c Code) Error() string {
	if n, ok := codeNames[c]; ok {
		return "pcsc: " + n
	}
	return fmt.Sprintf("pcsc: error %#08x", uint32(c))
}

// Unwrap gives the chipreader error a caller tests with errors.Is: the card is not
// there, the card does not answer, or the reader (or pcscd) is gone.
func (c Code) Unwrap() error {
	switch c {
	case ErrNoSmartcard:
		return chipreader.ErrNoCard
	case ErrRemovedCard, ErrUnresponsiveCard, ErrUnpoweredCard, ErrResetCard, ErrUnsupportedCard, ErrNotTransacted,
		ErrProtoMismatch: // an ATR without a protocol the reader speaks: an unreadable chip
		return chipreader.ErrMute
	case ErrUnknownReader, ErrReaderUnavailable, ErrNoService, ErrServiceStopped, ErrCommError, ErrNoReaders, ErrInvalidHandle:
		return chipreader.ErrDeviceGone
	}
	return nil
}

// result turns a return value into an error, nil for SCARD_S_SUCCESS.
func result(rv uint32) error {
	if rv == 0 {
		return nil
	}
	return Code(rv)
}
