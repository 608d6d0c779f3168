package pinpad_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/frame"
	"posfw/drivers/serialport"
	"posfw/drivers/testkit"
)

// scripted is a PIN pad played by the test on the controller end of a real PTY, for
// the link's failure cases: it sees each byte the driver sends and answers by hand.
type scripted struct {
	t   *testing.T
	pty *serialport.PTY
	evs chan frame.Event
}

func scriptedPad(t *testing.T, c pinpad.Config) (*pinpad.Driver, *scripted) {
	t.Helper()
	pty, err := serialport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{t: t, pty: pty, evs: make(chan frame.Event, 64)}
	go func() {
		var dec frame.Decoder
		buf := make([]byte, 256)
		for {
			n, err := pty.Read(buf)
			for _, c := range buf[:n] {
				if ev, ok := dec.Step(c); ok {
					s.evs <- ev
				}
			}
			if err != nil {
				close(s.evs)
				return
			}
		}
	}()
	d := pinpad.New(serialport.PathOpener(pty.Path(), serialport.Config{Baud: 115200}), c)
	t.Cleanup(func() { d.Close(); pty.Close() })
	return d, s
}

func (s *scripted) send(h string) {
	s.t.Helper()
	b := testkit.Unhex(s.t, h)
	if _, err := s.pty.Write(b); err != nil {
		s.t.Fatal(err)
	}
}

// expect returns the next thing the driver sent, which must be of kind k.
func (s *scripted) expect(k frame.Kind) frame.Event {
	s.t.Helper()
	select {
	case ev := <-s.evs:
		if ev.Kind != k {
			s.t.Fatalf("driver sent %v; want %v", ev.Kind, k)
		}
		return ev
	case <-time.After(3 * time.Second):
		s.t.Fatalf("driver sent nothing; want %v", k)
	}
	return frame.Event{}
}

// infoAnswer is the info response to request #1, framed.
const infoAnswer = "02 00 18 90 01 00 01 01 41 02 01 42 03 01 43 04 0a ff ff 98 76 54 32 10 e0 00 03 03 "

func infoCall(d *pinpad.Driver) chan error {
	done := make(chan error, 1)
	go func() {
		info, err := d.Info(context.Background())
		if err == nil && (info.Model != "A" || info.KSN.String() != "FFFF9876543210E00003") {
			err = errors.New("wrong info: " + info.Model + " " + info.KSN.String())
		}
		done <- err
	}()
	return done
}

// TestAnswerBadLRC: the PIN pad's answer arrives with a bad LRC; the driver NAKs it,
// and takes the resend.
func TestAnswerBadLRC(t *testing.T) {
	d, pad := scriptedPad(t, pinpad.Config{})
	done := infoCall(d)
	if ev := pad.expect(frame.Frame); !bytes.Equal(ev.Payload, []byte{0x10, 0x01}) {
		t.Fatalf("driver sent % x; want the info request 10 01", ev.Payload)
	}
	pad.send("06")
	pad.send(infoAnswer + "00") // LRC wrong
	pad.expect(frame.Nak)
	pad.send(infoAnswer + "be")
	pad.expect(frame.Ack)
	if err := <-done; err != nil {
		t.Errorf("Info = %v; want the resent answer", err)
	}
}

// TestRequestNAKed: the PIN pad NAKs the request; the driver resends the same bytes.
func TestRequestNAKed(t *testing.T) {
	d, pad := scriptedPad(t, pinpad.Config{})
	done := infoCall(d)
	first := pad.expect(frame.Frame)
	pad.send("15")
	again := pad.expect(frame.Frame)
	if !bytes.Equal(first.Payload, again.Payload) {
		t.Errorf("resent request % x; want % x", again.Payload, first.Payload)
	}
	pad.send("06 ff 00 41 42 0d 0a" + infoAnswer + "be") // ACK, line noise, the answer
	pad.expect(frame.Ack)
	if err := <-done; err != nil {
		t.Errorf("Info after a NAK and noise = %v", err)
	}
}

// TestNoAck: a PIN pad that never acknowledges gets the request four times, then
// the driver reports it gone.
func TestNoAck(t *testing.T) {
	d, pad := scriptedPad(t, pinpad.Config{Link: frame.LinkConfig{AckTimeout: 50 * time.Millisecond}})
	done := infoCall(d)
	for range 4 {
		pad.expect(frame.Frame)
	}
	err := <-done
	if !errors.Is(err, pinpad.ErrDeviceGone) || !errors.Is(err, frame.ErrNoAck) {
		t.Errorf("Info to a PIN pad that never ACKs = %v; want ErrDeviceGone (no ACK)", err)
	}
	select {
	case ev := <-pad.evs:
		t.Errorf("driver sent a %v after giving up", ev.Kind)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestNoAnswer: acknowledged but never answered is a PIN pad gone too, not a hang.
func TestNoAnswer(t *testing.T) {
	d, pad := scriptedPad(t, pinpad.Config{AnswerTimeout: 100 * time.Millisecond})
	done := infoCall(d)
	pad.expect(frame.Frame)
	pad.send("06")
	if err := <-done; !errors.Is(err, pinpad.ErrDeviceGone) {
		t.Errorf("Info to a PIN pad that ACKs but never answers = %v; want ErrDeviceGone", err)
	}
}
