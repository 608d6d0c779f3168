package chipreader

import "testing"

// TestNoiseLength: line noise that reads as a frame of 16 KiB does not hold back the
// real answers behind it: the length is refused and the decoder finds the next frame.
func TestNoiseLength(t *testing.T) {
	var d Decoder
	good, err := Encode(CmdTransmit|Answer, []byte{StatusOK, 0x90, 0x00})
	if err != nil {
		t.Fatal(err)
	}
	frames, errs := d.Feed(append([]byte{0x02, 0x40, 0x00}, good...))
	if len(frames) != 1 || len(errs) == 0 {
		t.Fatalf("Feed(noise, answer) = %d frames, %v; want the answer, and the noise refused", len(frames), errs)
	}
}
