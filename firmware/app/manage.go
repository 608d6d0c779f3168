package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"posfw/board"
	"posfw/firmware/operator"
	"posfw/ui"
)

var (
	titleSignOff     = ui.Text{EN: "Sign off", ZH: "签退"}
	titleMyPassword  = ui.Text{EN: "My password", ZH: "修改本人密码"}
	titleOperators   = ui.Text{EN: "Operators", ZH: "操作员管理"}
	titleAddCashier  = ui.Text{EN: "Add cashier", ZH: "增加收银员"}
	titleDelCashier  = ui.Text{EN: "Remove cashier", ZH: "删除收银员"}
	titleSetPassword = ui.Text{EN: "Set password", ZH: "设置密码"}
	titleDiagnostics = ui.Text{EN: "Diagnostics", ZH: "设备诊断"}
	titleVerify      = ui.Text{EN: "Journal verify", ZH: "流水校验"}
	titleExport      = ui.Text{EN: "Journal export", ZH: "流水导出"}
	wordAdmin        = ui.Text{EN: "Admin password", ZH: "管理员密码"}
	wordOld          = ui.Text{EN: "Old password", ZH: "原密码"}
	wordNew          = ui.Text{EN: "New password", ZH: "新密码"}
	msgDone          = ui.Text{EN: "Done", ZH: "完成"}
)

// errSignOff ends the idle screen: the operator signs off.
var errSignOff = errors.New("signed off")

// manageMenu: everyone may sign off, change their own password and see the terminal's
// state; operator management and the journal need the administrator's password.
func (a *App) manageMenu(ctx context.Context) error {
	return a.ui.Menu(ctx, TitleManage, []ui.Item{
		{Label: titleSignOff, Run: func(context.Context) error { return errSignOff }},
		{Label: titleMyPassword, Run: a.myPassword},
		{Label: TitleInfo, Run: a.infoScreen},
		{Label: TitleModem, Run: a.modemScreen},
		{Label: titleDiagnostics, Run: a.diagnostics},
		{Label: TitleManualRefund, Run: a.manualRefundFlow},
		{Label: titleOperators, Run: a.admin(a.operatorsMenu)},
		{Label: titleParams, Run: a.admin(a.paramsMenu)},
		{Label: titleVerify, Run: a.admin(func(ctx context.Context, _ operator.Operator) error { return a.verifyJournal(ctx) })},
		{Label: titleExport, Run: a.admin(func(ctx context.Context, _ operator.Operator) error { return a.exportJournal(ctx) })},
		{Label: titleTechnician, Run: a.technicianMenu},
		{Label: TitleLanguage, Run: a.toggleLanguage},
		{Label: TitleSignOn, Run: a.signOnFlow},
		{Label: titleEMVParams, Run: a.emvParamsMenu},
	})
}

// admin asks for the administrator's password before running f.
func (a *App) admin(f func(ctx context.Context, admin operator.Operator) error) func(context.Context) error {
	return func(ctx context.Context) error {
		pw, err := a.ui.Digits(ctx, TitleManage, wordAdmin, 8, 8, true)
		if err != nil {
			return err
		}
		adm, err := a.ops.Login(ctx, operator.AdministratorID, pw)
		if err != nil {
			return a.ui.Result(ctx, resultWait, a.title(TitleManage), a.ui.T(ui.WordRefused), a.ui.T(passwordRefusal(err, a.loc)))
		}
		return f(ctx, adm)
	}
}

// done shows an operation's outcome: Done, or Refused and why.
func (a *App) done(ctx context.Context, title ui.Text, err error) error {
	if errors.Is(err, ui.ErrCancel) {
		return err
	}
	if err != nil {
		return a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(ui.WordRefused), a.ui.T(operatorRefusal(err, a.loc)))
	}
	return a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(msgDone))
}

// operatorRefusal says on screen why an operator change was refused.
func operatorRefusal(err error, loc *time.Location) ui.Text {
	switch {
	case errors.Is(err, operator.ErrPasswordFormat):
		return ui.Text{EN: "Wrong password length", ZH: "密码位数不对"}
	case errors.Is(err, operator.ErrSamePassword):
		return ui.Text{EN: "Same as the old password", ZH: "与原密码相同"}
	case errors.Is(err, operator.ErrExists):
		return ui.Text{EN: "Operator exists", ZH: "操作员已存在"}
	case errors.Is(err, operator.ErrNotAllowed):
		return ui.Text{EN: "Not allowed", ZH: "无权操作"}
	case errors.Is(err, operator.ErrBadID):
		return ui.Text{EN: "Not a cashier number", ZH: "收银员编号无效"}
	}
	return passwordRefusal(err, loc)
}

