// Package qrtest reads QR codes back out of pictures in tests, with a real QR reader:
// Debian's zbarimg (package zbar-tools, which scripts/deps installs), so that a test
// proves a symbol scans, not merely that it was drawn as intended.
package qrtest

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Decode returns the data of every QR code zbarimg finds in img, in the order it
// reports them. Where zbarimg is not installed the test is skipped with the reason,
// except under CI (CI set in the environment), where its absence fails the test:
// CI installs it.
func Decode(tb testing.TB, img image.Image) []string {
	tb.Helper()
	bin, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("zbarimg is not installed (scripts/deps installs zbar-tools)")
		}
		tb.Skip("zbarimg not installed: apt-get install zbar-tools (scripts/deps does) to decode QR codes in tests")
	}
	file := filepath.Join(tb.TempDir(), "qr.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return DecodeFile(tb, bin, file)
}

// DecodeFile is Decode of a PNG file, with zbarimg at bin.
func DecodeFile(tb testing.TB, bin, file string) []string {
	tb.Helper()
	// --raw: the data's bytes as they are, not guessed into another charset; one
	// symbol a line.
	cmd := exec.Command(bin, "--raw", "-q", "--nodbus", "-Sdisable", "-Sqrcode.enable", "-Sbinary", file)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 4 {
		return nil // zbarimg: no symbol found
	}
	if err != nil {
		tb.Fatalf("zbarimg %s: %v: %s", file, err, stderr.String())
	}
	s := strings.TrimSuffix(out.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
