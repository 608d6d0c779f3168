package framebuffer

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posfw/drivers/unifont"
)

var sample = flag.String("sample", "", "write a PNG of one rendered frame to this file")

// fakeFB makes a sysfs directory and an empty device file for g, and opens them.
func fakeFB(t testing.TB, g Geometry, cols, rows int) (*FB, string) {
	t.Helper()
	dir := t.TempDir()
	sys := filepath.Join(dir, "sys", "fb1")
	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{
		"virtual_size":   fmt.Sprintf("%d,%d\n", g.Width, g.Height),
		"bits_per_pixel": fmt.Sprintf("%d\n", g.BitsPerPixel),
		"stride":         fmt.Sprintf("%d\n", g.Stride),
	} {
		if err := os.WriteFile(filepath.Join(sys, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dev := filepath.Join(dir, "fb1")
	if err := os.WriteFile(dev, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fb, err := OpenSysfs(filepath.Join(dir, "sys"), dev, cols, rows)
	if err != nil {
		t.Fatalf("OpenSysfs(%v) = %v", g, err)
	}
	t.Cleanup(func() { fb.Close() })
	return fb, dev
}

// readInk reads the device file back as a picture: true where a pixel is
// white. Any pixel that is neither the exact white nor the exact black of the
// format is an error, as is a file of the wrong size.
func readInk(t *testing.T, dev string, g Geometry) [][]bool {
	t.Helper()
	b, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != g.Stride*g.Height {
		t.Fatalf("frame is %d bytes; want %d", len(b), g.Stride*g.Height)
	}
	white, black := map[int][]byte{16: {0xff, 0xff}, 32: {0xff, 0xff, 0xff, 0xff}}[g.BitsPerPixel],
		map[int][]byte{16: {0, 0}, 32: {0, 0, 0, 0xff}}[g.BitsPerPixel]
	n := g.BitsPerPixel / 8
	ink := make([][]bool, g.Height)
	for y := range ink {
		ink[y] = make([]bool, g.Width)
		for x := range ink[y] {
			p := b[y*g.Stride+x*n:][:n]
			switch {
			case bytes.Equal(p, white):
				ink[y][x] = true
			case !bytes.Equal(p, black):
				t.Fatalf("pixel (%d,%d) = % x; want white % x or black % x", x, y, p, white, black)
			}
		}
	}
	return ink
}

// cellText is what the frame in TestShow puts in each cell: the rune and
// which half of it (0 left, 1 right of a wide character).
type cellText struct {
	r    rune
	half int
}

func TestShow(t *testing.T) {
	lines := []string{"A", "", "  中x", "", "", "", "", "12345678901234567890"}
	cells := map[[2]int]cellText{ // {row, col}
		{0, 0}: {'A', 0},
		{2, 2}: {'中', 0}, {2, 3}: {'中', 1},
		{2, 4}: {'x', 0},
	}
	for i, r := range lines[7] {
		cells[[2]int{7, i}] = cellText{r, 0}
	}
	for _, tt := range []struct {
		g             Geometry
		scale, x0, y0 int // worked out by hand for a 20×8 grid (160×128 pixels at scale 1)
	}{
		{Geometry{320, 240, 16, 640}, 1, 80, 56},
		{Geometry{480, 320, 32, 1920}, 2, 80, 32},
		{Geometry{320, 240, 16, 704}, 1, 80, 56}, // padded rows
		{Geometry{160, 128, 32, 640}, 1, 0, 0},   // exact fit
		{Geometry{800, 480, 16, 1600}, 3, 160, 48},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", tt.g.Width, tt.g.Height, tt.g.BitsPerPixel), func(t *testing.T) {
			fb, dev := fakeFB(t, tt.g, 20, 8)
			if err := fb.Show(lines); err != nil {
				t.Fatalf("Show = %v", err)
			}
			ink := readInk(t, dev, tt.g)
			// Every pixel: inside a cell with text it is the scaled glyph's
			// pixel; everywhere else (blank cells, margins) it is black.
			bad := 0
			for y := range ink {
				for x := range ink[y] {
					want := false
					gx, gy := (x-tt.x0)/tt.scale, (y-tt.y0)/tt.scale
					if x >= tt.x0 && y >= tt.y0 && gx < 20*8 && gy < 8*16 {
						if c, ok := cells[[2]int{gy / 16, gx / 8}]; ok {
							g, _ := unifont.Lookup(c.r)
							bit := c.half*8 + gx%8
							want = bit < g.Width && g.Rows[gy%16]&(0x8000>>bit) != 0
						}
					}
					if ink[y][x] != want && bad < 5 {
						bad++
						t.Errorf("pixel (%d,%d) ink = %v; want %v", x, y, ink[y][x], want)
					}
				}
			}
			// The wide character really spans two cells: ink in both.
			for half := range 2 {
				if !cellInk(ink, tt.scale, tt.x0, tt.y0, 2, 2+half) {
					t.Errorf("中 has no ink in cell (2,%d)", 2+half)
				}
			}
			if cellInk(ink, tt.scale, tt.x0, tt.y0, 1, 0) {
				t.Errorf("blank cell (1,0) has ink")
			}
			if *sample != "" && tt.g.Width == 480 {
				writePNG(t, *sample, ink)
			}
		})
	}
}

// cellInk reports whether any pixel of cell (row, col) is white.
func cellInk(ink [][]bool, scale, x0, y0, row, col int) bool {
	for y := y0 + row*16*scale; y < y0+(row+1)*16*scale; y++ {
		for x := x0 + col*8*scale; x < x0+(col+1)*8*scale; x++ {
			if ink[y][x] {
				return true
			}
		}
	}
	return false
}

func writePNG(t *testing.T, name string, ink [][]bool) {
	img := image.NewGray(image.Rect(0, 0, len(ink[0]), len(ink)))
	for y := range ink {
		for x := range ink[y] {
			if ink[y][x] {
				img.SetGray(x, y, color.Gray{255})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestShowClips checks input the grid cannot hold: it is cut, never drawn
// outside the grid, and a redraw clears the previous frame.
func TestShowClips(t *testing.T) {
	g := Geometry{320, 240, 16, 640}
	fb, dev := fakeFB(t, g, 4, 2) // 32×32 pixels, scale 7: 224×224 at (48,8)
	for _, tt := range []struct {
		name  string
		lines []string
		ink   [][2]int // cells {row, col} with ink; all others blank
	}{
		{"too long", []string{"ABCDEF"}, [][2]int{{0, 0}, {0, 1}, {0, 2}, {0, 3}}},
		{"wide at edge", []string{"ABC中"}, [][2]int{{0, 0}, {0, 1}, {0, 2}}},
		{"too many lines", []string{"", "", "A", "B"}, nil},
		{"control chars", []string{"\x00\tA"}, [][2]int{{0, 0}}},
		{"no glyph: box", []string{"", "\U0001F600"}, [][2]int{{1, 0}, {1, 1}}},
		{"empty frame", nil, nil},
	} {
		if err := fb.Show(tt.lines); err != nil {
			t.Fatalf("Show(%q) = %v", tt.lines, err)
		}
		ink := readInk(t, dev, g)
		want := map[[2]int]bool{}
		for _, c := range tt.ink {
			want[c] = true
		}
		for row := range 2 {
			for col := range 4 {
				if got := cellInk(ink, 7, 48, 8, row, col); got != want[[2]int{row, col}] {
					t.Errorf("Show(%q): cell (%d,%d) ink = %v; want %v", tt.lines, row, col, got, !got)
				}
			}
		}
		// Nothing outside the grid.
		for y := range ink {
			for x := range ink[y] {
				if ink[y][x] && (x < 48 || x >= 48+224 || y < 8 || y >= 8+224) {
					t.Fatalf("Show(%q): ink at (%d,%d), outside the grid", tt.lines, x, y)
				}
			}
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "sys", "fb0")
	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(dir, "fb0") // never created: only "no device" gets that far
	for _, tt := range []struct {
		name              string
		size, bpp, stride string
		dev               string
		cols, rows        int
		want              string
	}{
		{"24 bpp", "320,240", "24", "960", dev, 20, 8, "24 bits per pixel not supported"},
		{"size garbage", "320x240", "16", "640", dev, 20, 8, `virtual_size "320x240"`},
		{"stride garbage", "320,240", "16", "", dev, 20, 8, `stride "" is not a number`},
		{"bpp garbage", "320,240", "sixteen", "640", dev, 20, 8, "bits_per_pixel"},
		{"short stride", "320,240", "16", "600", dev, 20, 8, "stride 600 is less than a 320-pixel row"},
		{"zero size", "0,240", "16", "640", dev, 20, 8, "bad size 0×240"},
		{"huge", "32768,32768", "32", "131072", dev, 20, 8, "larger than"},
		{"overflowing width", "2147483647,240", "32", "640", dev, 20, 8, "bad size"},
		{"grid too wide", "320,240", "16", "640", dev, 41, 8, "a 41×8 grid needs 328×128 pixels, the panel is 320×240"},
		{"grid too tall", "320,240", "16", "640", dev, 20, 16, "needs 160×256"},
		{"no grid", "320,240", "16", "640", dev, 0, 8, "bad grid 0×8"},
		{"huge grid", "320,240", "16", "640", dev, math.MaxInt, 8, "grid"},
		{"not fbN", "320,240", "16", "640", filepath.Join(dir, "tty0"), 20, 8, "not named fbN"},
		{"no device", "320,240", "16", "640", dev, 20, 8, "no such file"},
	} {
		for name, v := range map[string]string{"virtual_size": tt.size, "bits_per_pixel": tt.bpp, "stride": tt.stride} {
			os.WriteFile(filepath.Join(sys, name), []byte(v+"\n"), 0o644)
		}
		fb, err := OpenSysfs(filepath.Join(dir, "sys"), tt.dev, tt.cols, tt.rows)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: OpenSysfs = %v, %v; want error containing %q", tt.name, fb, err, tt.want)
		}
	}
	if _, err := OpenSysfs(filepath.Join(dir, "none"), dev, 20, 8); err == nil || !strings.Contains(err.Error(), "virtual_size") {
		t.Errorf("OpenSysfs without sysfs files = %v; want an error naming virtual_size", err)
	}
}

func FuzzGeometry(f *testing.F) {
	f.Add("320,240\n", "16\n", "640\n", 20, 8)
	f.Add("480,320", "32", "1920", 20, 8)
	f.Add("8,16", "16", "16", 1, 1)
	f.Fuzz(func(t *testing.T, size, bpp, stride string, cols, rows int) {
		g, err := ParseGeometry(size, bpp, stride)
		if err != nil {
			return
		}
		w := &sink{}
		fb, err := New(w, g, cols, rows)
		if err != nil {
			return
		}
		if err := fb.Show([]string{"A中\U0001F600 ABCDEFGHIJKLMNOPQRSTUVWXYZ", "x"}); err != nil {
			t.Fatalf("Show = %v", err)
		}
		if w.n != g.Stride*g.Height || w.off != 0 {
			t.Fatalf("wrote %d bytes at %d; want %d at 0", w.n, w.off, g.Stride*g.Height)
		}
	})
}

// sink is a WriterAt that only counts.
type sink struct{ n, off int }

func (s *sink) WriteAt(p []byte, off int64) (int, error) {
	s.n, s.off = len(p), int(off)
	return len(p), nil
}

func BenchmarkShow(b *testing.B) {
	fb, err := New(&sink{}, Geometry{480, 320, 32, 1920}, 20, 8)
	if err != nil {
		b.Fatal(err)
	}
	lines := []string{"      SALE", "", "Amount:", "         CNY 1234.56", "请刷卡或插卡", "", "", "CANCEL to go back"}
	for b.Loop() {
		if err := fb.Show(lines); err != nil {
			b.Fatal(err)
		}
	}
}
