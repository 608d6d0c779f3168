package pcsc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

// The layout of READER_STATE in pcsc-lite 1.9.9 (eventhandler.h), checked by hand: the
// 33-byte ATR is padded to 36 so that cardAtrLength is aligned.
func TestReaderStateLayout(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want int
	}{
		{"READER_STATE", readerStateSize, 184},
		{"readerStates[16]", readerStatesSize, 2944},
		{"connect_struct", connectSize, 152},
		{"transmit_struct", transmitSize, 32},
		{"MAX_BUFFER_SIZE_EXTENDED", maxBufferExt, 65548},
	} {
		if tt.got != tt.want {
			t.Errorf("sizeof %s = %d; want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestDecodeReaderStates(t *testing.T) {
	two := []ReaderState{
		{Name: "Virtual PCD 00 00", Events: 3, State: StatePresent | StatePowered | 0x20, Sharing: -1, ATR: []byte{0x3B, 0x02, 0x14, 0x50}, Protocol: ProtocolT0},
		{Name: "Virtual PCD 00 01", State: StateAbsent, ATR: []byte{}},
	}
	good := encodeReaderStates(two)
	// A hand-made entry at the C offsets: name, eventCounter at 128, readerState at 132,
	// readerSharing at 136, cardAtr at 140, cardAtrLength at 176, cardProtocol at 180.
	hand := make([]byte, readerStatesSize)
	copy(hand, "ACS ACR39U ICC Reader 00 00")
	binary.LittleEndian.PutUint32(hand[128:], 9)
	binary.LittleEndian.PutUint32(hand[132:], StatePresent)
	copy(hand[140:], []byte{0x3B, 0x80, 0x80, 0x01, 0x01})
	binary.LittleEndian.PutUint32(hand[176:], 5)
	binary.LittleEndian.PutUint32(hand[180:], ProtocolT1)

	noNUL := bytes.Clone(good)
	copy(noNUL[readerStateSize:readerStateSize+maxReaderName], bytes.Repeat([]byte{'A'}, maxReaderName))
	longATR := bytes.Clone(good)
	binary.LittleEndian.PutUint32(longATR[176:], 34)

	for _, tt := range []struct {
		name    string
		in      []byte
		want    []ReaderState
		wantErr bool
	}{
		{"two readers", good, two, false},
		{"C offsets", hand, []ReaderState{{Name: "ACS ACR39U ICC Reader 00 00", Events: 9, State: StatePresent, ATR: []byte{0x3B, 0x80, 0x80, 0x01, 0x01}, Protocol: ProtocolT1}}, false},
		{"no reader", make([]byte, readerStatesSize), nil, false},
		{"short", good[:100], nil, true},
		{"long", append(bytes.Clone(good), 0), nil, true},
		{"name without NUL", noNUL, nil, true},
		{"ATR of 34 bytes", longATR, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReaderStates(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("DecodeReaderStates = %v, %v; want an error matching ErrProtocol", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeReaderStates: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeReaderStates = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestPresent(t *testing.T) {
	for _, tt := range []struct {
		state uint32
		want  bool
	}{
		{StateAbsent, false},
		{StatePresent, true},
		{StatePresent | StatePowered | 0x20, true},
		{StatePresent | StateSwallowed, true},
		{StateUnknown, false},
	} {
		if got := (ReaderState{State: tt.state}).Present(); got != tt.want {
			t.Errorf("Present() of state %#x = %v; want %v", tt.state, got, tt.want)
		}
	}
}

// FuzzDecodeReaderStates: any bytes decode or fail, never panic, and what decodes
// encodes back to the same readers.
func FuzzDecodeReaderStates(f *testing.F) {
	f.Add(encodeReaderStates([]ReaderState{{Name: "Virtual PCD 00 00", State: StatePresent, ATR: []byte{0x3B, 0x02, 0x14, 0x50}}}))
	f.Add(make([]byte, readerStatesSize))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeReaderStates(b)
		if err != nil {
			return
		}
		back, err := DecodeReaderStates(encodeReaderStates(s))
		if err != nil || !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip of %+v = %+v, %v", s, back, err)
		}
	})
}

// FuzzAnswers: the fixed answers of Connect and Transmit decode or fail, never panic,
// and a decoded success is within the protocol's bounds.
func FuzzAnswers(f *testing.F) {
	f.Add(make([]byte, connectSize), make([]byte, transmitSize))
	f.Add([]byte{1, 2, 3}, u32s(1, 2, 8, 5, 2, 8, 70000, 0))
	f.Fuzz(func(t *testing.T, connect, transmit []byte) {
		if a, err := decodeConnect(connect); err == nil && a.rv == 0 && a.protocol != ProtocolT0 && a.protocol != ProtocolT1 {
			t.Fatalf("decodeConnect accepted protocol %#x", a.protocol)
		}
		if a, err := decodeTransmit(transmit); err == nil && a.rv == 0 && (a.recvLen < 2 || a.recvLen > maxBufferExt) {
			t.Fatalf("decodeTransmit accepted %d bytes", a.recvLen)
		}
	})
}
