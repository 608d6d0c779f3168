package qrcode_test

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"posfw/drivers/qrcode"
	"posfw/drivers/qrcode/qrtest"
)

// picture draws m with its quiet zone, scale pixels a module.
func picture(m *qrcode.Matrix, scale int) image.Image {
	side := (m.Size + 2*qrcode.QuietZone) * scale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			c := color.Gray{0xFF}
			if m.Dark(x/scale-qrcode.QuietZone, y/scale-qrcode.QuietZone) {
				c = color.Gray{0}
			}
			img.SetGray(x, y, c)
		}
	}
	return img
}

// annexB is EMV QRCPS MPM's example payload: UTF-8, Chinese included.
const annexB = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A"

func TestEncodeScans(t *testing.T) {
	for _, tt := range []struct {
		payload string
		level   qrcode.Level
		size    int // modules a side: the version the data needs
	}{
		{"1", qrcode.L, 21},
		{"134567890123456789", qrcode.M, 21},
		{"https://qr.alipay.com/bax01234x5yvd5q2rhm0e0c1", qrcode.M, 33},
		{annexB, qrcode.M, 0},
		{strings.Repeat("9", 2000), qrcode.L, 0},
	} {
		m, err := qrcode.Encode(tt.payload, tt.level)
		if err != nil {
			t.Fatalf("Encode(%.20q) = %v", tt.payload, err)
		}
		if tt.size != 0 && m.Size != tt.size {
			t.Errorf("Encode(%.20q) is %d modules a side; want %d", tt.payload, m.Size, tt.size)
		}
		if (m.Size-17)%4 != 0 {
			t.Errorf("Encode(%.20q) is %d modules a side: not a QR version (17 + 4v)", tt.payload, m.Size)
		}
		got := qrtest.Decode(t, picture(m, 3))
		if len(got) != 1 || got[0] != tt.payload {
			t.Errorf("zbarimg read %q; want %.40q", got, tt.payload)
		}
	}
}

func TestEncodeRefused(t *testing.T) {
	for _, tt := range []struct {
		payload string
		level   qrcode.Level
		err     string
	}{
		{"", qrcode.M, "no data"},
		{"x", qrcode.H + 1, "level 4"},
		{strings.Repeat("x", 3000), qrcode.H, "too long"},
	} {
		if m, err := qrcode.Encode(tt.payload, tt.level); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Encode(%d bytes, %d) = %v, %v; want an error with %q", len(tt.payload), tt.level, m, err, tt.err)
		}
	}
}

func FuzzEncode(f *testing.F) {
	f.Add("https://example.com", byte(1))
	f.Add("\x00\xff", byte(3))
	f.Fuzz(func(t *testing.T, payload string, level byte) {
		m, err := qrcode.Encode(payload, qrcode.Level(level%5))
		if err != nil {
			return
		}
		if m.Size < 21 || m.Size > 177 || (m.Size-17)%4 != 0 {
			t.Fatalf("Encode(%q) is %d modules a side", payload, m.Size)
		}
	})
}
