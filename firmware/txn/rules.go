package txn

import (
	"fmt"

	"posfw/ui/i18n"
)

// Refusal is a local rule saying no, with the reason (Text) shown on the line after
// "Refused".
type Refusal struct {
	Rule string // the rule's name, for logs and tests
	i18n.Text
}

func (r *Refusal) Error() string { return "refused: " + r.EN }

// refuse is the refusal of a rule: apply names it.
func refuse(en, zh string) *Refusal { return &Refusal{Text: i18n.Text{EN: en, ZH: zh}} }

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
			return refuse("Amount must be above 0", "金额必须大于零")
		}
		return nil
	}},
	{"amount within maximum", func(c *SaleCheck) *Refusal {
		if c.Amount > c.MaxAmount {
			return refuse("Over limit "+Money(c.MaxAmount), "超过上限 "+Money(c.MaxAmount))
		}
		return nil
	}},
	{"card presented", func(c *SaleCheck) *Refusal {
		if !c.HasCard {
			return refuse("No card", "无卡")
		}
		return nil
	}},
	{"duplicate confirmed", func(c *SaleCheck) *Refusal {
		if c.Duplicate != nil && !c.Confirmed {
			return refuse("Duplicate? trace "+trace(c.Duplicate.STAN), "疑似重复 凭证号"+trace(c.Duplicate.STAN))
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
			return refuse("Needs supervisor", "需要主管密码")
		}
		return nil
	}},
	{"original found", func(c *VoidCheck) *Refusal {
		if c.Orig == nil {
			return refuse("Original not found", "原交易不存在")
		}
		return nil
	}},
	{"original is a sale or refund", func(c *VoidCheck) *Refusal {
		if c.Orig.Type != Sale && c.Orig.Type != Refund {
			return refuse("Only sales, refunds", "只能撤销消费或退货")
		}
		return nil
	}},
	{"original not settled", func(c *VoidCheck) *Refusal {
		if c.Orig.Batch != c.CurrentBatch {
			return refuse("Settled: use refund", "已结算，请做退货")
		}
		return nil
	}},
	{"original not already voided", func(c *VoidCheck) *Refusal {
		if c.Orig.Status == Voided {
			return refuse("Already voided", "原交易已撤销")
		}
		return nil
	}},
	{"original has no refunds", func(c *VoidCheck) *Refusal {
		if c.Orig.Status == PartiallyRefunded || c.Orig.Status == Refunded {
			return refuse("Has refunds: cannot void", "已有退货，不能撤销")
		}
		return nil
	}},
	{"original approved", func(c *VoidCheck) *Refusal {
		if c.Orig.Status != Approved {
			return refuse("Original not approved", "原交易未成功")
		}
		return nil
	}},
	{"same card", func(c *VoidCheck) *Refusal {
		if c.CardHash != "" && c.CardHash != c.Orig.CardHash {
			return refuse("Not the original card", "非原交易卡")
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
			return refuse("Needs supervisor", "需要主管密码")
		}
		return nil
	}},
	{"amount positive", func(c *RefundCheck) *Refusal {
		if c.Amount <= 0 {
			return refuse("Amount must be above 0", "金额必须大于零")
		}
		return nil
	}},
	{"amount within refund ceiling", func(c *RefundCheck) *Refusal {
		if c.Amount > c.Ceiling {
			return refuse("Refund limit "+Money(c.Ceiling), "超过退货限额"+Money(c.Ceiling))
		}
		return nil
	}},
	{"original is a sale", func(c *RefundCheck) *Refusal {
		if c.Orig != nil && c.Orig.Type != Sale {
			return refuse("Original not a sale", "原交易不是消费")
		}
		return nil
	}},
	{"original not voided", func(c *RefundCheck) *Refusal {
		if c.Orig != nil && c.Orig.Status == Voided {
			return refuse("Original was voided", "原交易已撤销")
		}
		return nil
	}},
	{"original approved", func(c *RefundCheck) *Refusal {
		if c.Orig != nil && c.Orig.Status != Approved && c.Orig.Status != PartiallyRefunded && c.Orig.Status != Refunded {
			return refuse("Original not approved", "原交易未成功")
		}
		return nil
	}},
	{"refunds within original", func(c *RefundCheck) *Refusal {
		if c.Orig != nil && c.Orig.Refunded+c.Amount > c.Orig.Amount {
			left := c.Orig.Amount - c.Orig.Refunded
			return refuse("Max refund "+Money(left), "超过可退金额"+Money(left))
		}
		return nil
	}},
	{"original card", func(c *RefundCheck) *Refusal {
		if c.Orig != nil && c.CardHash != c.Orig.CardHash {
			return refuse("Not the original card", "非原交易卡")
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
var ManualRefundReasons = []i18n.Text{
	{EN: "Original route unavailable", ZH: "原路退回不可用"},
	{EN: "Card closed or replaced", ZH: "卡已注销或换卡"},
	{EN: "Original older than journal", ZH: "原交易超出保存期"},
	{EN: "Other", ZH: "其他"},
}

// ManualRefundRules are the rules a manual refund record must pass.
var ManualRefundRules = []Rule[ManualRefundCheck]{
	{"supervisor authorised", func(c *ManualRefundCheck) *Refusal {
		if !c.Supervisor {
			return refuse("Needs supervisor", "需要主管密码")
		}
		return nil
	}},
	{"amount positive", func(c *ManualRefundCheck) *Refusal {
		if c.Amount <= 0 {
			return refuse("Amount must be above 0", "金额必须大于零")
		}
		return nil
	}},
	{"amount within refund ceiling", func(c *ManualRefundCheck) *Refusal {
		if c.Amount > c.Ceiling {
			return refuse("Refund limit "+Money(c.Ceiling), "超过退货限额"+Money(c.Ceiling))
		}
		return nil
	}},
	{"reason given", func(c *ManualRefundCheck) *Refusal {
		if c.Reason == "" {
			return refuse("Reason required", "需要填写原因")
		}
		return nil
	}},
	{"original reference given", func(c *ManualRefundCheck) *Refusal {
		if c.OrigRRN == "" {
			return refuse("Original RRN required", "需要原参考号")
		}
		return nil
	}},
	{"within original", func(c *ManualRefundCheck) *Refusal {
		if c.Orig != nil && c.Orig.Refunded+c.Amount > c.Orig.Amount {
			return refuse("Max refund "+Money(c.Orig.Amount-c.Orig.Refunded), "超过可退金额"+Money(c.Orig.Amount-c.Orig.Refunded))
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
			return refuse("Settlement unfinished", "结算未完成，请先结算")
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
			return refuse(fmt.Sprintf("%d reversals pending", c.PendingReversals), fmt.Sprintf("有%d笔冲正未完成", c.PendingReversals))
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
