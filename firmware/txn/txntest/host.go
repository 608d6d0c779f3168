// Package txntest is a scripted txn.Host for the engine's rule tests, in the way periph's
// gpiotest stands in for a pin: each call takes the next scripted answer. The real host
// link and the acquirer simulator are tested against each other in firmware/host and
// firmware/hostsim; this fake only lets the engine's tests choose an outcome exactly.
package txntest

import (
	"context"
	"fmt"
	"sync"

	"posfw/firmware/txn"
)

// Answer is one scripted reply: a response code, or an error (txn.ErrNoResponse ...).
type Answer struct {
	Code string
	Err  error
}

// Host replays answers and records what it was asked.
type Host struct {
	mu sync.Mutex
	// Sends, Reversals and Settles are what the engine asked, in order.
	Sends     []txn.Request
	Reversals []txn.Reversal
	Settles   []txn.Totals
	Uploads   []txn.Record
	SignOns   int
	script    []Answer
	// ReverseErr, when set, fails every reversal with it.
	ReverseErr error
	// Unbalanced makes the first Settle answer "unbalanced".
	Unbalanced bool
	// TCUpload makes the host want the chip records' TCs after a balanced settlement
	// (txn.TCUploader).
	TCUpload bool
	rrn      int
}

// Script queues answers for the next Send calls. With no answer queued Send approves.
func (h *Host) Script(a ...Answer) {
	h.mu.Lock()
	h.script = append(h.script, a...)
	h.mu.Unlock()
}

// SignOn counts sign-ons.
func (h *Host) SignOn(ctx context.Context, stan int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.SignOns++
	return nil
}

// Send takes the next scripted answer.
func (h *Host) Send(ctx context.Context, req txn.Request) (txn.Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Sends = append(h.Sends, req)
	a := Answer{Code: "00"}
	if len(h.script) > 0 {
		a, h.script = h.script[0], h.script[1:]
	}
	if a.Err != nil {
		return txn.Response{}, a.Err
	}
	h.rrn++
	return txn.Response{Code: a.Code, RRN: fmt.Sprintf("%012d", 100000+h.rrn), AuthCode: fmt.Sprintf("A%05d", h.rrn)}, nil
}

// Reverse answers 00 unless ReverseErr is set.
func (h *Host) Reverse(ctx context.Context, rev txn.Reversal) (txn.Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Reversals = append(h.Reversals, rev)
	if h.ReverseErr != nil {
		return txn.Response{}, h.ReverseErr
	}
	return txn.Response{Code: "00"}, nil
}

// Settle answers balanced, or unbalanced once when Unbalanced is set.
func (h *Host) Settle(ctx context.Context, t txn.Totals, stan int64, trailer bool) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Settles = append(h.Settles, t)
	if h.Unbalanced {
		h.Unbalanced = false
		return false, nil
	}
	return true, nil
}

// WantsTCUpload implements txn.TCUploader.
func (h *Host) WantsTCUpload() bool { return h.TCUpload }

// Upload records the uploaded record.
func (h *Host) Upload(ctx context.Context, r txn.Record, stan int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Uploads = append(h.Uploads, r)
	return nil
}
