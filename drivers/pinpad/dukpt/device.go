package dukpt

import "errors"

// Device is the originating (PIN pad) side of DUKPT: it holds the IPEK injected into
// the pad and the KSN of the last transaction, and hands out the KSN and transaction
// key of each new one. A Device is not safe for concurrent use; a PIN pad encrypts
// one PIN at a time.
//
// The counter must be persisted by the caller (KSN after each Next) so a restart never
// reuses a key: reuse is exactly what DUKPT exists to prevent.
type Device struct {
	ipek  Key
	ksn   KSN
	wiped bool
}

// NewDevice returns a Device loaded with ipek. ksn is the KSN injected with it
// (counter zero) or, after a restart, the last KSN the device used.
func NewDevice(ipek Key, ksn KSN) *Device {
	return &Device{ipek: ipek, ksn: ksn}
}

// KSN returns the KSN of the last transaction (or the initial KSN before the first).
func (d *Device) KSN() KSN { return d.ksn }

// Next advances to the next usable counter and returns its KSN and current
// transaction key. At exhaustion it returns ErrExhausted and the Device stays on its
// last KSN. The caller wipes the key.
func (d *Device) Next() (KSN, Key, error) {
	if d.wiped {
		return d.ksn, Key{}, errWiped
	}
	next, err := d.ksn.Next()
	if err != nil {
		return d.ksn, Key{}, err
	}
	key, err := DeriveTransactionKey(d.ipek, next)
	if err != nil {
		return d.ksn, Key{}, err
	}
	d.ksn = next
	return next, key, nil
}

// Wipe erases the IPEK the Device holds; it can derive no key afterwards.
func (d *Device) Wipe() {
	Wipe(d.ipek[:])
	d.wiped = true
}

var errWiped = errors.New("dukpt: device key has been wiped")
