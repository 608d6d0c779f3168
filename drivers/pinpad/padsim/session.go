package padsim

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"encoding/hex"
	"errors"

	"posfw/drivers/pinpad/dukpt"
	"posfw/drivers/pinpad/frame"
	"posfw/drivers/pinpad/iso9564"
	"posfw/drivers/pinpad/mac"
)

// TestTransportKey is the simulated pad's transport key, set "at manufacture": a key
// injection facility (and the tests) export a TMK encrypted under it for the load TMK
// command. A test key, documented, never a production one.
const TestTransportKey = "101112131415161718191A1B1C1D1E1F"

var testTransportKey, _ = hex.DecodeString(TestTransportKey)

// session is the pad's master/session key state: the TMK lives in NVRAM (secrets),
// the working keys of the last sign-on in memory only, as in a pad's RAM; parts of a
// TMK being entered by components are held until the last one.
type session struct {
	pik, mak, tdk []byte
	parts         []byte // XOR of the parts so far
	partsSeen     int
}

func (k *session) wipe() {
	dukpt.Wipe(k.pik)
	dukpt.Wipe(k.mak)
	dukpt.Wipe(k.tdk)
	k.pik, k.mak, k.tdk = nil, nil, nil
}

// block returns DES for an 8-byte key, two-key TDES for a 16-byte one.
func block(key []byte) (cipher.Block, error) {
	switch len(key) {
	case 8:
		return des.NewCipher(key)
	case 16:
		k := append(append(make([]byte, 0, 24), key...), key[:8]...)
		c, err := des.NewTripleDESCipher(k)
		dukpt.Wipe(k)
		return c, err
	}
	return nil, errors.New("padsim: a DES key is 8 or 16 bytes")
}

// checkValue is the first n bytes of the key's encryption of 8 zero bytes.
func checkValue(key []byte, n int) []byte {
	c, err := block(key)
	if err != nil {
		return nil
	}
	var b [8]byte
	c.Encrypt(b[:], b[:])
	return append([]byte(nil), b[:n]...)
}

// decryptECB decrypts enc (a multiple of 8 bytes) under key.
func decryptECB(key, enc []byte) ([]byte, error) {
	c, err := block(key)
	if err != nil {
		return nil, err
	}
	if len(enc)%8 != 0 {
		return nil, errors.New("padsim: encrypted key is not whole blocks")
	}
	out := make([]byte, len(enc))
	for i := 0; i < len(enc); i += 8 {
		c.Decrypt(out[i:i+8], enc[i:i+8])
	}
	return out, nil
}

// openKey decrypts a working key under the TMK and compares its check value. A
// 16-byte area whose last 8 bytes are zero is E(K8) + 8 zero bytes: a single key.
func openKey(tmk, enc, check []byte) ([]byte, bool) {
	if len(enc) == 16 && subtle.ConstantTimeCompare(enc[8:], make([]byte, 8)) == 1 {
		enc = enc[:8]
	}
	k, err := decryptECB(tmk, enc)
	if err != nil {
		return nil, false
	}
	if cv := checkValue(k, len(check)); subtle.ConstantTimeCompare(cv, check) != 1 {
		dukpt.Wipe(k)
		return nil, false
	}
	return k, true
}

// InjectTMK installs a terminal master key (16 bytes) as a key injection facility
// does, outside the serial protocol: for posfw sim, which plays the facility with the
// host simulator's test TMK. The caller may wipe tmk afterwards.
func (s *Sim) InjectTMK(tmk []byte) error {
	if len(tmk) != 16 {
		return errors.New("padsim: a TMK is 16 bytes")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setTMKLocked(append([]byte(nil), tmk...))
}

// HasTMK reports whether the pad holds a terminal master key.
func (s *Sim) HasTMK() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.keysLocked()
	return err == nil && len(sec.TMK) == 16
}

// setTMKLocked keeps tmk in NVRAM; the working keys under the old one go.
func (s *Sim) setTMKLocked(tmk []byte) error {
	sec, err := s.keysLocked()
	if err != nil {
		return err
	}
	next := *sec
	next.TMK = tmk
	if err := s.saveLocked(&next); err != nil {
		return err
	}
	dukpt.Wipe(sec.TMK)
	*sec = next
	s.sess.wipe()
	return nil
}

// sessionCmd answers the master/session key commands.
func (s *Sim) sessionCmd(link *frame.Link, m frame.Message) {
	s.mu.Lock()
	status, fields := s.sessionLocked(m)
	s.mu.Unlock()
	s.send(link, m, status, fields...)
}

