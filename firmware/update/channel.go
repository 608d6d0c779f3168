package update

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A channel is what a fleet polls: on any static HTTPS server or object store, a file
// URL (channel.json, a Channel in JSON) and URL.sig (the hex ed25519 signature of
// ChannelPrefix ‖ the file's bytes, by a release key). It names the newest bundle for one
// board and platform; the bundle is fetched with HTTP range requests, so a download cut
// halfway goes on from where it stopped at the next poll.
type Channel struct {
	Format  int    `json:"format"` // 1
	Key     string `json:"key"`
	Version string `json:"version"`
	Board   string `json:"board"`
	GOOS    string `json:"goos"`
	GOARCH  string `json:"goarch"`
	GOARM   string `json:"goarm,omitempty"`
	// Bundle is the bundle's URL, relative to the channel file's.
	Bundle string `json:"bundle"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ChannelPrefix is signed before a channel file: a bundle's signature cannot pass as a
// channel's, nor the reverse.
const ChannelPrefix = "posfw update channel v1\x00"

// Publish writes the channel file (and its .sig) announcing the bundle at bundlePath,
// served as bundleURL (relative to the channel file), signed with priv.
func Publish(channelPath, bundlePath, bundleURL string, keys Keys, priv ed25519.PrivateKey) (Channel, error) {
	m, err := VerifyFile(bundlePath, keys)
	if err != nil {
		return Channel{}, err
	}
	f, err := os.Open(bundlePath)
	if err != nil {
		return Channel{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Channel{}, err
	}
	c := Channel{Format: 1, Key: KeyID(priv.Public().(ed25519.PublicKey)), Version: m.Version, Board: m.Board,
		GOOS: m.GOOS, GOARCH: m.GOARCH, GOARM: m.GOARM, Bundle: bundleURL, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return c, err
	}
	sig := ed25519.Sign(priv, append([]byte(ChannelPrefix), b...))
	if err := os.WriteFile(channelPath, b, 0o644); err != nil {
		return c, err
	}
	return c, os.WriteFile(channelPath+".sig", []byte(hex.EncodeToString(sig)+"\n"), 0o644)
}

// ParseChannel verifies a channel file's signature with keys and decodes it.
func ParseChannel(b, sigHex []byte, keys Keys) (Channel, error) {
	var c Channel
	var id struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return c, fmt.Errorf("channel file is not JSON: %v", err)
	}
	pub, ok := keys[id.Key]
	if !ok {
		return c, fmt.Errorf("channel signed by unknown key %q", clip(id.Key))
	}
	sig, err := hex.DecodeString(strings.TrimSpace(string(sigHex)))
	if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, append([]byte(ChannelPrefix), b...), sig) {
		return c, errors.New("channel signature does not verify: the channel file was altered or signed by another key")
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("channel file: %v", err)
	}
	if c.Format != 1 || c.Size <= 0 || len(c.SHA256) != 64 || c.Bundle == "" {
		return c, errors.New("channel file lacks format, bundle, size or sha256")
	}
	if _, err := ParseVersion(c.Version); err != nil {
		return c, fmt.Errorf("channel: %w", err)
	}
	return c, nil
}

// Poller checks a channel and installs a newer bundle it announces.
type Poller struct {
	Root   Root
	Keys   Keys
	Target Target
	Client *http.Client
	// MaxSize refuses a larger bundle (default 256 MiB).
	MaxSize int64
	// Progress, if not nil, is told the bytes held after each read.
	Progress func(done, total int64)
}

// ErrUpToDate: the channel announces nothing newer than the active slot.
var ErrUpToDate = errors.New("up to date")

// Poll fetches and verifies the channel at channelURL; when it announces a version newer
// than the active slot's for this terminal, it downloads the bundle (resuming a cut
// download with a range request), checks its size and SHA-256 against the channel, and
// applies it. It returns ErrUpToDate when there is nothing to do.
func (p *Poller) Poll(ctx context.Context, channelURL string) (Manifest, error) {
	base, err := url.Parse(channelURL)
	if err != nil {
		return Manifest{}, fmt.Errorf("channel URL: %w", err)
	}
	body, err := p.get(ctx, channelURL, 64<<10)
	if err != nil {
		return Manifest{}, err
	}
	sig, err := p.get(ctx, channelURL+".sig", 1024)
	if err != nil {
		return Manifest{}, err
	}
	c, err := ParseChannel(body, sig, p.Keys)
	if err != nil {
		return Manifest{}, err
	}
	if c.Board != p.Target.Board || c.GOOS != p.Target.GOOS || c.GOARCH != p.Target.GOARCH || c.GOARM != p.Target.GOARM {
		return Manifest{}, fmt.Errorf("channel is for %s %s, this terminal is %s %s", c.Board, platform(c.GOOS, c.GOARCH, c.GOARM), p.Target.Board, platform(p.Target.GOOS, p.Target.GOARCH, p.Target.GOARM))
	}
	st, err := p.Root.Status()
	if err != nil {
		return Manifest{}, err
	}
	if st.ActiveVersion != "" && !older(st.ActiveVersion, c.Version) {
		return Manifest{}, ErrUpToDate
	}
	max := p.MaxSize
	if max == 0 {
		max = 256 << 20
	}
	if c.Size > max {
		return Manifest{}, fmt.Errorf("channel announces a bundle of %d bytes (at most %d)", c.Size, max)
	}
	ref, err := url.Parse(c.Bundle)
	if err != nil {
		return Manifest{}, fmt.Errorf("channel bundle URL: %w", err)
	}
	path, err := p.download(ctx, base.ResolveReference(ref).String(), c)
	if err != nil {
		return Manifest{}, err
	}
	defer os.Remove(path)
	return p.Root.Apply(path, p.Keys, p.Target)
}

func (p *Poller) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return http.DefaultClient
}

func (p *Poller) get(ctx context.Context, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

// download fetches the bundle into ROOT/incoming/SHA256.part, asking for the bytes after
// those already held, and returns the path once its size and hash are the channel's.
func (p *Poller) download(ctx context.Context, u string, c Channel) (string, error) {
	dir := filepath.Join(p.Root.Dir, "incoming")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p.Root.own(dir)
	part := filepath.Join(dir, c.SHA256+".part")
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	p.Root.own(part)
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return "", err
	}
	if have > c.Size {
		f.Truncate(0)
		have, _ = f.Seek(0, io.SeekStart)
	}
	if have < c.Size {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return "", err
		}
		if have > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		}
		resp, err := p.client().Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusPartialContent && have > 0:
			if !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(have, 10)+"-") {
				return "", fmt.Errorf("%s: answered range %q to bytes=%d-", u, resp.Header.Get("Content-Range"), have)
			}
		case resp.StatusCode == http.StatusOK:
			// The server ignored the range (or this is the first try): from the start.
			if err := f.Truncate(0); err != nil {
				return "", err
			}
			have, _ = f.Seek(0, io.SeekStart)
		default:
			return "", fmt.Errorf("%s: %s", u, resp.Status)
		}
		buf := make([]byte, 32<<10)
		for have < c.Size {
			n, rerr := resp.Body.Read(buf[:min(int64(len(buf)), c.Size-have)])
			if n > 0 {
				if _, err := f.Write(buf[:n]); err != nil {
					return "", err
				}
				have += int64(n)
				if p.Progress != nil {
					p.Progress(have, c.Size)
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				f.Sync()
				return "", fmt.Errorf("download cut at %d of %d bytes (kept for the next poll): %w", have, c.Size, rerr)
			}
		}
		if err := f.Sync(); err != nil {
			return "", err
		}
		if have != c.Size {
			return "", fmt.Errorf("download ended at %d of %d bytes (kept for the next poll)", have, c.Size)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if hex.EncodeToString(h.Sum(nil)) != c.SHA256 {
		os.Remove(part)
		return "", errors.New("downloaded bundle does not match the channel's SHA-256 (dropped)")
	}
	return part, nil
}
