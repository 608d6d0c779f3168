package txn

import (
	"slices"

	"posfw/ui/i18n"
)

// Action is what the terminal does about a host response code.
type Action string

// Action classes (DESIGN §3).
const (
	ActApproved    Action = "approved"
	ActDeclined    Action = "declined"     // tell the cashier, nothing to undo
	ActRetry       Action = "retry"        // a temporary host problem: try again later
	ActCallIssuer  Action = "call_issuer"  // the cardholder must call the bank
	ActReverse     Action = "reverse"      // reverse the request and sign on again
	ActManualRoute Action = "manual_route" // refund: the original route is unavailable, offer a manual refund
	// ActTraceUsed: the host has seen this trace number before (94): the journal's
	// counters are behind the host's. The request is declined; the STAN moves forward
	// and the cashier is told to call support.
	ActTraceUsed Action = "trace_used"
	// ActUnknown: a code the terminal does not know. It cannot tell whether the money
	// moved, so the request counts as unanswered and is reversed.
	ActUnknown Action = "unknown"
)

// Code is one row of the response code table.
type Code struct {
	Code   string
	Action Action
	i18n.Text
}

// Codes is the response code table: ISO 8583:1987 field 39 values as China UnionPay and
// most acquirers use them. A code not in the table is ActUnknown: reversed, never taken
// for a final decline.
var Codes = []Code{
	{CodeApproved, ActApproved, i18n.Text{EN: "Approved", ZH: "交易成功"}},
	{"01", ActCallIssuer, i18n.Text{EN: "Refer to card issuer", ZH: "请持卡人与发卡行联系"}},
	{"03", ActDeclined, i18n.Text{EN: "Invalid merchant", ZH: "无效商户"}},
	{"04", ActDeclined, i18n.Text{EN: "Pick up card", ZH: "没收卡"}},
	{"05", ActDeclined, i18n.Text{EN: "Do not honour", ZH: "发卡行拒绝"}},
	{"06", ActRetry, i18n.Text{EN: "Error, try again", ZH: "出错，请重试"}},
	{"12", ActDeclined, i18n.Text{EN: "Invalid related transaction", ZH: "无效的关联交易"}},
	{"13", ActDeclined, i18n.Text{EN: "Invalid amount", ZH: "无效金额"}},
	{"14", ActDeclined, i18n.Text{EN: "Invalid card number", ZH: "无效卡号"}},
	{"22", ActRetry, i18n.Text{EN: "Suspected malfunction", ZH: "故障怀疑"}},
	{"25", ActDeclined, i18n.Text{EN: "Original not found", ZH: "找不到原始交易"}},
	{"30", ActRetry, i18n.Text{EN: "Format error", ZH: "报文格式错误"}},
	{"40", ActManualRoute, i18n.Text{EN: "Original route unavailable", ZH: "原路退回不可用"}},
	{"41", ActDeclined, i18n.Text{EN: "Lost card", ZH: "挂失卡"}},
	{"43", ActDeclined, i18n.Text{EN: "Stolen card", ZH: "被窃卡"}},
	{"51", ActDeclined, i18n.Text{EN: "Insufficient funds", ZH: "余额不足"}},
	{"54", ActDeclined, i18n.Text{EN: "Expired card", ZH: "过期卡"}},
	{"55", ActDeclined, i18n.Text{EN: "Wrong PIN", ZH: "密码错误"}},
	{"57", ActDeclined, i18n.Text{EN: "Not permitted to cardholder", ZH: "不允许持卡人进行的交易"}},
	{"58", ActDeclined, i18n.Text{EN: "Not permitted to terminal", ZH: "不允许终端进行的交易"}},
	{"61", ActDeclined, i18n.Text{EN: "Exceeds amount limit", ZH: "超出金额限制"}},
	{"65", ActDeclined, i18n.Text{EN: "Exceeds frequency limit", ZH: "超出取款次数限制"}},
	{"75", ActCallIssuer, i18n.Text{EN: "PIN tries exceeded", ZH: "密码错误次数超限"}},
	{"91", ActRetry, i18n.Text{EN: "Issuer unavailable", ZH: "发卡行不能操作"}},
	{"94", ActTraceUsed, i18n.Text{EN: "Trace used: call support", ZH: "流水号重复，请联系维护"}},
	{"96", ActRetry, i18n.Text{EN: "System malfunction", ZH: "系统故障"}},
	{"97", ActReverse, i18n.Text{EN: "Terminal not signed on", ZH: "终端未签到"}},
	{"A0", ActReverse, i18n.Text{EN: "MAC error, sign on again", ZH: "MAC校验错，请重新签到"}},
	{"A7", ActDeclined, i18n.Text{EN: "Security check failed", ZH: "安全处理失败"}}, // the chip's cryptogram did not verify
}

// CodeApproved is the one answer that approves (field 39).
const CodeApproved = "00"

// ReversalAnswers are the answers to a reversal that clear it: 00 the host reversed
// the original; 12 and 25 the host never had it, so nothing was debited. Any other
// answer, or none, leaves the reversal owed.
var ReversalAnswers = []string{CodeApproved, "12", "25"}

// ClearsReversal reports whether a reversal answered with code is done.
func ClearsReversal(code string) bool { return slices.Contains(ReversalAnswers, code) }

// LookupCode returns the row for a response code; a code not in the table is
// ActUnknown.
func LookupCode(code string) Code {
	for _, c := range Codes {
		if c.Code == code {
			return c
		}
	}
	return Code{code, ActUnknown, i18n.Text{EN: "Unknown answer, reversing", ZH: "未知应答，将冲正"}}
}
