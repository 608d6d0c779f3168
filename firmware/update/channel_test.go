package update

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cuttingServer serves dir over HTTPS (net/http's file server, which answers range
// requests); the first GET of the bundle is cut after half its bytes. It records the
// Range header of every bundle request.
func cuttingServer(t *testing.T, dir, bundle string, size int64) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var ranges []string
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, bundle) {
			mu.Lock()
			first := len(ranges) == 0
			ranges = append(ranges, r.Header.Get("Range"))
			mu.Unlock()
			if first {
				files.ServeHTTP(&cutWriter{ResponseWriter: w, left: size / 2}, r)
				return
			}
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), ranges...) }
}

// cutWriter drops the connection after left bytes of body.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		c.ResponseWriter.Write(p[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= int64(len(p))
	return c.ResponseWriter.Write(p)
}

// TestPollResumesDownload: a terminal polling a signed channel on an HTTPS server gets
// the bundle cut halfway, resumes it with a range request at the next poll, installs
// it, and then finds itself up to date.
func TestPollResumesDownload(t *testing.T) {
	r := newRoot(t)
	pub := t.TempDir()
	bundle := bigBundle(t, "1.1.0")
	os.Rename(bundle, filepath.Join(pub, "posfw-1.1.0.posfw"))
	st, _ := os.Stat(filepath.Join(pub, "posfw-1.1.0.posfw"))
	if _, err := Publish(filepath.Join(pub, "stable.json"), filepath.Join(pub, "posfw-1.1.0.posfw"), "posfw-1.1.0.posfw", devKeys(), DevKey()); err != nil {
		t.Fatal(err)
	}
	srv, ranges := cuttingServer(t, pub, "posfw-1.1.0.posfw", st.Size())
	p := &Poller{Root: r, Keys: devKeys(), Target: here(), Client: srv.Client()}
	ctx := context.Background()
	if _, err := p.Poll(ctx, srv.URL+"/stable.json"); err == nil || !strings.Contains(err.Error(), "download cut at") {
		t.Fatalf("first poll: got %v; want the download cut", err)
	}
	m, err := p.Poll(ctx, srv.URL+"/stable.json")
	if err != nil || m.Version != "1.1.0" {
		t.Fatalf("second poll: got %v, %v; want 1.1.0 installed", m.Version, err)
	}
	got := ranges()
	if len(got) != 2 || got[0] != "" || !strings.HasPrefix(got[1], "bytes=") || got[1] == "bytes=0-" {
		t.Errorf("bundle requests' ranges: %q; want a whole GET, then bytes=N- from where it was cut", got)
	}
	if s, _ := r.Status(); s.ActiveVersion != "1.1.0" || s.Trial != 0 {
		t.Errorf("after the poll: %+v; want 1.1.0 on trial", s)
	}
	r.Confirm()
	if _, err := p.Poll(ctx, srv.URL+"/stable.json"); !errors.Is(err, ErrUpToDate) {
		t.Errorf("third poll: got %v; want up to date", err)
	}
}

// TestChannelRefusals: a channel altered, signed by another key, or for another board
// installs nothing.
func TestChannelRefusals(t *testing.T) {
	pub := t.TempDir()
	bundle := writeBundle(t, testManifest("1.1.0"), DevKey())
	ch := filepath.Join(pub, "c.json")
	if _, err := Publish(ch, bundle, "b.posfw", devKeys(), DevKey()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(ch)
	sig, _ := os.ReadFile(ch + ".sig")
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name   string
		b, sig []byte
		keys   Keys
		error  string
	}{
		{"altered", []byte(strings.Replace(string(b), "1.1.0", "9.1.0", 1)), sig, devKeys(), "signature does not verify"},
		{"bad sig", b, []byte(strings.Repeat("00", 64)), devKeys(), "signature does not verify"},
		{"unknown key", b, sig, NewKeys(other.Public().(ed25519.PublicKey)), "unknown key"},
		{"bundle signature as channel's", b, []byte("zz"), devKeys(), "signature does not verify"},
	} {
		if _, err := ParseChannel(tc.b, tc.sig, tc.keys); err == nil || !strings.Contains(err.Error(), tc.error) {
			t.Errorf("%s: got %v; want %q", tc.name, err, tc.error)
		}
	}
	if c, err := ParseChannel(b, sig, devKeys()); err != nil || c.Version != "1.1.0" {
		t.Fatalf("good channel: %+v, %v", c, err)
	}
	// Another board's channel: refused before any download.
	r := newRoot(t)
	srv := httptest.NewTLSServer(http.FileServer(http.Dir(pub)))
	defer srv.Close()
	p := &Poller{Root: r, Keys: devKeys(), Target: Target{Board: "rpi-terminal", GOOS: here().GOOS, GOARCH: here().GOARCH}, Client: srv.Client()}
	if _, err := p.Poll(context.Background(), srv.URL+"/c.json"); err == nil || !strings.Contains(err.Error(), "channel is for sim") {
		t.Errorf("other board: got %v; want refused", err)
	}
}

// FuzzParseChannel: no channel file makes the parser panic or pass without the signature.
func FuzzParseChannel(f *testing.F) {
	f.Add([]byte(`{"format":1,"key":"x"}`), []byte("00"))
	f.Add([]byte(`{`), []byte(""))
	keys := devKeys()
	f.Fuzz(func(t *testing.T, b, sig []byte) {
		if _, err := ParseChannel(b, sig, keys); err == nil {
			t.Fatal("a channel passed without a release signature")
		}
	})
}
