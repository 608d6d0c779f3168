// Package framebuffer is a ui.Display (and ui.QRDisplay) for the Linux framebuffer device
// (/dev/fbN, Documentation/fb/api.rst): it draws the text grid with the GNU
// Unifont glyphs of package unifont, the printer picture's font too (8×16 half
// width, 16×16 for CJK, which takes two cells),
// white on black, scaled by a whole factor to fit the panel and centred.
//
// The geometry comes from sysfs: /sys/class/graphics/fbN/virtual_size,
// bits_per_pixel and stride (drivers/video/fbdev/core/fbsysfs.c). Pixels are
// RGB565 at 16 bpp and XRGB8888 at 32 bpp, little endian as on the ARM boards
// this runs on. Each frame is written whole with one write at offset 0, so no
// mmap is needed.
package framebuffer

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/mattn/go-runewidth"

	"posfw/drivers/qrcode"
	"posfw/drivers/unifont"
	"posfw/ui"
)

// The cell is the size of a half-width Unifont glyph, in pixels.
const (
	cellW = 8
	cellH = unifont.Height
)

// maxFrame bounds the frame buffer this package allocates (a 4K panel at
// 32 bpp is 33 MB), so a garbled sysfs value cannot exhaust memory.
const maxFrame = 64 << 20

// maxSide is the largest width or height taken (fbdev's own limit is 32767 in
// practice), which also keeps the size arithmetic far from overflow.
const maxSide = 1 << 15

// Geometry is a framebuffer's layout in memory.
type Geometry struct {
	Width, Height int // pixels (sysfs virtual_size)
	BitsPerPixel  int // 16 (RGB565) or 32 (XRGB8888)
	Stride        int // bytes from one pixel row to the next
}

// pixel formats: the bytes of a white and a black pixel, little endian.
var formats = map[int]struct{ white, black []byte }{
	16: {white: []byte{0xff, 0xff}, black: []byte{0x00, 0x00}},
	32: {white: []byte{0xff, 0xff, 0xff, 0xff}, black: []byte{0x00, 0x00, 0x00, 0xff}}, // X set: opaque where drivers read it as alpha
}

// FB draws a cols × rows text grid on a framebuffer.
type FB struct {
	mu         sync.Mutex
	w          io.WriterAt
	c          io.Closer // the device when Open opened it
	g          Geometry
	cols, rows int
	scale      int // whole pixels a font pixel takes
	x0, y0     int // the grid's top left, in pixels
	white      []byte
	black      []byte
	frame      []byte
}

// Open opens the framebuffer device dev (e.g. /dev/fb0) for a cols × rows
// grid, reading its geometry from /sys/class/graphics.
func Open(dev string, cols, rows int) (*FB, error) {
	return OpenSysfs("/sys/class/graphics", dev, cols, rows)
}

var fbName = regexp.MustCompile(`^fb[0-9]+$`)

// OpenSysfs is Open with the sysfs graphics class directory given, so tests
// can point it at plain files: the geometry is read from sysfs/fbN, where fbN
// is dev's base name.
func OpenSysfs(sysfs, dev string, cols, rows int) (*FB, error) {
	name := filepath.Base(dev)
	if !fbName.MatchString(name) {
		return nil, fmt.Errorf("framebuffer: device %q is not named fbN", dev)
	}
	g, err := ReadGeometry(filepath.Join(sysfs, name))
	if err != nil {
		return nil, err
	}
	fb, err := New(nil, g, cols, rows) // checked before the device is touched
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("framebuffer: %v", err)
	}
	fb.w, fb.c = f, f
	return fb, nil
}

// ReadGeometry reads a framebuffer's geometry from its sysfs directory
// (e.g. /sys/class/graphics/fb0).
func ReadGeometry(dir string) (Geometry, error) {
	var v [3]string
	for i, name := range []string{"virtual_size", "bits_per_pixel", "stride"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return Geometry{}, fmt.Errorf("framebuffer: geometry: %v", err)
		}
		v[i] = string(b)
	}
	return ParseGeometry(v[0], v[1], v[2])
}

