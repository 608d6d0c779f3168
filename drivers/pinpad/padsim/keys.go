package padsim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"posfw/drivers/pinpad/dukpt"
	"posfw/drivers/pinpad/frame"
)

// Domain separation of the pad's two MACs (package frame's doc).
const (
	cardHashDomain = "posfw card hash v1\x00"
	sealDomain     = "posfw journal seal v1\x00"
)

// secrets are what a PIN pad keeps in its own memory: the card key and the journal
// key, generated inside it, and the journal's anchor (the newest sealed head).
type secrets struct {
	CardKey    []byte `json:"card_key"`
	JournalKey []byte `json:"journal_key"`
	AnchorID   int64  `json:"anchor_id"`
	AnchorHash []byte `json:"anchor_hash"`
	// TMK is the terminal master key (session.go), injected by load TMK.
	TMK []byte `json:"tmk,omitempty"`
}

// newSecrets generates the two keys; there is no anchor yet.
func newSecrets() (*secrets, error) {
	s := &secrets{CardKey: make([]byte, 32), JournalKey: make([]byte, 32), AnchorHash: make([]byte, sha256.Size)}
	if _, err := rand.Read(s.CardKey); err != nil {
		return nil, err
	}
	if _, err := rand.Read(s.JournalKey); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *secrets) valid() bool {
	return len(s.CardKey) == 32 && len(s.JournalKey) == 32 && len(s.AnchorHash) == sha256.Size && s.AnchorID >= 0
}

// cardHash is HMAC-SHA256 of the PAN under the card key.
func (s *secrets) cardHash(pan []byte) []byte {
	m := hmac.New(sha256.New, s.CardKey)
	m.Write([]byte(cardHashDomain))
	m.Write(pan)
	return m.Sum(nil)
}

// sealMAC is the seal of (id, hash) under the journal key.
func (s *secrets) sealMAC(id uint64, hash []byte) []byte {
	m := hmac.New(sha256.New, s.JournalKey)
	m.Write([]byte(sealDomain))
	m.Write(binary.BigEndian.AppendUint64(nil, id))
	m.Write(hash)
	return m.Sum(nil)
}

// SetNVRAM points the pad at its NVRAM file (see NVRAM) once it is serving; the keys
// held in memory are dropped and read from there at their next use.
func (s *Sim) SetNVRAM(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.NVRAM, s.sec = path, nil
}

// keysLocked returns the pad's secrets, reading them from NVRAM or generating them (and
// writing them there) at first use.
func (s *Sim) keysLocked() (*secrets, error) {
	if s.sec != nil {
		return s.sec, nil
	}
	if s.NVRAM != "" {
		b, err := os.ReadFile(s.NVRAM)
		switch {
		case err == nil:
			var sec secrets
			if err := json.Unmarshal(b, &sec); err != nil || !sec.valid() {
				return nil, fmt.Errorf("padsim: NVRAM %s is damaged", s.NVRAM)
			}
			s.sec = &sec
			return s.sec, nil
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("padsim: NVRAM: %w", err)
		}
	}
	sec, err := newSecrets()
	if err != nil {
		return nil, err
	}
	if err := s.saveLocked(sec); err != nil {
		return nil, err
	}
	s.sec = sec
	return sec, nil
}

// saveLocked writes sec to the NVRAM file, if the pad has one: a new file written and
// synced, then renamed over the old, so that a power cut leaves one or the other.
func (s *Sim) saveLocked(sec *secrets) error {
	if s.NVRAM == "" {
		return nil
	}
	b, err := json.Marshal(sec)
	if err != nil {
		return err
	}
	defer dukpt.Wipe(b)
	tmp := s.NVRAM + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("padsim: NVRAM: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.NVRAM)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("padsim: NVRAM: %w", err)
	}
	if d, err := os.Open(filepath.Dir(s.NVRAM)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// keyed answers the commands of the pad's own keys: card hash, seal, anchor and check
// seal. They do not touch the keypad or display, so they are answered during a PIN
// entry too.
func (s *Sim) keyed(link *frame.Link, m frame.Message) {
	s.mu.Lock()
	sec, err := s.keysLocked()
	if err != nil {
		s.mu.Unlock()
		s.logf("%v", err)
		s.send(link, m, frame.StatusNoKey)
		return
	}
	var status frame.Status
	var fields []frame.Field
	switch m.Command {
	case frame.CmdCardHash:
		fields = []frame.Field{frame.Bytes(frame.TagCardHash, sec.cardHash(m.Get(frame.TagPAN)))}
	case frame.CmdSeal:
		id, hash := m.Uint64(frame.TagEventID), m.Get(frame.TagChainHash)
		switch {
		case id > 1<<62:
			status = frame.StatusBadRequest
		case int64(id) == sec.AnchorID && id != 0 && !hmac.Equal(hash, sec.AnchorHash):
			status = frame.StatusSealConflict
		case int64(id) > sec.AnchorID:
			next := *sec
			next.AnchorID, next.AnchorHash = int64(id), append([]byte(nil), hash...)
			if err := s.saveLocked(&next); err != nil {
				s.logf("%v", err)
				status = frame.StatusNoKey
				break
			}
			*sec = next
		}
		if status == frame.StatusOK {
			fields = []frame.Field{frame.Bytes(frame.TagSealMAC, sec.sealMAC(id, hash))}
		}
	case frame.CmdAnchor:
		fields = []frame.Field{
			frame.Uint64(frame.TagEventID, uint64(sec.AnchorID)),
			frame.Bytes(frame.TagChainHash, append([]byte(nil), sec.AnchorHash...)),
			frame.Bytes(frame.TagSealMAC, sec.sealMAC(uint64(sec.AnchorID), sec.AnchorHash)),
		}
	case frame.CmdCheckSeal:
		want := sec.sealMAC(m.Uint64(frame.TagEventID), m.Get(frame.TagChainHash))
		if !hmac.Equal(want, m.Get(frame.TagSealMAC)) {
			status = frame.StatusBadSeal
		}
	}
	s.mu.Unlock()
	s.send(link, m, status, fields...)
}
