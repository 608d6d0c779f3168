package hostsim

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"posfw/drivers/pinpad/dukpt"
	"posfw/drivers/pinpad/iso9564"
	"posfw/firmware/host/cup"
)

// workingKeys are the keys a terminal received at its last sign-on.
type workingKeys struct {
	mac, pin, track []byte // track: the TDK of a CUP 004 sign-on, nil otherwise
}

// issueKeys draws fresh working keys for a terminal in the dialect's layout for the
// sign-on code netCode, keeps the clear MAK and PIK, and returns field 62 of the
// answer: the keys under the master key, with their check values.
func (s *Server) issueKeys(terminal, netCode string) (string, error) {
	f62, issued, err := s.cfg.Dialect.IssueKeys(s.cfg.MasterKey, s.cfg.Rand, netCode)
	if err != nil {
		return "", fmt.Errorf("hostsim: working keys: %w", err)
	}
	k := &workingKeys{mac: issued.MAK, pin: issued.PIK, track: issued.TDK}
	s.mu.Lock()
	if old := s.keys[terminal]; old != nil {
		clear(old.mac)
		clear(old.pin)
		clear(old.track)
	}
	s.keys[terminal] = k
	s.mu.Unlock()
	return f62, nil
}

// macKey returns a copy of a terminal's MAC key, nil before its sign-on.
func (s *Server) macKey(terminal string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[terminal]; k != nil {
		return append([]byte(nil), k.mac...)
	}
	return nil
}

// clearTrack decrypts the track data of a CUP request whose field 53 says it is
// encrypted, under the terminal's TDK, in place; false when it does not decrypt.
func (s *Server) clearTrack(r *request) bool {
	f53 := r.get(53)
	if len(f53) < 3 || f53[2] != '1' || r.get(35) == "" {
		return true
	}
	s.mu.Lock()
	var tdk []byte
	if k := s.keys[r.terminal]; k != nil && k.track != nil {
		tdk = append(append(make([]byte, 0, 24), k.track...), k.track[:8]...)
	}
	s.mu.Unlock()
	if tdk == nil {
		return false
	}
	defer clear(tdk)
	c, err := des.NewTripleDESCipher(tdk)
	if err != nil {
		return false
	}
	t2, err := cup.DecryptTrack([]byte(r.get(35)), func(b []byte) ([]byte, error) {
		o := make([]byte, 8)
		c.Decrypt(o, b)
		return o, nil
	})
	if err != nil {
		return false
	}
	r.f[35] = string(t2)
	clear(t2)
	return true
}

// sessionPINKey returns a copy of a terminal's PIN key, nil before its
// sign-on, with room to append K1.
func (s *Server) sessionPINKey(terminal string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[terminal]; k != nil {
		return append(make([]byte, 0, 24), k.pin...)
	}
	return nil
}

// pinOf decrypts the PIN block of r (field 52) for the card pan: under the
// DUKPT PIN key of the KSN in field 62 when there is one, else under the
// terminal's session PIN key.
func (s *Server) pinOf(r *request, pan string) (string, error) {
	enc := r.get(52)
	if len(enc) != 8 {
		return "", errors.New("no PIN block")
	}
	var clearBlock [8]byte
	if ksnHex := r.get(62); ksnHex != "" {
		ksn, err := dukpt.ParseKSN(ksnHex)
		if err != nil {
			return "", err
		}
		tk, err := dukpt.DeriveTransactionKey(dukpt.DeriveIPEK(dukpt.Key(s.cfg.BDK), ksn), ksn)
		if err != nil {
			return "", err
		}
		pk, err := dukpt.WorkingKey(tk, dukpt.PINEncryption)
		dukpt.Wipe(tk[:])
		if err != nil {
			return "", err
		}
		clearBlock = dukpt.DecryptPINBlock(pk, [8]byte([]byte(enc)))
		dukpt.Wipe(pk[:])
	} else {
		key := s.sessionPINKey(r.terminal)
		if key == nil {
			return "", errors.New("no session PIN key")
		}
		var c cipher.Block
		var err error
		if len(key) == 8 { // CUP 001: a single-length PIK
			c, err = des.NewCipher(key)
		} else {
			c, err = des.NewTripleDESCipher(append(key, key[:8]...)) // K1 K2 K1
		}
		clear(key)
		if err != nil {
			return "", err
		}
		c.Decrypt(clearBlock[:], []byte(enc))
	}
	defer dukpt.Wipe(clearBlock[:])
	return iso9564.DecodeFormat0(clearBlock, pan)
}

// Keyed hashes of card data and request content: the ledger never holds a
// PAN, yet can tell the same card and the same request again.
var (
	cardHashKey = []byte("posfw hostsim card hash")
	digestKey   = []byte("posfw hostsim request digest")
)

func keyedHash(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\x1f")))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
