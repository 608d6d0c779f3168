package hostsim

import (
	"bytes"

	"posfw/drivers/emv/emvcrypto"
	"posfw/firmware/emv"
	"posfw/firmware/emvparam"
	"posfw/firmware/host"
)

// The acquirer's side of the EMV parameter download (host.DownloadEMV, emvdownload.go
// in package host): it lists and sends the parameter set it holds (SetEMVParams;
// DefaultEMVParams until then), emvPage entries per query answer.

// emvPage is how many entries one query answer lists: fewer than the default set's
// AIDs, so that the terminal's "more" rounds are used.
const emvPage = 3

// TestCAPKExpiry is the expiry date the simulator gives the test CA public key.
const TestCAPKExpiry = "20351231"

// DefaultEMVParams is the set the simulator serves: UnionPay's debit, credit,
// quasi-credit and electronic cash AIDs (A000000333010101, 02, 03, 06; partial
// selection) with the kernel's built-in risk parameters, and the test CA public key
// (RID A000000333, index F1: a test key, never in a production list).
func DefaultEMVParams() emvparam.Set {
	d := emv.DefaultParams().AIDs[0]
	var s emvparam.Set
	for _, last := range []byte{0x01, 0x02, 0x03, 0x06} {
		s.AIDs = append(s.AIDs, emvparam.AID{
			AID: append(bytes.Clone(emv.TestAID), last), Partial: true, Version: bytes.Clone(d.Version),
			TACDefault: bytes.Clone(d.TACDefault), TACOnline: bytes.Clone(d.TACOnline), TACDenial: bytes.Clone(d.TACDenial),
			FloorLimit: d.FloorLimit, RandomThreshold: d.RandomThreshold, RandomMax: d.RandomMax, RandomTarget: d.RandomTarget,
			DDOL: bytes.Clone(d.DefaultDDOL), OnlinePIN: true,
			CLFloorLimit: d.CLFloorLimit, CLTransactionLimit: d.CLTransactionLimit, CLCVMLimit: d.CLCVMLimit,
			ECLimit: d.CLTransactionLimit,
		})
	}
	s.CAPKs = []emvparam.CAPK{emvparam.NewCAPK(emvcrypto.TestRID, emvcrypto.TestCAPKIndex, TestCAPKExpiry, emvcrypto.TestCAPK())}
	return s
}

// SetEMVParams replaces the set the simulator serves (tests: a changed set, a key whose
// checksum is damaged). It is sent as given, unchecked.
func (s *Server) SetEMVParams(set emvparam.Set) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emv = &set
}

func (s *Server) emvParams() emvparam.Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.emv == nil {
		return DefaultEMVParams()
	}
	return *s.emv
}

// networkOrEMV answers an 0800: an EMV parameter download or end, or the rest of
// network management (sign-on, echo).
func (s *Server) networkOrEMV(r *request) (outcome, error) {
	switch r.get(70) {
	case host.NetCAPKDownload, host.NetAIDDownload:
		return s.emvEntry(r), nil
	case host.NetCAPKEnd, host.NetAIDEnd:
		s.log.Info("hostsim: EMV parameter download ended", "terminal", r.terminal, "code", r.get(70))
		return outcome{code: host.CodeApproved}, nil
	}
	return s.network(r)
}

// emvField62 reads field 62 of an EMV parameter request.
func (s *Server) emvField62(r *request) ([]byte, bool) {
	b, err := host.ParseEMVField62(s.cfg.Dialect, r.get(62))
	return b, err == nil && len(b) > 0
}

// answer62 is an outcome of 00 with field 62.
func (s *Server) answer62(b []byte) outcome {
	return outcome{code: host.CodeApproved, extra: host.Fields{62: host.EMVField62(s.cfg.Dialect, b)}}
}

// emvQuery answers an 0820: one page of the key or AID list, from the count the
// terminal has received.
func (s *Server) emvQuery(r *request) (outcome, error) {
	b, ok := s.emvField62(r)
	from, err := emvparam.ParseQuery(b)
	if !ok || err != nil {
		return outcome{code: codeFormat}, nil
	}
	set := s.emvParams()
	page := func(n int) (lo, hi int, st byte) {
		lo, hi = min(from, n), min(from+emvPage, n)
		switch {
		case lo == hi:
			st = emvparam.StatusNone
		case hi < n:
			st = emvparam.StatusMore
		default:
			st = emvparam.StatusLast
		}
		return lo, hi, st
	}
	switch r.get(70) {
	case host.NetCAPKQuery:
		var refs []emvparam.Ref
		for _, k := range set.CAPKs {
			refs = append(refs, emvparam.Ref{RID: k.RID, Index: k.Index, Expiry: k.Expiry})
		}
		lo, hi, st := page(len(refs))
		return s.answer62(emvparam.RefList(st, refs[lo:hi])), nil
	case host.NetAIDQuery:
		var aids [][]byte
		for _, a := range set.AIDs {
			aids = append(aids, a.AID)
		}
		lo, hi, st := page(len(aids))
		return s.answer62(emvparam.AIDList(st, aids[lo:hi])), nil
	}
	return outcome{code: codeFormat}, nil
}

// emvEntry answers the download of one key or AID: '1' and its TLV, or '0' when the
// set has none such.
func (s *Server) emvEntry(r *request) outcome {
	b, ok := s.emvField62(r)
	if !ok {
		return outcome{code: codeFormat}
	}
	set := s.emvParams()
	if r.get(70) == host.NetCAPKDownload {
		ref, err := emvparam.ParseKeyRequest(b)
		if err != nil {
			return outcome{code: codeFormat}
		}
		for _, k := range set.CAPKs {
			if bytes.Equal(k.RID, ref.RID) && k.Index == ref.Index {
				return s.answer62(append([]byte{emvparam.StatusLast}, k.TLV()...))
			}
		}
		return s.answer62([]byte{emvparam.StatusNone})
	}
	aid, err := emvparam.ParseAIDRequest(b)
	if err != nil {
		return outcome{code: codeFormat}
	}
	for _, a := range set.AIDs {
		if bytes.Equal(a.AID, aid) {
			return s.answer62(append([]byte{emvparam.StatusLast}, a.TLV()...))
		}
	}
	return s.answer62([]byte{emvparam.StatusNone})
}
