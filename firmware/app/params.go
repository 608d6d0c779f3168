package app

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"posfw/firmware/operator"
	"posfw/ui"
)

var (
	titleParams       = ui.Text{EN: "Parameters", ZH: "参数设置"}
	titleMaxAmount    = ui.Text{EN: "Max sale amount", ZH: "单笔消费上限"}
	titleRefundCeil   = ui.Text{EN: "Refund ceiling", ZH: "单笔退货上限"}
	titleDupWindow    = ui.Text{EN: "Duplicate window s", ZH: "重复交易窗口(秒)"}
	wordSeconds       = ui.Text{EN: "Seconds", ZH: "秒"}
	msgOutOfRange     = ui.Text{EN: "Out of range", ZH: "超出范围"}
	settingMaxAmount  = "limits.max_amount"
	settingRefundCeil = "limits.refund_ceiling"
	settingDupWindow  = "limits.duplicate_window"
	settingLanguage   = "ui.language"
)

// applySettings lays the parameters changed on the terminal over the configuration.
func (a *App) applySettings(ctx context.Context) {
	get := func(key string) (int64, bool) {
		v, ok, err := a.journal.Setting(ctx, key)
		if err != nil || !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	if a.engine != nil {
		if v, ok := get(settingMaxAmount); ok {
			a.engine.Limits.MaxAmount = v
		}
		if v, ok := get(settingRefundCeil); ok {
			a.engine.Limits.RefundCeiling = v
		}
		if v, ok := get(settingDupWindow); ok {
			a.engine.Limits.DuplicateWindow = time.Duration(v) * time.Second
		}
	}
	if v, ok, _ := a.journal.Setting(ctx, settingLanguage); ok && !a.opts.KeepLang {
		if l, ok := ui.ParseLang(v); ok {
			a.ui.SetLang(l)
		}
	}
}

// paramsMenu lets the administrator change the money limits; each change is audited.
// Host timeouts stay in the configuration file: they belong to the acquirer's contract.
func (a *App) paramsMenu(ctx context.Context, adm operator.Operator) error {
	if a.engine == nil {
		return a.ui.Notice(ctx, titleParams, msgNoHost)
	}
	amount := func(title ui.Text, key string, cur func() int64, set func(int64)) ui.Item {
		return ui.Item{Label: title, Run: func(ctx context.Context) error {
			v, err := a.ui.Amount(ctx, title, "Now "+ui.FormatAmount(cur()))
			if err != nil {
				return err
			}
			if v > 999_999_999_999 {
				return a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(ui.WordRefused), a.ui.T(msgOutOfRange))
			}
			if err := a.journal.SetSetting(ctx, key, strconv.FormatInt(v, 10), a.operatorID()); err != nil {
				return a.refused(ctx, title, err)
			}
			set(v)
			return a.done(ctx, title, nil)
		}}
	}
	lim := &a.engine.Limits
	return a.ui.Menu(ctx, titleParams, []ui.Item{
		amount(titleMaxAmount, settingMaxAmount, func() int64 { return lim.MaxAmount }, func(v int64) { lim.MaxAmount = v }),
		amount(titleRefundCeil, settingRefundCeil, func() int64 { return lim.RefundCeiling }, func(v int64) { lim.RefundCeiling = v }),
		{Label: titleDupWindow, Run: func(ctx context.Context) error {
			s, err := a.ui.Digits(ctx, titleDupWindow, wordSeconds, 1, 5, false, fmt.Sprintf("Now %d", int(lim.DuplicateWindow.Seconds())))
			if err != nil {
				return err
			}
			v := atoi(s)
			if v > 86400 {
				return a.ui.Result(ctx, resultWait, a.title(titleDupWindow), a.ui.T(ui.WordRefused), a.ui.T(msgOutOfRange))
			}
			if err := a.journal.SetSetting(ctx, settingDupWindow, strconv.FormatInt(v, 10), a.operatorID()); err != nil {
				return a.refused(ctx, titleDupWindow, err)
			}
			lim.DuplicateWindow = time.Duration(v) * time.Second
			return a.done(ctx, titleDupWindow, nil)
		}},
	})
}
