package txn

import (
	"fmt"
)

// Refusal is a local rule saying no, with the reason shown on the line after "Refused".
type Refusal struct {
	Rule   string // the rule's name, for logs and tests
	EN, ZH string
}

func (r *Refusal) Error() string { return "refused: " + r.EN }

// Rule is one named check of a request of kind C. Check returns nil when the request
// passes it.
type Rule[C any] struct {
	Name  string
	Check func(c *C) *Refusal
}

// apply runs rules in order and returns the first refusal.
func apply[C any](rules []Rule[C], c *C) *Refusal {
	for _, r := range rules {
		if ref := r.Check(c); ref != nil {
			ref.Rule = r.Name
			return ref
		}
	}
	return nil
}

// SaleCheck is what the sale rules look at.
type SaleCheck struct {
	Amount, MaxAmount int64
	HasCard           bool
	// Duplicate is an approved sale on the same card for the same amount within the
	// duplicate window, if the journal has one.
	Duplicate *Record
	Confirmed bool // the cashier confirmed the duplicate
}

// SaleRules are the rules a sale must pass (DESIGN §3).
var SaleRules = []Rule[SaleCheck]{
	{"amount positive", func(c *SaleCheck) *Refusal {
		if c.Amount <= 0 {
			return &Refusal{EN: "Amount must be above 0", ZH: "金额必须大于零"}
		}
		return nil
	}},
	{"amount within maximum", func(c *SaleCheck) *Refusal {
		if c.Amount > c.MaxAmount {
			return &Refusal{EN: "Over limit " + Money(c.MaxAmount), ZH: "超过上限 " + Money(c.MaxAmount)}
		}
		return nil
	}},
	{"card presented", func(c *SaleCheck) *Refusal {
		if !c.HasCard {
			return &Refusal{EN: "No card", ZH: "无卡"}
		}
		return nil
	}},
	{"duplicate confirmed", func(c *SaleCheck) *Refusal {
		if c.Duplicate != nil && !c.Confirmed {
			return &Refusal{EN: "Duplicate? trace " + trace(c.Duplicate.STAN), ZH: "疑似重复 凭证号" + trace(c.Duplicate.STAN)}
		}
		return nil
	}},
}

// VoidCheck is what the void rules look at.
type VoidCheck struct {
	Orig         *Record // the record picked by trace no., nil when not found
	CurrentBatch int64
	Supervisor   bool   // the supervisor's password was checked
	CardHash     string // of the card presented, "" when none was
}

// VoidRules are the rules a void must pass (DESIGN §3).
var VoidRules = []Rule[VoidCheck]{
	{"supervisor authorised", func(c *VoidCheck) *Refusal {
		if !c.Supervisor {
			return &Refusal{EN: "Needs supervisor", ZH: "需要主管密码"}
		}
		return nil
	}},
	{"original found", func(c *VoidCheck) *Refusal {
		if c.Orig == nil {
			return &Refusal{EN: "Original not found", ZH: "原交易不存在"}
		}
		return nil
	}},
	{"original is a sale or refund", func(c *VoidCheck) *Refusal {
		if c.Orig.Type != Sale && c.Orig.Type != Refund {
			return &Refusal{EN: "Only sales, refunds", ZH: "只能撤销消费或退货"}
		}
		return nil
	}},
	{"original not settled", func(c *VoidCheck) *Refusal {
		if c.Orig.Batch != c.CurrentBatch {
			return &Refusal{EN: "Settled: use refund", ZH: "已结算，请做退货"}
		}
		return nil
	}},
	{"original not already voided", func(c *VoidCheck) *Refusal {
		if c.Orig.Status == Voided {
			return &Refusal{EN: "Already voided", ZH: "原交易已撤销"}
		}
		return nil
	}},
	{"original has no refunds", func(c *VoidCheck) *Refusal {
		if c.Orig.Status == PartiallyRefunded || c.Orig.Status == Refunded {
			return &Refusal{EN: "Has refunds: cannot void", ZH: "已有退货，不能撤销"}
		}
		return nil
	}},
	{"original approved", func(c *VoidCheck) *Refusal {
		if c.Orig.Status != Approved {
			return &Refusal{EN: "Original not approved", ZH: "原交易未成功"}
		}
		return nil
	}},
	{"same card", func(c *VoidCheck) *Refusal {
		if c.CardHash != "" && c.CardHash != c.Orig.CardHash {
			return &Refusal{EN: "Not the original card", ZH: "非原交易卡"}
		}
		return nil
	}},
}

// RefundCheck is what the refund rules look at.
type RefundCheck struct {
	Amount, Ceiling int64
	Supervisor      bool
	// Orig is the original sale when the journal has it (by RRN and date), else nil: the
	// refund is then left to the host within the ceiling.
	Orig     *Record
	CardHash string // of the card presented
}

