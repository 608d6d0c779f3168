package pinpad

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"posfw/drivers/pinpad/frame"
)

// KeyPad is a PIN pad holding the terminal master key (TMK) and the working keys of
// the last sign-on, and computing with them: the firmware carries encrypted keys to it
// and asks for MACs, encrypted track data and PIN blocks, and never holds a clear key
// (DESIGN.md §6). The commands are those of package frame's workingkeys.go.
type KeyPad interface {
	// LoadTMK installs a TMK encrypted under the pad's transport key (16 bytes, as a
	// key injection facility exports it) and returns the TMK's 4-byte check value.
	LoadTMK(ctx context.Context, enc []byte) (check []byte, err error)
	// LoadTMKPart gives the pad part no (1-based) of parts clear components of the
	// TMK; it returns the component's check value and, after the last, the TMK's.
	LoadTMKPart(ctx context.Context, part []byte, no, parts int) (partCheck, tmkCheck []byte, err error)
	// LoadWorkingKeys installs the working keys of a sign-on, each encrypted under the
	// TMK, all or none: ErrBadCheck when one does not match its check value.
	LoadWorkingKeys(ctx context.Context, k WorkingKeys) error
	// MAC computes the MAC of data under the MAK.
	MAC(ctx context.Context, alg MACAlgorithm, data []byte) ([8]byte, error)
	// EncryptTrack encrypts whole 8-byte blocks of track data under the TDK.
	EncryptTrack(ctx context.Context, block []byte) ([]byte, error)
	// GetSessionPIN is GetPIN with the PIN block encrypted under the PIK instead of
	// DUKPT; the result's KSN is zero.
	GetSessionPIN(ctx context.Context, req PINRequest) (PINResult, error)
}

var _ KeyPad = (*Driver)(nil)

// WorkingKeys are the keys of a sign-on as the host sends them: each encrypted under
// the TMK, with the check value of the clear key (3 or 4 bytes). MAK is required; a
// nil PIK or TDK is not sent.
type WorkingKeys struct {
	PIK, PIKCheck []byte
	MAK, MAKCheck []byte
	TDK, TDKCheck []byte
}

// MACAlgorithm names the MAC the pad computes.
type MACAlgorithm byte

// The MAC algorithms (package mac).
const (
	MACX919   MACAlgorithm = frame.MACX919   // ANSI X9.19, double-length MAK
	MACCUPECB MACAlgorithm = frame.MACCUPECB // China UnionPay ECB
)

// ErrBadCheck: a working key does not match its check value (damaged, or the pad and
// the host do not share the TMK). The pad keeps the keys it held.
var ErrBadCheck = errors.New("pinpad: working key does not match its check value")

// maxMACData is the most data one MAC request carries (four fields of 255 bytes).
const maxMACData = 4 * 255

// LoadTMK installs a TMK encrypted under the transport key.
func (d *Driver) LoadTMK(ctx context.Context, enc []byte) ([]byte, error) {
	if len(enc) != 16 {
		return nil, errors.New("pinpad: load TMK: the encrypted TMK is 16 bytes")
	}
	m, err := d.call(ctx, frame.Message{Command: frame.CmdLoadTMK, Fields: []frame.Field{
		frame.Bytes(frame.TagTMK, bytes.Clone(enc)),
	}}, d.answer)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(m.Get(frame.TagTMKCheck)), nil
}

