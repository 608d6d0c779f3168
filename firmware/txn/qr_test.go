package txn_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"posfw/firmware/txn"
)

// qrAnswer is one scripted QR reply.
type qrAnswer struct {
	a   txn.QRAnswer
	err error
}

// qrHost replays scripted answers (approving "paid" when none is left) and records the
// messages: the engine's rules are tested against the real journal, the wire and the
// acquirer in firmware/host and firmware/hostsim.
type qrHost struct {
	mu     sync.Mutex
	script []qrAnswer
	sent   []txn.QRRequest
}

func (h *qrHost) QR(_ context.Context, req txn.QRRequest) (txn.QRAnswer, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, req)
	if len(h.script) == 0 {
		return txn.QRAnswer{Code: "00", State: txn.QRStatePaid}, nil
	}
	a := h.script[0]
	h.script = h.script[1:]
	return a.a, a.err
}

func (h *qrHost) ops() string {
	var s []string
	for _, r := range h.sent {
		s = append(s, string(r.Op))
	}
	return strings.Join(s, " ")
}

func classify(code string) (string, error) {
	if len(code) == 18 && strings.HasPrefix(code, "13") {
		return "wechat", nil
	}
	return "", errors.New("not a payment code")
}

func newQR(t *testing.T) (*txn.QR, *qrHost, *rig) {
	r := newRig(t)
	h := &qrHost{}
	q := &txn.QR{Engine: r.e, Orders: r.j, Host: h, Classify: classify,
		Mask:   func(c string) string { return c[:4] + "**********" + c[14:] },
		Prefix: func(t time.Time) string { return t.Format("060102") }, MaxQueries: 3,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	return q, h, r
}

const code = "134567890123456789"

var (
	paid     = qrAnswer{a: txn.QRAnswer{Code: "00", State: txn.QRStatePaid, WalletTxn: "W1"}}
	paying   = qrAnswer{a: txn.QRAnswer{Code: "00", State: txn.QRStatePaying}}
	noAnswer = qrAnswer{err: txn.ErrNoResponse}
)

func TestQRPayOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script []qrAnswer
		status txn.OrderStatus
		ops    string
	}{
		{"paid at once", []qrAnswer{paid}, txn.OrderPaid, "pay"},
		{"user paying, paid at the 2nd query", []qrAnswer{paying, paying, paid}, txn.OrderPaid, "pay query query"},
		{"user paying, never resolves: cancelled", []qrAnswer{paying, paying, paying, paying, {a: txn.QRAnswer{Code: "00", State: txn.QRStateCancelled}}}, txn.OrderCancelled, "pay query query query cancel"},
		{"cancel unanswered: unknown", []qrAnswer{paying, paying, paying, paying, noAnswer}, txn.OrderUnknown, "pay query query query cancel"},
		{"no answer, the query finds it paid", []qrAnswer{noAnswer, paid}, txn.OrderPaid, "pay query"},
		// A refused query says nothing of the order (the customer may have paid): the
		// terminal asks again and cancels, it does not call it failed.
		{"no answer, queries refused 05: cancelled", []qrAnswer{noAnswer, {a: txn.QRAnswer{Code: "05"}}, {a: txn.QRAnswer{Code: "05"}}, {a: txn.QRAnswer{Code: "05"}},
			{a: txn.QRAnswer{Code: "00", State: txn.QRStateCancelled}}}, txn.OrderCancelled, "pay query query query cancel"},
		{"no answer, not at the acquirer: cancelled", []qrAnswer{noAnswer, {a: txn.QRAnswer{Code: "25", State: txn.QRStateNone}}, noAnswer, noAnswer, {a: txn.QRAnswer{Code: "25"}}}, txn.OrderCancelled, "pay query query query cancel"},
		{"declined 51", []qrAnswer{{a: txn.QRAnswer{Code: "51"}}}, txn.OrderFailed, "pay"},
		{"duplicate order 94", []qrAnswer{{a: txn.QRAnswer{Code: "94"}}}, txn.OrderFailed, "pay"},
		{"not sent", []qrAnswer{{err: txn.ErrNotSent}}, txn.OrderFailed, "pay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, h, r := newQR(t)
			h.script = tc.script
			o, err := q.Pay(context.Background(), txn.QRPayRequest{Amount: 1000, Code: code, Operator: "01"})
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != tc.status || h.ops() != tc.ops {
				t.Errorf("order %s after %q; want %s after %q", o.Status, h.ops(), tc.status, tc.ops)
			}
			if o.Payer != "1345**********6789" || o.Wallet != "wechat" {
				t.Errorf("order payer %q wallet %q; want the code masked, wechat", o.Payer, o.Wallet)
			}
			for _, m := range h.sent[1:] {
				if m.Code != "" || m.OrderNo != o.No {
					t.Errorf("%s of order %s carried code %q order %q; want no code, the same order", m.Op, o.No, m.Code, m.OrderNo)
				}
			}
			// Whatever the end, the journal holds the order and never the code.
			var n int
			r.j.Export(context.Background(), &countWriter{n: &n, bad: code}, "json")
			if n > 0 {
				t.Error("the export holds the payment code")
			}
		})
	}
}

