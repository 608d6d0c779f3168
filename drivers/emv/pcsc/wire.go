package pcsc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The messages of pcscd's client socket, as pcsc-lite 1.9.9 lays them out
// (src/winscard_msg.h, protocol 4.4): a request is a header (size, command: two
// little-endian uint32 of the host, which is little-endian on every board this runs on)
// and the command's fixed-size struct; the answer is the same struct with the return
// value filled in. Transmit alone carries a variable part after its struct, both ways.

// ProtocolMajor and ProtocolMinor are the client/server protocol this client speaks:
// pcscd refuses any other with SCARD_E_SERVICE_STOPPED.
const (
	ProtocolMajor = 4
	ProtocolMinor = 4
)

// Commands (enum pcsc_msg_commands).
const (
	cmdEstablishContext   = 0x01
	cmdReleaseContext     = 0x02
	cmdConnect            = 0x04
	cmdDisconnect         = 0x06
	cmdTransmit           = 0x09
	cmdStatus             = 0x0B
	cmdVersion            = 0x11
	cmdGetReadersState    = 0x12
	cmdWaitReaderState    = 0x13
	cmdStopWaitingReaders = 0x14
)

// Sizes from pcsclite.h.
const (
	maxReaderName    = 128 // MAX_READERNAME
	maxATR           = 33  // MAX_ATR_SIZE
	maxReaders       = 16  // PCSCLITE_MAX_READERS_CONTEXTS
	maxBufferExt     = 4 + 3 + 1<<16 + 3 + 2
	readerStateSize  = maxReaderName + 4 + 4 + 4 + maxATR + 3 + 4 + 4 // READER_STATE, ATR padded to 36
	readerStatesSize = maxReaders * readerStateSize
	connectSize      = 4 + maxReaderName + 5*4
	transmitSize     = 8 * 4
	waitSize         = 8
)

// Share modes, protocols and dispositions (pcsclite.h).
const (
	ShareExclusive = 1 // SCARD_SHARE_EXCLUSIVE
	ShareShared    = 2 // SCARD_SHARE_SHARED

	ProtocolT0  = 1 // SCARD_PROTOCOL_T0
	ProtocolT1  = 2 // SCARD_PROTOCOL_T1
	ProtocolAny = ProtocolT0 | ProtocolT1

	LeaveCard   = 0 // SCARD_LEAVE_CARD
	ResetCard   = 1 // SCARD_RESET_CARD
	UnpowerCard = 2 // SCARD_UNPOWER_CARD
)

// Reader state bits of ReaderState.State (SCARD_ABSENT and the rest).
const (
	StateUnknown   = 0x01
	StateAbsent    = 0x02
	StatePresent   = 0x04
	StateSwallowed = 0x08 // present, not powered (mute)
	StatePowered   = 0x10
)

// ReaderState is one reader as pcscd publishes it (READER_STATE).
type ReaderState struct {
	Name     string
	Events   uint32 // card insertions and removals counted by pcscd
	State    uint32 // StateAbsent, StatePresent, ...
	Sharing  int32
	ATR      []byte
	Protocol uint32
}

// Present reports whether a card is in the reader.
func (s ReaderState) Present() bool {
	return s.State&StatePresent != 0 && s.State&StateAbsent == 0
}

// ErrProtocol is a message from pcscd that is not what the protocol says: a wrong
// length, a field out of range. The connection is out of step after it and is closed.
var ErrProtocol = errors.New("pcsc: malformed message from pcscd")

// header encodes a request header.
func header(cmd uint32, size int) []byte {
	b := make([]byte, 8, 8+size)
	binary.LittleEndian.PutUint32(b, uint32(size))
	binary.LittleEndian.PutUint32(b[4:], cmd)
	return b
}

// u32s encodes little-endian words.
func u32s(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func u32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }

// cString decodes a NUL-terminated name of a fixed-size field.
func cString(b []byte) (string, error) {
	n := bytes.IndexByte(b, 0)
	if n < 0 {
		return "", fmt.Errorf("%w: name without its terminating NUL", ErrProtocol)
	}
	return string(b[:n]), nil
}

