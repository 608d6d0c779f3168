package apdu

import (
	"bytes"
	"errors"
	"testing"

	"posfw/drivers/testkit"
)

func TestCommandRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    Command
		want string
	}{
		{"SELECT PSE (case 4)", SelectByName([]byte("1PAY.SYS.DDF01"), false), "00A40400 0E 315041592E5359532E4444463031 00"},
		{"GPO without PDOL", GetProcessingOptions(nil), "80A80000 02 8300 00"},
		{"READ RECORD (case 2)", ReadRecord(2, 1), "00B2011400"},
		{"GET DATA ATC", GetData(0x9F36), "80CA9F3600"},
		{"EXTERNAL AUTHENTICATE (case 3)", ExternalAuthenticate(testkit.MustUnhex("11223344556677883030")), "00820000 0A 11223344556677883030"},
		{"GENERATE AC ARQC", GenerateAC(ARQC, []byte{1, 2}), "80AE8000 02 0102 00"},
		{"case 1", Command{CLA: 0x00, INS: 0xC0, Le: -1}, "00C00000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.Bytes()
			if want := testkit.MustUnhex(tt.want); !bytes.Equal(got, want) {
				t.Fatalf("Bytes() = % X; want % X", got, want)
			}
			back, err := ParseCommand(got)
			if err != nil {
				t.Fatalf("ParseCommand = %v", err)
			}
			if !bytes.Equal(back.Bytes(), got) {
				t.Errorf("ParseCommand(% X).Bytes() = % X", got, back.Bytes())
			}
		})
	}
	for _, bad := range []string{"", "00A404", "00A40400 05 0102", "00A40400 00 01", "00A40400 01 02 03 04"} {
		if _, err := ParseCommand(testkit.MustUnhex(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCommand(%s) = %v; want ErrMalformed", bad, err)
		}
	}
}

// t0card answers as a T=0 card: 61xx then data on GET RESPONSE, 6Cxx for a wrong Le.
type t0card struct {
	data []byte
	sent [][]byte
}

func (c *t0card) PowerOn() ([]byte, error) { return nil, nil }
func (c *t0card) PowerOff() error          { return nil }
func (c *t0card) Transmit(b []byte) ([]byte, error) {
	c.sent = append(c.sent, b)
	cmd, err := ParseCommand(b)
	if err != nil {
		return []byte{0x67, 0x00}, nil
	}
	switch {
	case cmd.INS == insGetResponse && cmd.Le == len(c.data):
		return append(bytes.Clone(c.data), 0x90, 0x00), nil
	case len(cmd.Data) > 0:
		return []byte{0x61, byte(len(c.data))}, nil
	case cmd.Le != len(c.data):
		return []byte{0x6C, byte(len(c.data))}, nil
	}
	return append(bytes.Clone(c.data), 0x90, 0x00), nil
}

func TestExchangeT0(t *testing.T) {
	data := testkit.MustUnhex("70 03 5F34 01 01")
	for _, tt := range []struct {
		name string
		cmd  Command
		sent []string
	}{
		{"61xx: GET RESPONSE", SelectByName(testkit.MustUnhex("A0000003330101"), false), []string{"00A40400 07 A0000003330101 00", "00C0000006"}},
		{"6Cxx: again with the right Le", ReadRecord(1, 1), []string{"00B2010C00", "00B2010C06"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			card := &t0card{data: data}
			r, err := Exchange(card, tt.cmd.Bytes())
			if err != nil {
				t.Fatalf("Exchange = %v", err)
			}
			if !r.OK() || !bytes.Equal(r.Data, data) {
				t.Errorf("Exchange = % X %04X; want % X 9000", r.Data, r.SW, data)
			}
			if len(card.sent) != len(tt.sent) {
				t.Fatalf("sent %d commands; want %d", len(card.sent), len(tt.sent))
			}
			for i, s := range tt.sent {
				if want := testkit.MustUnhex(s); !bytes.Equal(card.sent[i], want) {
					t.Errorf("command %d = % X; want % X", i, card.sent[i], want)
				}
			}
		})
	}
}

// endless always answers 61 01: Exchange must give up, not loop.
type endless struct{}

func (endless) PowerOn() ([]byte, error)          { return nil, nil }
func (endless) PowerOff() error                   { return nil }
func (endless) Transmit(b []byte) ([]byte, error) { return []byte{0x00, 0x61, 0x01}, nil }

func TestExchangeGivesUp(t *testing.T) {
	if _, err := Exchange(endless{}, GetData(0x9F36).Bytes()); !errors.Is(err, ErrMalformed) {
		t.Errorf("Exchange with a card that always says 61xx = %v; want ErrMalformed", err)
	}
}

// FuzzParseCommand: any bytes parse or fail; what parses encodes back to the same bytes.
func FuzzParseCommand(f *testing.F) {
	f.Add(testkit.MustUnhex("00A40400 0E 315041592E5359532E4444463031 00"))
	f.Add(testkit.MustUnhex("00B2011400"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatalf("ParseCommand(% X).Bytes() = % X", b, c.Bytes())
		}
		if r, err := ParseResponse(b); err == nil && !bytes.Equal(r.Bytes(), b) {
			t.Fatalf("ParseResponse(% X).Bytes() = % X", b, r.Bytes())
		}
	})
}