// ParseGeometry reads the sysfs attributes virtual_size ("WIDTH,HEIGHT"),
// bits_per_pixel and stride, as the kernel prints them (fbsysfs.c).
func ParseGeometry(virtualSize, bitsPerPixel, stride string) (Geometry, error) {
	virtualSize, bitsPerPixel, stride = strings.TrimSpace(virtualSize), strings.TrimSpace(bitsPerPixel), strings.TrimSpace(stride)
	var g Geometry
	w, h, ok := strings.Cut(virtualSize, ",")
	var errW, errH error
	g.Width, errW = strconv.Atoi(w)
	g.Height, errH = strconv.Atoi(h)
	if !ok || errW != nil || errH != nil {
		return g, fmt.Errorf("framebuffer: virtual_size %q: want WIDTH,HEIGHT", virtualSize)
	}
	var err error
	if g.BitsPerPixel, err = strconv.Atoi(bitsPerPixel); err != nil {
		return g, fmt.Errorf("framebuffer: bits_per_pixel %q is not a number", bitsPerPixel)
	}
	if g.Stride, err = strconv.Atoi(stride); err != nil {
		return g, fmt.Errorf("framebuffer: stride %q is not a number", stride)
	}
	return g, nil
}

// New returns an FB drawing a cols × rows grid into w, a framebuffer of
// geometry g. It fails when g is not one this package draws, or the grid does
// not fit.
func New(w io.WriterAt, g Geometry, cols, rows int) (*FB, error) {
	f, ok := formats[g.BitsPerPixel]
	switch {
	case !ok:
		return nil, fmt.Errorf("framebuffer: %d bits per pixel not supported (want 16 or 32)", g.BitsPerPixel)
	case g.Width <= 0 || g.Height <= 0 || g.Width > maxSide || g.Height > maxSide:
		return nil, fmt.Errorf("framebuffer: bad size %d×%d", g.Width, g.Height)
	case g.Stride < g.Width*g.BitsPerPixel/8:
		return nil, fmt.Errorf("framebuffer: stride %d is less than a %d-pixel row", g.Stride, g.Width)
	case g.Stride > maxFrame/g.Height:
		return nil, fmt.Errorf("framebuffer: %d×%d frame is larger than %d bytes", g.Stride, g.Height, maxFrame)
	case cols <= 0 || rows <= 0:
		return nil, fmt.Errorf("framebuffer: bad grid %d×%d", cols, rows)
	case cols > g.Width/cellW || rows > g.Height/cellH: // divided: no overflow
		return nil, fmt.Errorf("framebuffer: a %d×%d grid needs %d×%d pixels, the panel is %d×%d",
			cols, rows, cols*cellW, rows*cellH, g.Width, g.Height)
	}
	scale := min(g.Width/(cols*cellW), g.Height/(rows*cellH))
	return &FB{
		w: w, g: g, cols: cols, rows: rows, scale: scale,
		x0:    (g.Width - cols*cellW*scale) / 2,
		y0:    (g.Height - rows*cellH*scale) / 2,
		white: f.white, black: f.black,
		frame: make([]byte, g.Stride*g.Height),
	}, nil
}

// Geometry is the framebuffer's geometry.
func (fb *FB) Geometry() Geometry { return fb.g }

// Show draws lines, one a grid row, and writes the whole frame. Lines past
// the last row and cells past the last column are not drawn; characters the
// font lacks are drawn as hollow boxes.
func (fb *FB) Show(lines []string) error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.clear()
	fb.drawText(lines)
	return fb.write()
}

// ShowQR draws frame as Show does, and payload as a QR code across the frame's
// leading blank rows: as large as they allow in whole panel pixels a module, dark
// modules on a light square that includes the quiet zone, centred. It is level M
// (15 % may be lost to glare or a scratch) where that fits, else level L. A code
// that does not fit at one pixel a module is ui.ErrNoQR, and nothing is drawn.
func (fb *FB) ShowQR(payload string, frame []string) error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	frame = frame[:min(len(frame), fb.rows)]
	rows := ui.QRBlankRows(frame)
	area := image.Rect(fb.x0, fb.y0, fb.x0+fb.cols*cellW*fb.scale, fb.y0+rows*cellH*fb.scale)
	var m *qrcode.Matrix
	px := 0
	for _, l := range []qrcode.Level{qrcode.M, qrcode.L} {
		var err error
		if m, err = qrcode.Encode(payload, l); err != nil {
			return fmt.Errorf("framebuffer: %w: %v", ui.ErrNoQR, err)
		}
		if px = min(area.Dx(), area.Dy()) / (m.Size + 2*qrcode.QuietZone); px >= 1 {
			break
		}
	}
	if px < 1 {
		return fmt.Errorf("framebuffer: %w: %d modules a side do not fit %d rows", ui.ErrNoQR, m.Size, rows)
	}
	fb.clear()
	fb.drawText(frame)
	side := (m.Size + 2*qrcode.QuietZone) * px
	at := image.Pt(area.Min.X+(area.Dx()-side)/2, area.Min.Y+(area.Dy()-side)/2)
	fb.rect(image.Rectangle{at, at.Add(image.Pt(side, side))}, fb.white)
	q := at.Add(image.Pt(qrcode.QuietZone*px, qrcode.QuietZone*px))
	for y := range m.Size {
		for x := range m.Size {
			if m.Dark(x, y) {
				p := q.Add(image.Pt(x*px, y*px))
				fb.rect(image.Rectangle{p, p.Add(image.Pt(px, px))}, fb.black)
			}
		}
	}
	return fb.write()
}

