package txn

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
	EN, ZH string
}

// Codes is the response code table: ISO 8583:1987 field 39 values as China UnionPay and
// most acquirers use them. A code not in the table is ActUnknown: reversed, never taken
// for a final decline.
var Codes = []Code{
	{"00", ActApproved, "Approved", "交易成功"},
	{"01", ActCallIssuer, "Refer to card issuer", "请持卡人与发卡行联系"},
	{"03", ActDeclined, "Invalid merchant", "无效商户"},
	{"04", ActDeclined, "Pick up card", "没收卡"},
	{"05", ActDeclined, "Do not honour", "发卡行拒绝"},
	{"06", ActRetry, "Error, try again", "出错，请重试"},
	{"12", ActDeclined, "Invalid related transaction", "无效的关联交易"},
	{"13", ActDeclined, "Invalid amount", "无效金额"},
	{"14", ActDeclined, "Invalid card number", "无效卡号"},
	{"22", ActRetry, "Suspected malfunction", "故障怀疑"},
	{"25", ActDeclined, "Original not found", "找不到原始交易"},
	{"30", ActRetry, "Format error", "报文格式错误"},
	{"40", ActManualRoute, "Original route unavailable", "原路退回不可用"},
	{"41", ActDeclined, "Lost card", "挂失卡"},
	{"43", ActDeclined, "Stolen card", "被窃卡"},
	{"51", ActDeclined, "Insufficient funds", "余额不足"},
	{"54", ActDeclined, "Expired card", "过期卡"},
	{"55", ActDeclined, "Wrong PIN", "密码错误"},
	{"57", ActDeclined, "Not permitted to cardholder", "不允许持卡人进行的交易"},
	{"58", ActDeclined, "Not permitted to terminal", "不允许终端进行的交易"},
	{"61", ActDeclined, "Exceeds amount limit", "超出金额限制"},
	{"65", ActDeclined, "Exceeds frequency limit", "超出取款次数限制"},
	{"75", ActCallIssuer, "PIN tries exceeded", "密码错误次数超限"},
	{"91", ActRetry, "Issuer unavailable", "发卡行不能操作"},
	{"94", ActTraceUsed, "Trace used: call support", "流水号重复，请联系维护"},
	{"96", ActRetry, "System malfunction", "系统故障"},
	{"97", ActReverse, "Terminal not signed on", "终端未签到"},
	{"A0", ActReverse, "MAC error, sign on again", "MAC校验错，请重新签到"},
}

// LookupCode returns the row for a response code; a code not in the table is
// ActUnknown.
func LookupCode(code string) Code {
	for _, c := range Codes {
		if c.Code == code {
			return c
		}
	}
	return Code{code, ActUnknown, "Unknown answer, reversing", "未知应答，将冲正"}
}
