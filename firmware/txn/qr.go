package txn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"posfw/ui/i18n"
)

// QR payments (issue 17): the customer shows a wallet's payment code (付款码), the
// terminal scans it and asks the acquirer to collect the amount under an order number
// of its own. The order is journalled before the request leaves; an answer that does
// not settle the order ("user paying": the customer confirms on the phone, or no answer
// at all) is followed by queries every few seconds up to a limit, and an order still
// unsettled then is cancelled (撤销订单), never paid again. A QR refund or void goes
// only to an original order: there is no account to type.

// OrderKind is what an order does.
type OrderKind string

// Order kinds.
const (
	OrderPayment OrderKind = "payment" // money from the customer's wallet
	OrderRefund  OrderKind = "refund"  // money back to the wallet of an original payment
	OrderVoid    OrderKind = "void"    // a payment of the open batch cancelled in full
)

// OrderStatus is where an order is.
type OrderStatus string

// Order states.
const (
	OrderPending   OrderStatus = "pending"   // journalled; the request left or is about to
	OrderPaid      OrderStatus = "paid"      // the wallet moved the money (a refund or void: done)
	OrderFailed    OrderStatus = "failed"    // the wallet refused, or the request never left
	OrderCancelled OrderStatus = "cancelled" // closed by the terminal (撤销) before it settled: no money moved
	OrderUnknown   OrderStatus = "unknown"   // neither settled nor cancelled: queried again until it ends
	OrderVoided    OrderStatus = "voided"    // a paid payment a QR void cancelled
)

// orderMoves are the order transitions; the journal refuses any other.
var orderMoves = map[OrderStatus][]OrderStatus{
	OrderPending: {OrderPaid, OrderFailed, OrderCancelled, OrderUnknown},
	OrderUnknown: {OrderPaid, OrderFailed, OrderCancelled},
	OrderPaid:    {OrderVoided},
}