type countWriter struct {
	n   *int
	bad string
}

func (w *countWriter) Write(b []byte) (int, error) {
	*w.n += strings.Count(string(b), w.bad)
	return len(b), nil
}

// TestQRUnknownResolved: an order left unknown (its cancel unanswered) blocks the next
// payment and is settled by Resolve with a query, never a second pay.
func TestQRUnknownResolved(t *testing.T) {
	q, h, _ := newQR(t)
	ctx := context.Background()
	h.script = []qrAnswer{paying, paying, paying, paying, noAnswer}
	o, err := q.Pay(ctx, txn.QRPayRequest{Amount: 1000, Code: code, Operator: "01"})
	if err != nil || o.Status != txn.OrderUnknown {
		t.Fatalf("pay = %+v, %v; want unknown", o, err)
	}
	_, err = q.Pay(ctx, txn.QRPayRequest{Amount: 500, Code: code, Operator: "01"})
	refusedBy(t, err, "no unsettled orders")
	h.sent = nil
	h.script = []qrAnswer{paid}
	if left := q.Resolve(ctx); left != 0 || h.ops() != "query" {
		t.Errorf("Resolve left %d after %q; want 0 after one query", left, h.ops())
	}
	if got, _ := q.FindOrder(ctx, o.No); got.Status != txn.OrderPaid {
		t.Errorf("order after Resolve = %s; want paid", got.Status)
	}
}

func TestQRRefundAndVoidRules(t *testing.T) {
	q, h, _ := newQR(t)
	ctx := context.Background()
	pay := func() *txn.Order {
		o, err := q.Pay(ctx, txn.QRPayRequest{Amount: 1000, Code: code, Operator: "01"})
		if err != nil || o.Status != txn.OrderPaid {
			t.Fatalf("pay = %+v, %v", o, err)
		}
		return o
	}
	if _, err := q.Pay(ctx, txn.QRPayRequest{Amount: 1000, Code: "6212345678901234567", Operator: "01"}); err != nil {
		refusedBy(t, err, "payment code of a wallet")
	} else {
		t.Error("a code of no wallet was paid")
	}
	a, b := pay(), pay()
	refund := func(no string, amount int64, sup bool) (*txn.Order, error) {
		return q.Refund(ctx, txn.QRRefundRequest{OrigNo: no, Amount: amount, Operator: "01", Supervisor: "00", SupervisorOK: sup})
	}
	r1, err := refund(a.No, 300, true)
	if err != nil || r1.Status != txn.OrderPaid || r1.OrigNo != a.No || r1.Wallet != a.Wallet || r1.Payer != a.Payer {
		t.Fatalf("refund 3.00 = %+v, %v; want done, to the original order's wallet", r1, err)
	}
	sent := len(h.sent)
	for _, tc := range []struct {
		name, no string
		amount   int64
		sup      bool
		rule     string
	}{
		{"without the supervisor", a.No, 100, false, "supervisor authorised"},
		{"over what is left", a.No, 701, true, "refunds within original"},
		{"an order the terminal never made", "26120599999999", 100, true, "original order found"},
		{"a refund order", r1.No, 100, true, "original is a payment"},
	} {
		_, err := refund(tc.no, tc.amount, tc.sup)
		if err == nil {
			t.Errorf("%s: refunded", tc.name)
			continue
		}
		refusedBy(t, err, tc.rule)
	}
	if len(h.sent) != sent {
		t.Errorf("refused refunds sent %d messages; want none", len(h.sent)-sent)
	}
	if r2, err := refund(a.No, 700, true); err != nil || r2.Status != txn.OrderPaid {
		t.Errorf("refund of the rest = %+v, %v", r2, err)
	}
	_, err = q.Void(ctx, txn.QRVoidRequest{OrigNo: a.No, Operator: "01", Supervisor: "00", SupervisorOK: true})
	refusedBy(t, err, "original has no refunds")
	v, err := q.Void(ctx, txn.QRVoidRequest{OrigNo: b.No, Operator: "01", Supervisor: "00", SupervisorOK: true})
	if err != nil || v.Status != txn.OrderPaid || v.Amount != 1000 {
		t.Fatalf("void = %+v, %v", v, err)
	}
	if got, _ := q.FindOrder(ctx, b.No); got.Status != txn.OrderVoided {
		t.Errorf("voided payment = %s; want voided", got.Status)
	}
	_, err = q.Void(ctx, txn.QRVoidRequest{OrigNo: b.No, Operator: "01", Supervisor: "00", SupervisorOK: true})
	refusedBy(t, err, "original not already voided")
	_, err = refund(b.No, 100, true)
	refusedBy(t, err, "original paid")
}

