// Package update builds, verifies and installs signed posfw update bundles into A/B slots,
// with boot counting and automatic rollback (DESIGN §9), and carries a bundle from the
// technician's laptop to the terminal (push and receive, resumable).
//
// A bundle is one file, framed as follows (all integers big-endian):
//
//	"POSFWUP1"                 8 bytes, the format's magic
//	manifest length            uint32, at most MaxManifest
//	manifest                   JSON (Manifest), the signed part
//	signature                  64 bytes: ed25519 over SignPrefix ‖ manifest
//	files                      for each manifest file in order, its gzip stream,
//	                           exactly File.Stored bytes
//
// and nothing after the last file. The manifest names the signing key (Manifest.Key), the
// board and architecture the bundle is for, the oldest installed version it may replace,
// and the size and SHA-256 of every file, so the signature covers every byte installed. The
// signature is checked before any other field of the manifest is believed, and a file's
// bytes are checked against the manifest as they are extracted, never after the fact.
package update

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Magic opens every bundle.
const Magic = "POSFWUP1"

// SignPrefix is signed before the manifest: a signature made for anything else cannot be
// replayed as a bundle's.
const SignPrefix = "posfw update manifest v1\x00"

// MaxManifest bounds the manifest's length, so a damaged length cannot make the reader
// allocate gigabytes.
const MaxManifest = 1 << 20

// Binary is the file every bundle carries: the posfw executable the slot runs.
const Binary = "posfw"

// Manifest describes a bundle. It is the signed part.
type Manifest struct {
	Format int `json:"format"` // 1
	// Version is the release, dotted decimal (1.4.2).
	Version string `json:"version"`
	// MinVersion is the oldest installed version this bundle may replace.
	MinVersion string `json:"min_version"`
	Board      string `json:"board"`
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	GOARM      string `json:"goarm,omitempty"` // "7" for armv7, empty elsewhere
	// Schema is the journal schema version (number of migrations) the binary writes: a
	// rollback to a slot whose schema is older than the journal's is refused.
	Schema int `json:"journal_schema"`
	// Key is the KeyID of the key that signed the bundle.
	Key     string `json:"key"`
	Created string `json:"created,omitempty"`
	Files   []File `json:"files"`
}

// File is one file of a bundle.
type File struct {
	Name   string `json:"name"` // slash-separated, relative to the slot
	Mode   uint32 `json:"mode"` // permission bits: 0755 or 0644
	Size   int64  `json:"size"` // bytes once extracted
	Stored int64  `json:"stored"`
	SHA256 string `json:"sha256"` // of the extracted bytes, lower-case hex
}

// Source is a file to put in a bundle: read from Path, installed as Name.
type Source struct {
	Name string
	Path string
	Mode uint32
}

// Build writes a bundle of files signed with priv to w. m's Files, Key and Format are
// filled in here; the other fields are the caller's.
func Build(w io.Writer, m Manifest, files []Source, priv ed25519.PrivateKey) (Manifest, error) {
	m.Format = 1
	m.Key = KeyID(priv.Public().(ed25519.PublicKey))
	m.Files = nil
	var stored [][]byte
	for _, s := range files {
		f, err := os.Open(s.Path)
		if err != nil {
			return m, err
		}
		var buf bytes.Buffer
		h := sha256.New()
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		n, err := io.Copy(io.MultiWriter(zw, h), f)
		f.Close()
		if err == nil {
			err = zw.Close()
		}
		if err != nil {
			return m, fmt.Errorf("%s: %w", s.Path, err)
		}
		m.Files = append(m.Files, File{Name: s.Name, Mode: s.Mode, Size: n, Stored: int64(buf.Len()), SHA256: hex.EncodeToString(h.Sum(nil))})
		stored = append(stored, buf.Bytes())
	}
	if err := m.check(); err != nil {
		return m, err
	}
	mj, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return m, err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(Magic)
	binary.Write(bw, binary.BigEndian, uint32(len(mj)))
	bw.Write(mj)
	bw.Write(ed25519.Sign(priv, append([]byte(SignPrefix), mj...)))
	for _, b := range stored {
		bw.Write(b)
	}
	return m, bw.Flush()
}