// LoadTMKPart sends one clear component of the TMK; the driver's copy is wiped.
func (d *Driver) LoadTMKPart(ctx context.Context, part []byte, no, parts int) ([]byte, []byte, error) {
	if len(part) != 16 || parts < 2 || parts > 3 || no < 1 || no > parts {
		return nil, nil, errors.New("pinpad: load TMK part: a 16-byte part, 1 to 3 of 2 or 3")
	}
	m, err := d.call(ctx, frame.Message{Command: frame.CmdLoadTMKPart, Fields: []frame.Field{
		frame.Bytes(frame.TagKeyPart, bytes.Clone(part)),
		frame.Uint8(frame.TagPartNo, uint8(no)),
		frame.Uint8(frame.TagParts, uint8(parts)),
	}}, d.answer)
	if err != nil {
		return nil, nil, err
	}
	var tmk []byte
	if no == parts {
		if tmk = bytes.Clone(m.Get(frame.TagTMKCheck)); len(tmk) == 0 {
			return nil, nil, fmt.Errorf("%w: load TMK part: no TMK check value after the last part", ErrDeviceGone)
		}
	}
	return bytes.Clone(m.Get(frame.TagCheckValue)), tmk, nil
}

// LoadWorkingKeys hands the pad the keys of a sign-on.
func (d *Driver) LoadWorkingKeys(ctx context.Context, k WorkingKeys) error {
	if len(k.MAK) == 0 {
		return errors.New("pinpad: load working keys: no MAC key")
	}
	fields := []frame.Field{frame.Bytes(frame.TagMAK, bytes.Clone(k.MAK)), frame.Bytes(frame.TagMAKCheck, bytes.Clone(k.MAKCheck))}
	if len(k.PIK) > 0 {
		fields = append(fields, frame.Bytes(frame.TagPIK, bytes.Clone(k.PIK)), frame.Bytes(frame.TagPIKCheck, bytes.Clone(k.PIKCheck)))
	}
	if len(k.TDK) > 0 {
		fields = append(fields, frame.Bytes(frame.TagTDK, bytes.Clone(k.TDK)), frame.Bytes(frame.TagTDKCheck, bytes.Clone(k.TDKCheck)))
	}
	_, err := d.call(ctx, frame.Message{Command: frame.CmdLoadWorkingKeys, Fields: fields}, d.answer)
	return err
}

// MAC asks the pad for the MAC of data; the driver's copies of data are wiped.
func (d *Driver) MAC(ctx context.Context, alg MACAlgorithm, data []byte) ([8]byte, error) {
	var out [8]byte
	if len(data) > maxMACData {
		return out, fmt.Errorf("pinpad: MAC: %d bytes of data; at most %d", len(data), maxMACData)
	}
	fields := []frame.Field{frame.Uint8(frame.TagMACAlg, uint8(alg))}
	for i, t := range frame.DataTags {
		if i > 0 && len(data) == 0 {
			break
		}
		n := min(len(data), 255)
		fields = append(fields, frame.Bytes(t, bytes.Clone(data[:n])))
		data = data[n:]
	}
	m, err := d.call(ctx, frame.Message{Command: frame.CmdMAC, Fields: fields}, d.answer)
	if err != nil {
		return out, err
	}
	copy(out[:], m.Get(frame.TagMAC))
	return out, nil
}

// EncryptTrack encrypts track data blocks under the TDK.
func (d *Driver) EncryptTrack(ctx context.Context, block []byte) ([]byte, error) {
	if len(block) == 0 || len(block) > 16 || len(block)%8 != 0 {
		return nil, errors.New("pinpad: encrypt track: 8 or 16 bytes")
	}
	m, err := d.call(ctx, frame.Message{Command: frame.CmdEncryptTrack, Fields: []frame.Field{
		frame.Bytes(frame.TagTrackBlock, bytes.Clone(block)),
	}}, d.answer)
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(m.Get(frame.TagTrackBlock))
	m.Wipe()
	return out, nil
}

// GetSessionPIN has the cardholder enter a PIN, encrypted under the PIK; the result's
// KSN is zero.
func (d *Driver) GetSessionPIN(ctx context.Context, req PINRequest) (PINResult, error) {
	return d.getPIN(ctx, req, frame.FlagSessionKey)
}

// The pad's "bad check value" is ErrBadCheck to callers (statusErrors is driver.go's
// table of the pad's refusals).
func init() { statusErrors[frame.StatusBadCheck] = ErrBadCheck }