// CanMoveOrder reports whether an order may go from one state to another.
func CanMoveOrder(from, to OrderStatus) bool {
	for _, s := range orderMoves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Order is one QR order as the journal keeps it. It never holds the payment code:
// Payer is the code masked (first and last four digits).
type Order struct {
	ID       int64
	No       string // the terminal's order number, unique: assigned by the journal
	Kind     OrderKind
	Wallet   string // "wechat", "alipay", "unionpay"
	Payer    string // masked payer id
	Amount   int64
	Currency string
	Status   OrderStatus
	// Refunded is the sum of done refunds of a payment.
	Refunded int64
	// OrigNo is the payment a refund or void goes back to.
	OrigNo       string
	Batch        int64
	WalletTxn    string // the wallet's transaction id, from the answer
	ResponseCode string
	Queries      int // queries sent about this order
	Operator     string
	Supervisor   string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Open is, for a payment, the sum of its refunds and voids still pending or unknown (read,
	// not stored): they count against what is left to refund.
	Open int64 `json:"-"`
}

// Refundable is what is left to refund of a paid payment.
func (o *Order) Refundable() int64 {
	if o.Kind != OrderPayment || o.Status != OrderPaid {
		return 0
	}
	return o.Amount - o.Refunded - o.Open
}

// Settled reports whether the order has ended (no query or cancel is owed).
func (o *Order) Settled() bool { return o.Status != OrderPending && o.Status != OrderUnknown }

// QROp is one kind of QR message.
type QROp string

// QR messages.
const (
	QRPay    QROp = "pay"    // collect with a customer's payment code
	QRQuery  QROp = "query"  // where is this order?
	QRCancel QROp = "cancel" // close this order; money taken is returned (撤销订单)
	QRRefund QROp = "refund" // return part of a paid order
	QRVoid   QROp = "void"   // cancel a paid order of the open batch in full
	// QRPrecreate tells the acquirer of an order the terminal shows as a dynamic
	// merchant-presented code (收款码), which the customer's wallet pays.
	QRPrecreate QROp = "precreate"
)

// QRRequest is one QR message to the acquirer. Code (the customer's payment code) is
// only in a pay request and only in memory.
type QRRequest struct {
	Op       QROp
	OrderNo  string // the order the message is about
	OrigNo   string // refund and void: the payment
	Code     string
	Amount   int64
	Currency string // ISO 4217 numeric
	STAN     int64
	Batch    int64
	At       time.Time
}

// QRState is what the acquirer says of an order.
type QRState string

// Order states in answers.
const (
	QRStatePaid      QRState = "P" // paid (a refund or void: done)
	QRStatePaying    QRState = "U" // the customer has not confirmed yet
	QRStateFailed    QRState = "F" // refused by the wallet
	QRStateCancelled QRState = "C" // closed, no money moved (or returned)
	QRStateNone      QRState = "N" // the acquirer has no such order
)

// QRAnswer is the acquirer's answer to a QR message.
type QRAnswer struct {
	Code      string // field 39
	State     QRState
	Wallet    string
	Payer     string // masked, as the wallet shows it
	WalletTxn string
}

// QRHost carries QR messages (host.Client implements it beside Host). Its errors
// wrap ErrNotSent, ErrNoResponse, ErrBadMAC or ErrBadAnswer as Host's do.
type QRHost interface {
	QR(ctx context.Context, req QRRequest) (QRAnswer, error)
}

// OrderStore is the journal of QR orders. Each method is one durable transaction with
// its event in the hash chain.
type OrderStore interface {
	// BeginOrder journals o as pending, assigning its ID, number (prefix + sequence)
	// and batch, before any request about it leaves.
	BeginOrder(ctx context.Context, o *Order, prefix string) error
	// OrderRequest records that a message about order no is leaving (its STAN and op).
	OrderRequest(ctx context.Context, no string, op QROp, stan int64) error
	// OrderAnswer records the answer to that message (or why there was none) and, when
	// to is not "", moves the order there; a refund done adds to its payment's
	// refunded amount, a void done voids its payment, in the same transaction.
	OrderAnswer(ctx context.Context, no string, op QROp, a QRAnswer, problem string, to OrderStatus) (*Order, error)
	// Order is the order with that number.
	Order(ctx context.Context, no string) (*Order, error)
	// OpenOrders are the orders pending or unknown, oldest first.
	OpenOrders(ctx context.Context) ([]Order, error)
	// QRTotals are a batch's QR totals per wallet.
	QRTotals(ctx context.Context, batch int64) ([]WalletTotals, error)
}

// WalletTotals are one wallet's QR totals in a batch: payments standing (paid, not
// voided), refunds done and voids done.
type WalletTotals struct {
	Wallet                  string
	Payments, Refunds, Void Total
}

// QR runs QR orders beside the card Engine, sharing its journal, limits and batch.
type QR struct {
	Engine *Engine
	Orders OrderStore
	Host   QRHost
	// Classify names the wallet of a customer's payment code, or errs: a code that is
	// no wallet's is refused before anything is sent. Mask masks a code for the journal.
	Classify func(code string) (string, error)
	Mask     func(code string) string
	// Prefix is the start of new order numbers (the local date, YYMMDD).
	Prefix func(t time.Time) string
	// QueryEvery is the pause between queries, MaxQueries their number.
	QueryEvery time.Duration
	MaxQueries int
	// Progress, when set, hears each wait for the customer: the query about to be sent
	// (1-based), the limit, and the order.
	Progress func(query, max int, o *Order)
	// Sleep waits d or until ctx ends (default a timer); an error other than ctx's
	// ends the wait for the customer early, and the order is cancelled.
	Sleep func(ctx context.Context, d time.Duration) error
}

// QRPayCheck is what the QR payment rules look at.
type QRPayCheck struct {
	Amount, MaxAmount int64
	Wallet            string // "" when the code is no wallet's
	Open              int    // orders still unsettled (pending or unknown)
}

// QRPayRules are the rules of a customer-presented payment.
var QRPayRules = []Rule[QRPayCheck]{
	{"amount positive", func(c *QRPayCheck) *Refusal {
		if c.Amount <= 0 {
			return refuse("Amount must be above 0", "金额必须大于零")
		}
		return nil
	}},
	{"amount within maximum", func(c *QRPayCheck) *Refusal {
		if c.Amount > c.MaxAmount {
			return refuse("Over limit "+Money(c.MaxAmount), "超过上限 "+Money(c.MaxAmount))
		}
		return nil
	}},
	{"payment code of a wallet", func(c *QRPayCheck) *Refusal {
		if c.Wallet == "" {
			return refuse("Not a payment code", "不是付款码")
		}
		return nil
	}},
	// An order whose end is not known may have taken the customer's money: it is
	// queried and cancelled first, as a card's reversal goes before the next sale.
	{"no unsettled orders", func(c *QRPayCheck) *Refusal {
		if c.Open > 0 {
			return refuse(fmt.Sprintf("%d QR orders unsettled", c.Open), fmt.Sprintf("有%d笔扫码订单未完成", c.Open))
		}
		return nil
	}},
}

// QRRefundCheck is what the QR refund rules look at.
type QRRefundCheck struct {
	Amount, Ceiling int64
	Supervisor      bool
	Orig            *Order // the payment by order number, nil when not found
}

// QRRefundRules are the rules of a QR refund: only to an original order of this
// terminal, partial and cumulative like card refunds.
var QRRefundRules = []Rule[QRRefundCheck]{
	{"supervisor authorised", func(c *QRRefundCheck) *Refusal {
		if !c.Supervisor {
			return refuse("Needs supervisor", "需要主管密码")
		}
		return nil
	}},
	{"original order found", func(c *QRRefundCheck) *Refusal {
		if c.Orig == nil {
			return refuse("Order not found", "原订单不存在")
		}
		return nil
	}},
	{"original is a payment", func(c *QRRefundCheck) *Refusal {
		if c.Orig.Kind != OrderPayment {
			return refuse("Order not a payment", "原订单不是付款")
		}
		return nil
	}},
	{"original paid", func(c *QRRefundCheck) *Refusal {
		if c.Orig.Status != OrderPaid {
			return refuse("Order not paid", "原订单未支付")
		}
		return nil
	}},
	{"amount positive", func(c *QRRefundCheck) *Refusal {
		if c.Amount <= 0 {
			return refuse("Amount must be above 0", "金额必须大于零")
		}
		return nil
	}},
	{"amount within refund ceiling", func(c *QRRefundCheck) *Refusal {
		if c.Amount > c.Ceiling {
			return refuse("Refund limit "+Money(c.Ceiling), "超过退货限额"+Money(c.Ceiling))
		}
		return nil
	}},
	{"refunds within original", func(c *QRRefundCheck) *Refusal {
		if left := c.Orig.Refundable(); c.Amount > left {
			return refuse("Max refund "+Money(left), "超过可退金额"+Money(left))
		}
		return nil
	}},
}

// QRVoidCheck is what the QR void rules look at.
type QRVoidCheck struct {
	Orig         *Order
	CurrentBatch int64
	Supervisor   bool
}

// QRVoidRules are the rules of a QR void.
var QRVoidRules = []Rule[QRVoidCheck]{
	{"supervisor authorised", func(c *QRVoidCheck) *Refusal {
		if !c.Supervisor {
			return refuse("Needs supervisor", "需要主管密码")
		}
		return nil
	}},
	{"original order found", func(c *QRVoidCheck) *Refusal {
		if c.Orig == nil {
			return refuse("Order not found", "原订单不存在")
		}
		return nil
	}},
	{"original is a payment", func(c *QRVoidCheck) *Refusal {
		if c.Orig.Kind != OrderPayment {
			return refuse("Order not a payment", "原订单不是付款")
		}
		return nil
	}},
	{"original not settled", func(c *QRVoidCheck) *Refusal {
		if c.Orig.Batch != c.CurrentBatch {
			return refuse("Settled: use refund", "已结算，请做退货")
		}
		return nil
	}},
	{"original not already voided", func(c *QRVoidCheck) *Refusal {
		if c.Orig.Status == OrderVoided {
			return refuse("Already voided", "原订单已撤销")
		}
		return nil
	}},
	{"original paid", func(c *QRVoidCheck) *Refusal {
		if c.Orig.Status != OrderPaid {
			return refuse("Order not paid", "原订单未支付")
		}
		return nil
	}},
	{"original has no refunds", func(c *QRVoidCheck) *Refusal {
		if c.Orig.Refunded > 0 || c.Orig.Open > 0 {
			return refuse("Has refunds: cannot void", "已有退货，不能撤销")
		}
		return nil
	}},
}

// QRPayRequest is a payment the cashier keyed and scanned.
type QRPayRequest struct {
	Amount   int64
	Code     string // the customer's payment code: memory only
	Operator string
}

// Pay collects amount with the customer's payment code. It returns the order in its
// final state (paid, failed, cancelled, or unknown when even the cancel went
// unanswered), a *Refusal, or an error wrapping ErrJournal (nothing was sent).
func (q *QR) Pay(ctx context.Context, req QRPayRequest) (*Order, error) {
	e := q.Engine
	if err := e.batchCheck(ctx); err != nil {
		return nil, err
	}
	wallet, _ := q.Classify(req.Code)
	open, err := q.Orders.OpenOrders(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	if ref := apply(QRPayRules, &QRPayCheck{Amount: req.Amount, MaxAmount: e.Limits.MaxAmount, Wallet: wallet, Open: len(open)}); ref != nil {
		return nil, ref
	}
	o := &Order{Kind: OrderPayment, Wallet: wallet, Payer: q.Mask(req.Code), Amount: req.Amount, Currency: e.Currency,
		Status: OrderPending, Operator: req.Operator, CreatedAt: e.now()}
	if err := q.Orders.BeginOrder(ctx, o, q.Prefix(o.CreatedAt)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	ans, err := q.send(ctx, o, QRRequest{Op: QRPay, Code: req.Code})
	switch {
	case errors.Is(err, ErrNotSent):
		return q.answer(ctx, o, QRPay, ans, err, OrderFailed)
	case err != nil:
		// The order may exist at the wallet: only queries and a cancel may follow.
		if o, err = q.answer(ctx, o, QRPay, ans, err, ""); err != nil {
			return nil, err
		}
	default:
		to := payOutcome(ans)
		if o, err = q.answer(ctx, o, QRPay, ans, nil, to); err != nil || to != "" {
			return o, err
		}
	}
	return q.settle(ctx, o)
}

// QRCollectRequest is a merchant-presented payment: the terminal shows a code for
// Amount and waits for the customer's wallet to pay it.
type QRCollectRequest struct {
	Amount   int64
	Operator string
	// Show puts the code of the order on the display; an error (no display can show
	// it) closes the order unpaid.
	Show func(o *Order) error
	// Polls is how many queries before the code expires and the order is closed
	// (default MaxQueries).
	Polls int
}

// Collect runs a merchant-presented payment: the order journalled, the acquirer told
// (precreate), the code shown, the order queried every QueryEvery until paid or the
// code expires, then closed (cancelled). It returns the order in its final state.
func (q *QR) Collect(ctx context.Context, req QRCollectRequest) (*Order, error) {
	e := q.Engine
	if err := e.batchCheck(ctx); err != nil {
		return nil, err
	}
	open, err := q.Orders.OpenOrders(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	// The wallet is the customer's choice, known when paid: the rules see "any".
	if ref := apply(QRPayRules, &QRPayCheck{Amount: req.Amount, MaxAmount: e.Limits.MaxAmount, Wallet: "any", Open: len(open)}); ref != nil {
		return nil, ref
	}
	o := &Order{Kind: OrderPayment, Amount: req.Amount, Currency: e.Currency, Status: OrderPending, Operator: req.Operator, CreatedAt: e.now()}
	if err := q.Orders.BeginOrder(ctx, o, q.Prefix(o.CreatedAt)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	ans, err := q.send(ctx, o, QRRequest{Op: QRPrecreate})
	switch {
	case errors.Is(err, ErrNotSent):
		return q.answer(ctx, o, QRPrecreate, ans, err, OrderFailed)
	case err == nil && ans.Code != CodeApproved:
		return q.answer(ctx, o, QRPrecreate, ans, nil, OrderFailed)
	}
	// Taken, or no answer: either way only queries and a close may follow.
	if o, err = q.answer(ctx, o, QRPrecreate, ans, err, ""); err != nil {
		return nil, err
	}
	if err := req.Show(o); err != nil {
		return q.cancel(ctx, o)
	}
	c := *q
	if req.Polls > 0 {
		c.MaxQueries = req.Polls
	}
	return c.settle(ctx, o)
}

// payOutcome is the end an answer to a pay or query gives an order, "" when it gives
// none (the customer is still paying, or the answer says nothing final).
func payOutcome(a QRAnswer) OrderStatus {
	switch {
	case a.Code == CodeApproved && a.State == QRStatePaid:
		return OrderPaid
	case a.Code == CodeApproved && a.State == QRStateCancelled:
		return OrderCancelled
	case a.Code == CodeApproved && a.State == QRStateFailed:
		return OrderFailed
	case a.Code == CodeApproved:
		return ""
	}
	// A refusal the terminal knows is final; one it does not know leaves it unsure.
	if act := LookupCode(a.Code).Action; act == ActDeclined || act == ActTraceUsed || act == ActCallIssuer {
		return OrderFailed
	}
	return ""
}

// settle queries an unsettled order every QueryEvery up to MaxQueries times, then
// cancels it; an order whose cancel goes unanswered stays unknown, for Resolve.
func (q *QR) settle(ctx context.Context, o *Order) (*Order, error) {
	max := q.MaxQueries
	if max <= 0 {
		max = 10
	}
	for i := 1; i <= max; i++ {
		if q.Progress != nil {
			q.Progress(i, max, o)
		}
		if err := q.sleep(ctx, q.QueryEvery); err != nil {
			// The cashier gave up waiting: the order is cancelled now. Or the terminal
			// is stopping (ctx): the order stays open for the next start.
			break
		}
		ans, err := q.send(ctx, o, QRRequest{Op: QRQuery})
		to := OrderStatus("")
		// Field 39 of a query says whether the query was taken, not how the order
		// stands: only a query answered 00 tells the order's state. A refused query (05,
		// 12, 94...) leaves the order open, so the cancel follows — the customer may have
		// paid.
		if err == nil && ans.Code == CodeApproved && ans.State != QRStateNone {
			to = payOutcome(ans)
		}
		var jerr error
		if o, jerr = q.answer(ctx, o, QRQuery, ans, err, to); jerr != nil || to != "" {
			return o, jerr
		}
	}
	if ctx.Err() != nil {
		return o, nil
	}
	return q.cancel(ctx, o)
}

// cancel closes an order whose end is unknown: whatever the wallet took is returned.
func (q *QR) cancel(ctx context.Context, o *Order) (*Order, error) {
	ans, err := q.send(ctx, o, QRRequest{Op: QRCancel})
	to := OrderUnknown
	if err == nil && (ans.Code == CodeApproved || ans.Code == "25") {
		// Closed; or the acquirer never had it (25): nothing was taken either way.
		to = OrderCancelled
	}
	if o.Status == OrderUnknown && to == OrderUnknown {
		to = ""
	}
	return q.answer(ctx, o, QRCancel, ans, err, to)
}

// Resolve ends the orders a restart or an unanswered cancel left open: each is
// queried once (never paid again) and, when that does not settle it, cancelled — the
// customer who was confirming is long gone. It returns how many are still open.
func (q *QR) Resolve(ctx context.Context) int {
	once := *q
	once.MaxQueries, once.QueryEvery, once.Progress, once.Sleep = 1, 0, nil, nil
	q = &once
	open, err := q.Orders.OpenOrders(ctx)
	if err != nil {
		return -1
	}
	left := 0
	for i := range open {
		o := &open[i]
		var done *Order
		var err error
		switch o.Kind {
		case OrderPayment:
			done, err = q.settle(ctx, o)
		default:
			done, err = q.queryOnly(ctx, o)
		}
		if err != nil || done == nil || !done.Settled() {
			left++
		}
	}
	return left
}

// queryOnly asks after a refund or void whose answer was lost: done, refused, or still
// unknown (a refund is never cancelled and never sent again).
func (q *QR) queryOnly(ctx context.Context, o *Order) (*Order, error) {
	ans, err := q.send(ctx, o, QRRequest{Op: QRQuery})
	to := OrderStatus("")
	switch {
	case err != nil:
	case ans.Code == CodeApproved && ans.State == QRStatePaid:
		to = OrderPaid
	case ans.Code == "25" || ans.State == QRStateNone || ans.State == QRStateFailed:
		to = OrderFailed
	}
	if to == "" && o.Status == OrderPending {
		to = OrderUnknown
	}
	return q.answer(ctx, o, QRQuery, ans, err, to)
}

// QRRefundRequest is a QR refund the supervisor authorised.
type QRRefundRequest struct {
	OrigNo       string
	Amount       int64
	Operator     string
	Supervisor   string
	SupervisorOK bool
}

// FindOrder returns a payment by its number for a refund or void, nil when the journal
// has none.
func (q *QR) FindOrder(ctx context.Context, no string) (*Order, error) {
	o, err := q.Orders.Order(ctx, no)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	return o, nil
}

// Refund returns part of a paid order to the same wallet.
func (q *QR) Refund(ctx context.Context, req QRRefundRequest) (*Order, error) {
	e := q.Engine
	if err := e.batchCheck(ctx); err != nil {
		return nil, err
	}
	orig, err := q.FindOrder(ctx, req.OrigNo)
	if err != nil {
		return nil, err
	}
	if ref := apply(QRRefundRules, &QRRefundCheck{Amount: req.Amount, Ceiling: e.Limits.RefundCeiling, Supervisor: req.SupervisorOK, Orig: orig}); ref != nil {
		return nil, ref
	}
	return q.followUp(ctx, orig, OrderRefund, QRRefund, req.Amount, req.Operator, req.Supervisor)
}

// QRVoidRequest is a QR void the supervisor authorised.
type QRVoidRequest struct {
	OrigNo       string
	Operator     string
	Supervisor   string
	SupervisorOK bool
}

// Void cancels a paid order of the open batch in full.
func (q *QR) Void(ctx context.Context, req QRVoidRequest) (*Order, error) {
	e := q.Engine
	if err := e.batchCheck(ctx); err != nil {
		return nil, err
	}
	orig, err := q.FindOrder(ctx, req.OrigNo)
	if err != nil {
		return nil, err
	}
	batch, err := e.Store.CurrentBatch(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	if ref := apply(QRVoidRules, &QRVoidCheck{Orig: orig, CurrentBatch: batch, Supervisor: req.SupervisorOK}); ref != nil {
		return nil, ref
	}
	return q.followUp(ctx, orig, OrderVoid, QRVoid, orig.Amount, req.Operator, req.Supervisor)
}

// followUp sends a refund or void of orig as an order of its own: done, refused, or
// (no answer) queried once and else left unknown for Resolve.
func (q *QR) followUp(ctx context.Context, orig *Order, kind OrderKind, op QROp, amount int64, operator, supervisor string) (*Order, error) {
	e := q.Engine
	o := &Order{Kind: kind, Wallet: orig.Wallet, Payer: orig.Payer, Amount: amount, Currency: orig.Currency,
		Status: OrderPending, OrigNo: orig.No, Operator: operator, Supervisor: supervisor, CreatedAt: e.now()}
	if err := q.Orders.BeginOrder(ctx, o, q.Prefix(o.CreatedAt)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	ans, err := q.send(ctx, o, QRRequest{Op: op, OrigNo: orig.No})
	switch {
	case errors.Is(err, ErrNotSent):
		return q.answer(ctx, o, op, ans, err, OrderFailed)
	case err != nil:
		if o, err = q.answer(ctx, o, op, ans, err, ""); err != nil {
			return nil, err
		}
		return q.queryOnly(ctx, o)
	case ans.Code == CodeApproved:
		return q.answer(ctx, o, op, ans, nil, OrderPaid)
	}
	if LookupCode(ans.Code).Action == ActUnknown {
		if o, err = q.answer(ctx, o, op, ans, nil, ""); err != nil {
			return nil, err
		}
		return q.queryOnly(ctx, o)
	}
	return q.answer(ctx, o, op, ans, nil, OrderFailed)
}

// send journals a message about o (its STAN drawn in the chain), then sends it.
func (q *QR) send(ctx context.Context, o *Order, req QRRequest) (QRAnswer, error) {
	e := q.Engine
	stan, err := e.Store.NextSTAN(ctx)
	if err != nil {
		return QRAnswer{}, fmt.Errorf("%w: %v", ErrNotSent, err)
	}
	if err := q.Orders.OrderRequest(ctx, o.No, req.Op, stan); err != nil {
		return QRAnswer{}, fmt.Errorf("%w: journal: %v", ErrNotSent, err)
	}
	req.OrderNo, req.Amount, req.Currency, req.STAN, req.Batch, req.At = o.No, o.Amount, e.Numeric, stan, o.Batch, e.now()
	a, err := q.Host.QR(ctx, req)
	// As for a card request: a 94 moves the trace number on, and a bad MAC or a code
	// that says the keys are wrong is followed by a sign-on.
	signOn := errors.Is(err, ErrBadMAC) || (err == nil && LookupCode(a.Code).Action == ActReverse)
	if aerr := e.afterAnswer(ctx, stan, a.Code, signOn); aerr != nil && err == nil {
		err = aerr // the trace number could not move on: the order stays open
	}
	return a, err
}

// answer journals an answer (or the error that stood for one) and the order's move.
func (q *QR) answer(ctx context.Context, o *Order, op QROp, a QRAnswer, err error, to OrderStatus) (*Order, error) {
	problem := ""
	if err != nil {
		problem = err.Error()
	}
	done, jerr := q.Orders.OrderAnswer(context.WithoutCancel(ctx), o.No, op, a, problem, to)
	if jerr != nil {
		if o.Status == OrderPending && op == QRPay && to == OrderFailed {
			return nil, fmt.Errorf("%w: %v", ErrJournal, jerr)
		}
		// The order stays open in the journal: the next start queries it.
		return nil, fmt.Errorf("%w: %v", ErrUnrecorded, jerr)
	}
	return done, nil
}

func (q *QR) sleep(ctx context.Context, d time.Duration) error {
	if q.Sleep != nil {
		return q.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// OrderStatusText are the words of each order status, on screens and slips.
var OrderStatusText = map[OrderStatus]i18n.Text{
	OrderPending:   {EN: "PENDING", ZH: "处理中"},
	OrderPaid:      {EN: "PAID", ZH: "支付成功"},
	OrderFailed:    {EN: "FAILED", ZH: "支付失败"},
	OrderCancelled: {EN: "CANCELLED", ZH: "已撤销订单"},
	OrderUnknown:   {EN: "UNKNOWN", ZH: "结果未知"},
	OrderVoided:    {EN: "VOIDED", ZH: "已撤销"},
}