// rect paints r (panel pixels, inside the panel) with the pixel bytes c.
func (fb *FB) rect(r image.Rectangle, c []byte) {
	r = r.Intersect(image.Rect(0, 0, fb.g.Width, fb.g.Height))
	bpp := len(c)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		off := y*fb.g.Stride + r.Min.X*bpp
		for x := r.Min.X; x < r.Max.X; x++ {
			copy(fb.frame[off:], c)
			off += bpp
		}
	}
}

// write writes the whole frame to the device.
func (fb *FB) write() error {
	if _, err := fb.w.WriteAt(fb.frame, 0); err != nil {
		return fmt.Errorf("framebuffer: %v", err)
	}
	return nil
}

// Picture is what the panel shows now, as a picture of its pixels.
func (fb *FB) Picture() *image.RGBA {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	img := image.NewRGBA(image.Rect(0, 0, fb.g.Width, fb.g.Height))
	bpp := fb.g.BitsPerPixel / 8
	for y := range fb.g.Height {
		for x := range fb.g.Width {
			p := fb.frame[y*fb.g.Stride+x*bpp:]
			var c color.RGBA
			if bpp == 4 { // XRGB8888, little endian: B G R X
				c = color.RGBA{p[2], p[1], p[0], 0xff}
			} else { // RGB565, little endian
				v := uint16(p[0]) | uint16(p[1])<<8
				r, g, b := byte(v>>11), byte(v>>5&0x3f), byte(v&0x1f)
				c = color.RGBA{r<<3 | r>>2, g<<2 | g>>4, b<<3 | b>>2, 0xff}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// drawText draws lines, one a grid row.
func (fb *FB) drawText(lines []string) {
	for row, line := range lines[:min(len(lines), fb.rows)] {
		col := 0
		for _, r := range line {
			w := runewidth.RuneWidth(r)
			if w == 0 { // control or combining: takes no cell
				continue
			}
			if col+w > fb.cols {
				break
			}
			fb.drawCell(row, col, w, r)
			col += w
		}
	}
}

// Close closes the device Open opened.
func (fb *FB) Close() error {
	if fb.c == nil {
		return nil
	}
	return fb.c.Close()
}

// clear paints the whole frame black, padding bytes past a row's pixels
// included (they are not shown).
func (fb *FB) clear() {
	n := len(fb.black)
	copy(fb.frame, fb.black)
	for i := n; i < len(fb.frame); i *= 2 { // doubling copy: memset speed
		copy(fb.frame[i:], fb.frame[:i])
	}
}

// drawCell draws r in the w cells starting at (row, col). A glyph narrower
// than its cells is centred in them; a wider one is cut to them.
func (fb *FB) drawCell(row, col, w int, r rune) {
	g, ok := unifont.Lookup(r)
	bits, gw := g.Rows, g.Width
	if !ok {
		bits, gw = box(w*cellW), w*cellW
	}
	dx := max((w*cellW-gw)/2, 0)
	for y := range cellH {
		for x := 0; x < gw && dx+x < w*cellW; x++ {
			if bits[y]&(0x8000>>x) != 0 {
				fb.fill(col*cellW+dx+x, row*cellH+y)
			}
		}
	}
}

// fill paints font pixel (x, y) of the grid white: a scale × scale block.
func (fb *FB) fill(x, y int) {
	bpp := len(fb.white)
	px, py := fb.x0+x*fb.scale, fb.y0+y*fb.scale
	for j := range fb.scale {
		off := (py+j)*fb.g.Stride + px*bpp
		for i := range fb.scale {
			copy(fb.frame[off+i*bpp:], fb.white)
		}
	}
}

// box is a hollow box w pixels wide (8 or 16), for characters without a
// glyph: a blank row above and below, as Unifont leaves.
func box(w int) (rows [cellH]uint16) {
	side := uint16(0x8000) | uint16(0x8000)>>(w-1)
	for y := 2; y < cellH-2; y++ {
		rows[y] = side
	}
	rows[1] = uint16(0xffff) << (16 - w)
	rows[cellH-2] = rows[1]
	return rows
}