func (s *Sim) sessionLocked(m frame.Message) (frame.Status, []frame.Field) {
	sec, err := s.keysLocked()
	if err != nil {
		s.logf("%v", err)
		return frame.StatusNoKey, nil
	}
	switch m.Command {
	case frame.CmdLoadTMK:
		tmk, err := decryptECB(testTransportKey, m.Get(frame.TagTMK))
		if err != nil {
			return frame.StatusBadRequest, nil
		}
		if err := s.setTMKLocked(tmk); err != nil {
			s.logf("%v", err)
			return frame.StatusNoKey, nil
		}
		return frame.StatusOK, []frame.Field{frame.Bytes(frame.TagTMKCheck, checkValue(tmk, 4))}

	case frame.CmdLoadTMKPart:
		part, no, of := m.Get(frame.TagKeyPart), m.Uint(frame.TagPartNo), m.Uint(frame.TagParts)
		if of < 2 || of > 3 || no < 1 || no > of || no != s.sess.partsSeen+1 {
			// parts come in order, 1 first; anything else starts again
			dukpt.Wipe(s.sess.parts)
			s.sess.parts, s.sess.partsSeen = nil, 0
			if no != 1 || of < 2 || of > 3 {
				return frame.StatusBadRequest, nil
			}
		}
		if no == 1 {
			s.sess.parts = make([]byte, 16)
		}
		for i := range s.sess.parts {
			s.sess.parts[i] ^= part[i]
		}
		s.sess.partsSeen = no
		fields := []frame.Field{frame.Bytes(frame.TagCheckValue, checkValue(part, 4))}
		if no == of {
			tmk := s.sess.parts
			s.sess.parts, s.sess.partsSeen = nil, 0
			if err := s.setTMKLocked(tmk); err != nil {
				s.logf("%v", err)
				return frame.StatusNoKey, nil
			}
			fields = append(fields, frame.Bytes(frame.TagTMKCheck, checkValue(tmk, 4)))
		}
		return frame.StatusOK, fields

	case frame.CmdLoadWorkingKeys:
		if len(sec.TMK) != 16 {
			return frame.StatusNoKey, nil
		}
		var next session
		for _, k := range []struct {
			enc, check frame.Tag
			into       *[]byte
		}{{frame.TagMAK, frame.TagMAKCheck, &next.mak}, {frame.TagPIK, frame.TagPIKCheck, &next.pik}, {frame.TagTDK, frame.TagTDKCheck, &next.tdk}} {
			if !m.Has(k.enc) {
				continue
			}
			key, ok := openKey(sec.TMK, m.Get(k.enc), m.Get(k.check))
			if !ok {
				next.wipe()
				return frame.StatusBadCheck, nil
			}
			*k.into = key
		}
		s.sess.wipe()
		s.sess.pik, s.sess.mak, s.sess.tdk = next.pik, next.mak, next.tdk
		return frame.StatusOK, nil

	case frame.CmdMAC:
		var data []byte
		for _, t := range frame.DataTags {
			data = append(data, m.Get(t)...)
		}
		defer dukpt.Wipe(data)
		var f mac.Func
		switch m.Uint(frame.TagMACAlg) {
		case frame.MACX919:
			f = mac.X919
		case frame.MACCUPECB:
			f = mac.CUPECB
		default:
			return frame.StatusBadRequest, nil
		}
		if s.sess.mak == nil {
			return frame.StatusNoKey, nil
		}
		v, err := f(s.sess.mak, data)
		if err != nil {
			return frame.StatusNoKey, nil // an 8-byte MAK asked for X9.19
		}
		return frame.StatusOK, []frame.Field{frame.Bytes(frame.TagMAC, v[:])}

	case frame.CmdEncryptTrack:
		in := m.Get(frame.TagTrackBlock)
		if s.sess.tdk == nil {
			return frame.StatusNoKey, nil
		}
		if len(in)%8 != 0 {
			return frame.StatusBadRequest, nil
		}
		c, err := block(s.sess.tdk)
		if err != nil {
			return frame.StatusNoKey, nil
		}
		out := make([]byte, len(in))
		for i := 0; i < len(in); i += 8 {
			c.Encrypt(out[i:i+8], in[i:i+8])
		}
		return frame.StatusOK, []frame.Field{frame.Bytes(frame.TagTrackBlock, out)}
	}
	return frame.StatusUnknownCommand, nil
}

// sessionPINBlock encrypts a format 0 PIN block under the PIK (a get PIN request with
// FlagSessionKey).
func (s *Sim) sessionPINBlockLocked(pin []byte, pan string) ([8]byte, bool) {
	var out [8]byte
	if s.sess.pik == nil {
		return out, false
	}
	plain, err := iso9564.Format0(string(pin), pan+"0")
	if err != nil {
		return out, false
	}
	c, err := block(s.sess.pik)
	if err != nil {
		return out, false
	}
	c.Encrypt(out[:], plain[:])
	dukpt.Wipe(plain[:])
	return out, true
}

// PowerCycle turns the pad off and on: what it keeps in memory only — the working keys
// of the last sign-on, a PIN entry in progress — is gone; its NVRAM (the TMK, the card
// and journal keys, the anchor) stays. The terminal must sign on again before it can
// MAC a request.
func (s *Sim) PowerCycle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sess.wipe()
}