// check refuses a manifest no terminal could install, whoever signed it.
func (m *Manifest) check() error {
	if m.Format != 1 {
		return fmt.Errorf("bundle format %d is not 1", m.Format)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return fmt.Errorf("bundle version: %w", err)
	}
	if m.MinVersion != "" {
		if _, err := ParseVersion(m.MinVersion); err != nil {
			return fmt.Errorf("bundle min_version: %w", err)
		}
	}
	if m.Board == "" || m.GOOS == "" || m.GOARCH == "" {
		return errors.New("bundle manifest names no board, OS or architecture")
	}
	if !safeName(m.Board) {
		return fmt.Errorf("bundle board %q is not a plain name", m.Board)
	}
	seen := map[string]bool{}
	var binary bool
	for _, f := range m.Files {
		if !safePath(f.Name) {
			return fmt.Errorf("bundle file name %q is not a plain relative path", f.Name)
		}
		if seen[f.Name] || f.Name == manifestFile || f.Name == signatureFile {
			return fmt.Errorf("bundle file %q is named twice or reserved", f.Name)
		}
		seen[f.Name] = true
		if f.Mode != 0o755 && f.Mode != 0o644 {
			return fmt.Errorf("bundle file %s: mode %o is not 755 or 644", f.Name, f.Mode)
		}
		if f.Size < 0 || f.Stored <= 0 || f.Size > maxFile || f.Stored > maxFile {
			return fmt.Errorf("bundle file %s: size %d / stored %d out of range", f.Name, f.Size, f.Stored)
		}
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("bundle file %s: sha256 %q is not 64 hex digits", f.Name, f.SHA256)
		}
		if f.Name == Binary {
			binary = f.Mode == 0o755
		}
	}
	if !binary {
		return fmt.Errorf("bundle has no executable %q", Binary)
	}
	return nil
}

// maxFile bounds one file (256 MiB): larger than any terminal's firmware.
const maxFile = 256 << 20

func safeName(s string) bool {
	if s == "" || len(s) > 64 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func safePath(p string) bool {
	if p == "" || path.Clean(p) != p || strings.HasPrefix(p, "/") {
		return false
	}
	parts := strings.Split(p, "/")
	if len(parts) > 4 {
		return false
	}
	for _, s := range parts {
		if !safeName(s) {
			return false
		}
	}
	return true
}

// Bundle is a bundle whose header has been read and whose signature verified; its files
// are read by Extract.
type Bundle struct {
	Manifest Manifest
	// Raw is the manifest exactly as signed, and Signature its signature.
	Raw       []byte
	Signature []byte
	r         io.Reader
}

// Open reads a bundle's header from r and verifies its signature against keys. The
// manifest is believed only after that.
func Open(r io.Reader, keys Keys) (*Bundle, error) {
	var magic [len(Magic)]byte
	n0, err := io.ReadFull(r, magic[:])
	if string(magic[:n0]) != Magic[:n0] {
		return nil, errors.New("not a posfw update bundle (bad magic)")
	}
	if err != nil {
		return nil, truncated("header", err)
	}
	if string(magic[:]) != Magic {
		return nil, errors.New("not a posfw update bundle (bad magic)")
	}
	var n uint32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return nil, truncated("header", err)
	}
	if n == 0 || n > MaxManifest {
		return nil, fmt.Errorf("bundle manifest length %d out of range", n)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, truncated("manifest", err)
	}
	sig := make([]byte, ed25519.SignatureSize)
	if _, err := io.ReadFull(r, sig); err != nil {
		return nil, truncated("signature", err)
	}
	// Only the key id is read before the signature is checked.
	var id struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(raw, &id); err != nil {
		return nil, fmt.Errorf("bundle manifest is not JSON: %v", err)
	}
	pub, ok := keys[id.Key]
	if !ok {
		return nil, fmt.Errorf("bundle signed by unknown key %q (this firmware trusts %s)", clip(id.Key), keys)
	}
	if !ed25519.Verify(pub, append([]byte(SignPrefix), raw...), sig) {
		return nil, fmt.Errorf("bundle signature does not verify with key %s: the bundle was altered or signed by another key", id.Key)
	}
	b := &Bundle{Raw: raw, Signature: sig, r: r}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b.Manifest); err != nil {
		return nil, fmt.Errorf("bundle manifest: %v", err)
	}
	if err := b.Manifest.check(); err != nil {
		return nil, err
	}
	return b, nil
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