// RefundRules are the rules a refund must pass (DESIGN §3).
var RefundRules = []Rule[RefundCheck]{
	{"supervisor authorised", func(c *RefundCheck) *Refusal {
		if !c.Supervisor {
			return &Refusal{EN: "Needs supervisor", ZH: "需要主管密码"}
		}
		return nil
	}},
	{"amount positive", func(c *RefundCheck) *Refusal {
		if c.Amount <= 0 {
			return &Refusal{EN: "Amount must be above 0", ZH: "金额必须大于零"}
		}
		return nil
	}},
	{"amount within refund ceiling", func(c *RefundCheck) *Refusal {
		if c.Amount > c.Ceiling {
			return &Refusal{EN: "Refund limit " + Money(c.Ceiling), ZH: "超过退货限额" + Money(c.Ceiling)}
		}
		return nil
	}},
	{"original is a sale", func(c *RefundCheck) *Refusal {
		if c.Orig != nil && c.Orig.Type != Sale {
			return &Refusal{EN: "Original not a sale", ZH: "原交易不是消费"}
		}
		return nil
	}},
	{"original not voided", func(c *RefundCheck) *Refusal {
		if c.Orig != nil && c.Orig.Status == Voided {
			return &Refusal{EN: "Original was voided", ZH: "原交易已撤销"}
		}
		return nil
	}},
	{"original approved", func(c *RefundCheck) *Refusal {
		if c.Orig != nil && c.Orig.Status != Approved && c.Orig.Status != PartiallyRefunded && c.Orig.Status != Refunded {
			return &Refusal{EN: "Original not approved", ZH: "原交易未成功"}
		}
		return nil
	}},
	{"refunds within original", func(c *RefundCheck) *Refusal {
		if c.Orig != nil && c.Orig.Refunded+c.Amount > c.Orig.Amount {
			left := c.Orig.Amount - c.Orig.Refunded
			return &Refusal{EN: "Max refund " + Money(left), ZH: "超过可退金额" + Money(left)}
		}
		return nil
	}},
	{"original card", func(c *RefundCheck) *Refusal {
		if c.Orig != nil && c.CardHash != c.Orig.CardHash {
			return &Refusal{EN: "Not the original card", ZH: "非原交易卡"}
		}
		return nil
	}},
}

// ManualRefundCheck is what the manual refund rules look at.
type ManualRefundCheck struct {
	Amount, Ceiling int64
	Supervisor      bool
	Reason          string
	OrigRRN         string
	Orig            *Record
}

// ManualRefundReasons are the reasons a supervisor picks from (free text may follow).
var ManualRefundReasons = []Text{
	{"Original route unavailable", "原路退回不可用"},
	{"Card closed or replaced", "卡已注销或换卡"},
	{"Original older than journal", "原交易超出保存期"},
	{"Other", "其他"},
}

// Text is a message in English and Chinese.
type Text struct{ EN, ZH string }

// ManualRefundRules are the rules a manual refund record must pass.
var ManualRefundRules = []Rule[ManualRefundCheck]{
	{"supervisor authorised", func(c *ManualRefundCheck) *Refusal {
		if !c.Supervisor {
			return &Refusal{EN: "Needs supervisor", ZH: "需要主管密码"}
		}
		return nil
	}},
	{"amount positive", func(c *ManualRefundCheck) *Refusal {
		if c.Amount <= 0 {
			return &Refusal{EN: "Amount must be above 0", ZH: "金额必须大于零"}
		}
		return nil
	}},
	{"amount within refund ceiling", func(c *ManualRefundCheck) *Refusal {
		if c.Amount > c.Ceiling {
			return &Refusal{EN: "Refund limit " + Money(c.Ceiling), ZH: "超过退货限额" + Money(c.Ceiling)}
		}
		return nil
	}},
	{"reason given", func(c *ManualRefundCheck) *Refusal {
		if c.Reason == "" {
			return &Refusal{EN: "Reason required", ZH: "需要填写原因"}
		}
		return nil
	}},
	{"original reference given", func(c *ManualRefundCheck) *Refusal {
		if c.OrigRRN == "" {
			return &Refusal{EN: "Original RRN required", ZH: "需要原参考号"}
		}
		return nil
	}},
	{"within original", func(c *ManualRefundCheck) *Refusal {
		if c.Orig != nil && c.Orig.Refunded+c.Amount > c.Orig.Amount {
			return &Refusal{EN: "Max refund " + Money(c.Orig.Amount-c.Orig.Refunded), ZH: "超过可退金额" + Money(c.Orig.Amount-c.Orig.Refunded)}
		}
		return nil
	}},
}

// BatchCheck is what the batch rules look at: they come before the rules of every
// request that counts in the batch's totals.
type BatchCheck struct {
	// Settling is true while a settlement of the current batch has started and not
	// closed: its 0500 may have reached the acquirer, which may have closed the batch.
	Settling bool
}

// BatchRules keep the batch the acquirer may be settling exactly as it was reported: a
// sale added to it after a settlement whose answer was lost would be in no settlement.
var BatchRules = []Rule[BatchCheck]{
	{"no settlement in progress", func(c *BatchCheck) *Refusal {
		if c.Settling {
			return &Refusal{EN: "Settlement unfinished", ZH: "结算未完成，请先结算"}
		}
		return nil
	}},
}

// ReversalCheck is what the reversal rules look at.
type ReversalCheck struct {
	PendingReversals int // reversals still owed after sending them once more
}

// ReversalRules must pass before anything goes to the host that moves money or closes a
// batch (a sale, void, refund or settlement): a request that may have debited the card
// is undone first. A cashier retrying a sale whose answer was lost would otherwise
// debit the customer twice while the first debit waits for its reversal.
var ReversalRules = []Rule[ReversalCheck]{
	{"no pending reversals", func(c *ReversalCheck) *Refusal {
		if c.PendingReversals > 0 {
			return &Refusal{EN: fmt.Sprintf("%d reversals pending", c.PendingReversals), ZH: fmt.Sprintf("有%d笔冲正未完成", c.PendingReversals)}
		}
		return nil
	}},
}

// Money formats minor units as 1,234.56.
func Money(v int64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%d.%02d", v/100, v%100)
	ip := s[:len(s)-3]
	for i := len(ip) - 3; i > 0; i -= 3 {
		ip = ip[:i] + "," + ip[i:]
	}
	s = ip + s[len(s)-3:]
	if neg {
		s = "-" + s
	}
	return s
}

func trace(stan int64) string { return fmt.Sprintf("%06d", stan) }