// DecodeReaderStates decodes the answer to CMD_GET_READERS_STATE and
// CMD_WAIT_READER_STATE_CHANGE: the table of every reader slot, empty slots left out.
func DecodeReaderStates(b []byte) ([]ReaderState, error) {
	if len(b) != readerStatesSize {
		return nil, fmt.Errorf("%w: reader states of %d bytes; want %d", ErrProtocol, len(b), readerStatesSize)
	}
	var out []ReaderState
	for i := range maxReaders {
		e := b[i*readerStateSize : (i+1)*readerStateSize]
		name, err := cString(e[:maxReaderName])
		if err != nil {
			return nil, err
		}
		if name == "" {
			continue
		}
		w := e[maxReaderName:]
		atrLen := binary.LittleEndian.Uint32(w[12+maxATR+3:])
		if atrLen > maxATR {
			return nil, fmt.Errorf("%w: reader %q: ATR of %d bytes", ErrProtocol, name, atrLen)
		}
		out = append(out, ReaderState{
			Name:     name,
			Events:   u32(w, 0),
			State:    u32(w, 1),
			Sharing:  int32(u32(w, 2)),
			ATR:      bytes.Clone(w[12 : 12+atrLen]),
			Protocol: binary.LittleEndian.Uint32(w[12+maxATR+3+4:]),
		})
	}
	return out, nil
}

// encodeReaderStates is DecodeReaderStates' inverse, for tests and the fuzz corpus.
func encodeReaderStates(states []ReaderState) []byte {
	b := make([]byte, readerStatesSize)
	for i, s := range states {
		e := b[i*readerStateSize:]
		copy(e[:maxReaderName-1], s.Name)
		w := e[maxReaderName:]
		binary.LittleEndian.PutUint32(w, s.Events)
		binary.LittleEndian.PutUint32(w[4:], s.State)
		binary.LittleEndian.PutUint32(w[8:], uint32(s.Sharing))
		copy(w[12:12+maxATR], s.ATR)
		binary.LittleEndian.PutUint32(w[12+maxATR+3:], uint32(len(s.ATR)))
		binary.LittleEndian.PutUint32(w[12+maxATR+3+4:], s.Protocol)
	}
	return b
}

// transmitAnswer is the fixed part of the answer to SCARD_TRANSMIT.
type transmitAnswer struct {
	recvLen uint32
	rv      uint32
}

// decodeTransmit decodes the struct of a Transmit answer; its data follows when rv is
// 0, recvLen bytes that must fit what was offered.
func decodeTransmit(b []byte) (transmitAnswer, error) {
	if len(b) != transmitSize {
		return transmitAnswer{}, fmt.Errorf("%w: transmit answer of %d bytes", ErrProtocol, len(b))
	}
	a := transmitAnswer{recvLen: u32(b, 6), rv: u32(b, 7)}
	if a.rv == 0 && (a.recvLen < 2 || a.recvLen > maxBufferExt) {
		return transmitAnswer{}, fmt.Errorf("%w: response APDU of %d bytes", ErrProtocol, a.recvLen)
	}
	return a, nil
}

// connectAnswer is the answer to SCARD_CONNECT.
type connectAnswer struct {
	card     uint32
	protocol uint32
	rv       uint32
}

func decodeConnect(b []byte) (connectAnswer, error) {
	if len(b) != connectSize {
		return connectAnswer{}, fmt.Errorf("%w: connect answer of %d bytes", ErrProtocol, len(b))
	}
	w := b[4+maxReaderName:]
	a := connectAnswer{card: u32(w, 2), protocol: u32(w, 3), rv: u32(w, 4)}
	if a.rv == 0 && a.protocol != ProtocolT0 && a.protocol != ProtocolT1 {
		return connectAnswer{}, fmt.Errorf("%w: connected with protocol %#x", ErrProtocol, a.protocol)
	}
	return a, nil
}