func truncated(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("bundle truncated in its %s", what)
	}
	return fmt.Errorf("bundle %s: %w", what, err)
}

// Extract writes the bundle's files into dir (which must exist and be empty), each
// checked against its size and SHA-256 as it is written and fsynced, then checks that
// nothing follows the last file. dir is left half-written on error: the caller removes it.
func (b *Bundle) Extract(dir string) error {
	for _, f := range b.Manifest.Files {
		if err := b.extract(dir, f); err != nil {
			return err
		}
	}
	// The manifest and signature go with the slot: status reads the version from them
	// and they prove what the slot holds.
	if err := writeFileSync(filepath.Join(dir, manifestFile), b.Raw, 0o644); err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(dir, signatureFile), b.Signature, 0o644); err != nil {
		return err
	}
	return b.end()
}

// Check reads every file of the bundle and checks it, writing nothing.
func (b *Bundle) Check() error {
	for _, f := range b.Manifest.Files {
		if err := b.copyFile(io.Discard, f); err != nil {
			return err
		}
	}
	return b.end()
}

func (b *Bundle) end() error {
	n, err := io.Copy(io.Discard, io.LimitReader(b.r, 1<<20))
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("bundle has %d bytes after its last file (altered or not a bundle)", n)
	}
	return nil
}

func (b *Bundle) extract(dir string, f File) error {
	p := filepath.Join(dir, filepath.FromSlash(f.Name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, os.FileMode(f.Mode))
	if err != nil {
		return err
	}
	// The mode is the manifest's whatever the umask (a hardened process runs with 077).
	err = out.Chmod(os.FileMode(f.Mode))
	if err == nil {
		err = b.copyFile(out, f)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyFile decompresses file f from the bundle into w, checking its stored length, size
// and hash.
func (b *Bundle) copyFile(w io.Writer, f File) error {
	lr := &io.LimitedReader{R: b.r, N: f.Stored}
	cr := &countReader{r: lr}
	zr, err := gzip.NewReader(cr)
	if err != nil {
		return fileError(f, lr, err)
	}
	zr.Multistream(false)
	h := sha256.New()
	// One byte more than the manifest says, to see a file that grew.
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(zr, f.Size+1))
	if err != nil {
		return fileError(f, lr, err)
	}
	if n != f.Size {
		if lr.N > 0 || n > f.Size {
			return fmt.Errorf("bundle file %s altered: %d bytes where the manifest says %d", f.Name, n, f.Size)
		}
		return fmt.Errorf("bundle truncated: file %s has %d of %d bytes", f.Name, cr.n, f.Stored)
	}
	// The gzip stream must end exactly at the stored length.
	if _, err := zr.Read(make([]byte, 1)); err != io.EOF {
		return fmt.Errorf("bundle file %s altered: its stream does not end where the manifest says", f.Name)
	}
	if lr.N != 0 {
		return fmt.Errorf("bundle file %s altered: %d stored bytes left over", f.Name, lr.N)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("bundle file %s altered: sha256 %s, the manifest says %s", f.Name, got[:16], f.SHA256[:16])
	}
	return nil
}

func fileError(f File, lr *io.LimitedReader, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		if lr.N > 0 {
			return fmt.Errorf("bundle truncated: file %s has %d of %d bytes", f.Name, f.Stored-lr.N, f.Stored)
		}
		return fmt.Errorf("bundle file %s altered: its stream is cut short", f.Name)
	}
	var w *os.PathError
	if errors.As(err, &w) {
		return err
	}
	return fmt.Errorf("bundle file %s altered: %v", f.Name, err)
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// VerifyFile checks the bundle at path completely: signature, manifest and every file.
func VerifyFile(path string, keys Keys) (Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	b, err := Open(bufio.NewReaderSize(f, 1<<16), keys)
	if err != nil {
		return Manifest{}, err
	}
	return b.Manifest, b.Check()
}

// ReadManifest reads the manifest of an installed slot (written by Extract); it is not
// verified again.
func ReadManifest(slotDir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(slotDir, manifestFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %v", filepath.Join(slotDir, manifestFile), err)
	}
	return m, nil
}

const (
	manifestFile  = "manifest.json"
	signatureFile = "manifest.sig"
)

// writeFileSync writes a file and fsyncs it.
func writeFileSync(p string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