// newPassword asks for a new password twice.
func (a *App) newPassword(ctx context.Context, title ui.Text) (string, error) {
	for {
		p1, err := a.ui.Digits(ctx, title, wordNew, 4, 8, true)
		if err != nil {
			return "", err
		}
		p2, err := a.ui.Digits(ctx, title, wordNew, 4, 8, true, a.ui.T(ui.Text{EN: "Again", ZH: "再输一次"}))
		if err != nil {
			return "", err
		}
		if p1 == p2 {
			return p1, nil
		}
		a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(ui.WordRefused), a.ui.T(ui.Text{EN: "Passwords differ", ZH: "两次输入不一致"}))
	}
}

func (a *App) myPassword(ctx context.Context) error {
	old, err := a.ui.Digits(ctx, titleMyPassword, wordOld, 4, 8, true)
	if err != nil {
		return err
	}
	pw, err := a.newPassword(ctx, titleMyPassword)
	if err != nil {
		return err
	}
	return a.done(ctx, titleMyPassword, a.ops.ChangeOwn(ctx, a.operatorID(), old, pw))
}

func (a *App) operatorsMenu(ctx context.Context, adm operator.Operator) error {
	cashier := func(ctx context.Context, title ui.Text) (string, error) {
		return a.ui.Digits(ctx, title, ui.WordOperator, 2, 2, false)
	}
	return a.ui.Menu(ctx, titleOperators, []ui.Item{
		{Label: titleAddCashier, Run: func(ctx context.Context) error {
			id, err := cashier(ctx, titleAddCashier)
			if err != nil {
				return err
			}
			pw, err := a.newPassword(ctx, titleAddCashier)
			if err != nil {
				return err
			}
			return a.done(ctx, titleAddCashier, a.ops.AddCashier(ctx, adm, id, pw))
		}},
		{Label: titleDelCashier, Run: func(ctx context.Context) error {
			id, err := cashier(ctx, titleDelCashier)
			if err != nil {
				return err
			}
			return a.done(ctx, titleDelCashier, a.ops.RemoveCashier(ctx, adm, id))
		}},
		{Label: titleSetPassword, Run: func(ctx context.Context) error {
			id, err := cashier(ctx, titleSetPassword) // a cashier, or 00 for the supervisor
			if err != nil {
				return err
			}
			pw, err := a.newPassword(ctx, titleSetPassword)
			if err != nil {
				return err
			}
			return a.done(ctx, titleSetPassword, a.ops.SetPassword(ctx, adm, id, pw))
		}},
	})
}

// diagnostics checks the devices the terminal has open, one line each.
func (a *App) diagnostics(ctx context.Context) error {
	a.ui.Show(a.title(titleDiagnostics), a.ui.T(ui.WordProcessing))
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lines := []string{a.title(titleDiagnostics)}
	verdict := func(name string, err error) {
		if err != nil {
			lines = append(lines, "FAIL "+name)
			a.log.Warn("diagnostics", "device", name, "err", err)
			return
		}
		lines = append(lines, "PASS "+name)
	}
	verdict("journal", a.journal.IntegrityCheck(cctx))
	_, err := a.dev.Printer.Status(cctx)
	verdict("printer", err)
	_, err = a.dev.Pad.Info(cctx)
	verdict("pinpad", err)
	m := a.modem.status()
	if m.Bars < 0 {
		verdict("modem", errors.New(m.Registration))
	} else {
		verdict(fmt.Sprintf("modem %d/4", m.Bars), nil)
	}
	if !board.Present(a.dev.Reader) {
		verdict("reader", board.ErrAbsent)
	} else {
		// A stripe reader says nothing until a card passes: the technician swipes one
		// in Query.
		lines = append(lines, "reader: "+a.ui.T(ui.Text{EN: "swipe via Query", ZH: "可在查询中刷卡"}))
	}
	return a.ui.Page(ctx, lines...)
}

func (a *App) verifyJournal(ctx context.Context) error {
	a.ui.Show(a.title(titleVerify), a.ui.T(ui.WordProcessing))
	rep, err := a.journal.Verify(ctx)
	switch {
	case err != nil:
		return a.refused(ctx, titleVerify, err)
	case !rep.OK():
		a.log.Error("journal verify failed", "problem", rep.Problem)
		return a.ui.Result(ctx, resultWait, a.title(titleVerify), "FAILED", rep.Problem)
	}
	return a.ui.Result(ctx, resultWait, a.title(titleVerify), "OK", fmt.Sprintf("%d events", rep.Events), fmt.Sprintf("%d records", rep.Records))
}

// exportJournal writes the journal as JSON lines into DATA/export, for a technician to
// collect as evidence.
func (a *App) exportJournal(ctx context.Context) error {
	dir := filepath.Join(a.opts.DataDir, "export")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return a.refused(ctx, titleExport, err)
	}
	name := "journal-" + a.now().In(a.loc).Format("20060102-150405") + ".jsonl"
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return a.refused(ctx, titleExport, err)
	}
	err = a.journal.Export(ctx, f, "json")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return a.refused(ctx, titleExport, err)
	}
	return a.ui.Result(ctx, resultWait, a.title(titleExport), a.ui.T(msgDone), "export/", name)
}
