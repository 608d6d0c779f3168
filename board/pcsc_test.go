package board

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"posfw/drivers/chipreader"
	"posfw/drivers/emv/cardsim"
	"posfw/drivers/emv/pcsc"
	"posfw/drivers/emv/pcsc/pcsctest"
	"posfw/drivers/emv/vpcd"
)

// withChip is the reference board with chip and contactless sections added.
func withChip(t *testing.T, chip, contactless string) []byte {
	t.Helper()
	base, err := builtin.ReadFile("boards/rpi-terminal.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(base)
	if chip != "" {
		src += "\n[serial.chip]\nport = \"" + chip + "\"\n"
	}
	if contactless != "" {
		src += "\n[serial.contactless]\nport = \"" + contactless + "\"\n"
	}
	return []byte(src)
}

// A chip or contactless port "pcsc:NAME" is a PC/SC reader: no serial settings, a
// name required, and no other device may be one.
func TestPCSCPorts(t *testing.T) {
	for _, tc := range []struct {
		name, chip, contactless string
		key, reason             string // "" when the board is good
	}{
		{"both readers", "pcsc:ACR39U", "pcsc:ACR1252U", "", ""},
		{"full name with spaces", "pcsc:Virtual PCD 00 00", "", "", ""},
		{"no name", "pcsc:", "", "serial.chip.port", `"pcsc:" names no PC/SC reader`},
		{"blank name", "pcsc:  ", "", "serial.chip.port", "names no PC/SC reader"},
		{"one reader twice", "pcsc:ACR39U", "pcsc:ACR39U", "serial.contactless.port", "serial.chip and serial.contactless cannot share"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.toml", withChip(t, tc.chip, tc.contactless))
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Parse = %v; want %s: ...%s", err, tc.key, tc.reason)
			}
		})
	}
	// Only a chip reader is a PC/SC reader.
	base, _ := builtin.ReadFile("boards/rpi-terminal.toml")
	src := strings.Replace(string(base), `port = "/dev/ttyUSB1"`, `port = "pcsc:ACR39U"`, 1)
	if _, err := Parse("test.toml", []byte(src)); err == nil || !strings.Contains(err.Error(), "serial.pinpad.port") {
		t.Errorf("Parse of a PIN pad on pcsc:ACR39U = %v; want serial.pinpad.port refused", err)
	}
}

// The board opens a "pcsc:" reader through pcscd: with the card simulator in vpcd's
// reader, the board's chip reader sees it arrive and powers it.
func TestPCSCReaderOpened(t *testing.T) {
	b, err := Parse("test.toml", withChip(t, "pcsc:Virtual PCD 00 00", "pcsc:Virtual PCD 00 01"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, dev := range []chipreader.Device{d.Chip, d.Contactless} {
		if _, ok := dev.(*pcsc.Reader); !ok || !Present(dev) {
			t.Fatalf("%v is a %T; want a present *pcsc.Reader", dev, dev)
		}
	}
	if s := d.Contactless.String(); s != `contactless reader on PC/SC "Virtual PCD 00 01"` {
		t.Errorf("String() = %q; want the kind and the PC/SC reader", s)
	}

	env := pcsctest.Start(t)
	card, err := cardsim.Open("chip")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", env.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- vpcd.New(card).Serve(ctx, conn) }()
	defer func() { cancel(); <-served }()

	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if e, err := d.Chip.Wait(wctx); err != nil || e != chipreader.EventInserted {
		t.Fatalf("chip reader Wait = %q, %v; want %q", e, err, chipreader.EventInserted)
	}
	fresh, err := cardsim.Open("chip")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fresh.PowerOn()
	atr, err := d.Chip.PowerOn()
	if err != nil || !bytes.Equal(atr, want) {
		t.Fatalf("PowerOn = % X, %v; want the chip card's ATR % X", atr, err, want)
	}
	if err := d.Chip.PowerOff(); err != nil {
		t.Errorf("PowerOff: %v", err)
	}
}