// TestQRCashierGivesUp: a wait ended by the cashier cancels the order at once; a wait
// ended by the terminal stopping leaves it open for the next start.
func TestQRCashierGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stop   bool
		status txn.OrderStatus
		ops    string
	}{
		{"cashier cancels", false, txn.OrderCancelled, "pay cancel"},
		{"terminal stops", true, txn.OrderPending, "pay"},
	} {
		q, h, _ := newQR(t)
		ctx, cancel := context.WithCancel(context.Background())
		q.Sleep = func(context.Context, time.Duration) error {
			if tc.stop {
				cancel()
				return ctx.Err()
			}
			return errors.New("cashier pressed CANCEL")
		}
		h.script = []qrAnswer{paying, {a: txn.QRAnswer{Code: "00", State: txn.QRStateCancelled}}}
		o, err := q.Pay(ctx, txn.QRPayRequest{Amount: 1000, Code: code, Operator: "01"})
		if err != nil || o.Status != tc.status || h.ops() != tc.ops {
			t.Errorf("%s: order %+v, %v after %q; want %s after %q", tc.name, o, err, h.ops(), tc.status, tc.ops)
		}
		cancel()
	}
}

// TestQRRefundAnswerLost: a refund whose answer is lost is queried, never sent again;
// still unknown, it counts against what is left to refund until Resolve finds it done.
func TestQRRefundAnswerLost(t *testing.T) {
	q, h, _ := newQR(t)
	ctx := context.Background()
	o, err := q.Pay(ctx, txn.QRPayRequest{Amount: 1000, Code: code, Operator: "01"})
	if err != nil {
		t.Fatal(err)
	}
	h.sent = nil
	h.script = []qrAnswer{noAnswer, noAnswer}
	r, err := q.Refund(ctx, txn.QRRefundRequest{OrigNo: o.No, Amount: 600, Operator: "01", Supervisor: "00", SupervisorOK: true})
	if err != nil || r.Status != txn.OrderUnknown || h.ops() != "refund query" {
		t.Fatalf("refund = %+v, %v after %q; want unknown after a refund and a query", r, err, h.ops())
	}
	_, err = q.Refund(ctx, txn.QRRefundRequest{OrigNo: o.No, Amount: 500, Operator: "01", Supervisor: "00", SupervisorOK: true})
	refusedBy(t, err, "refunds within original")
	h.sent = nil
	h.script = []qrAnswer{paid}
	if left := q.Resolve(ctx); left != 0 || h.ops() != "query" {
		t.Errorf("Resolve left %d after %q; want 0 after one query", left, h.ops())
	}
	if p, _ := q.FindOrder(ctx, o.No); p.Refunded != 600 || p.Refundable() != 400 {
		t.Errorf("payment after the refund was found done: refunded %d, refundable %d; want 600, 400", p.Refunded, p.Refundable())
	}
}

// TestQRVoidAnswerLost: a void whose answer is lost may have gone through: until it is
// resolved it counts as the whole amount returned, so no refund (or second void) sends
// the money back twice.
func TestQRVoidAnswerLost(t *testing.T) {
	q, h, _ := newQR(t)
	ctx := context.Background()
	o, err := q.Pay(ctx, txn.QRPayRequest{Amount: 1000, Code: code, Operator: "01"})
	if err != nil {
		t.Fatal(err)
	}
	h.script = []qrAnswer{noAnswer, noAnswer}
	v, err := q.Void(ctx, txn.QRVoidRequest{OrigNo: o.No, Operator: "01", Supervisor: "00", SupervisorOK: true})
	if err != nil || v.Status != txn.OrderUnknown {
		t.Fatalf("void = %+v, %v; want unknown", v, err)
	}
	_, err = q.Refund(ctx, txn.QRRefundRequest{OrigNo: o.No, Amount: 1000, Operator: "01", Supervisor: "00", SupervisorOK: true})
	refusedBy(t, err, "refunds within original")
	_, err = q.Void(ctx, txn.QRVoidRequest{OrigNo: o.No, Operator: "01", Supervisor: "00", SupervisorOK: true})
	refusedBy(t, err, "original has no refunds")
}

// TestQRAnswerFollowUps: a QR message answered 94 moves the trace number past the
// host's, and one answered A0 brings a sign-on, as a card request's answer does.
func TestQRAnswerFollowUps(t *testing.T) {
	q, h, r := newQR(t)
	ctx := context.Background()
	h.script = []qrAnswer{{a: txn.QRAnswer{Code: "94"}}}
	if _, err := q.Pay(ctx, txn.QRPayRequest{Amount: 1000, Code: code, Operator: "01"}); err != nil {
		t.Fatal(err)
	}
	first := h.sent[0].STAN
	h.script = []qrAnswer{{a: txn.QRAnswer{Code: "A0"}}, paid}
	if _, err := q.Pay(ctx, txn.QRPayRequest{Amount: 1001, Code: code, Operator: "01"}); err != nil {
		t.Fatal(err)
	}
	if next := h.sent[1].STAN; next < first+txn.TraceSkip {
		t.Errorf("trace after a 94 on %d: %d; want past %d", first, next, first+txn.TraceSkip-1)
	}
	if r.host.SignOns != 1 {
		t.Errorf("sign-ons after an A0: %d; want 1", r.host.SignOns)
	}
}
