package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"posfw/drivers/printer/escpos"
	"posfw/firmware/diag"
	"posfw/firmware/operator"
	"posfw/firmware/txn"
	"posfw/firmware/update"
	"posfw/ui"
)

// Words of Manage → Technician.
var (
	titleTechnician = ui.Text{EN: "Technician", ZH: "维护"}
	titleSlots      = ui.Text{EN: "Slots & versions", ZH: "版本与分区"}
	titleConfirm    = ui.Text{EN: "Confirm version", ZH: "确认版本"}
	titleRollback   = ui.Text{EN: "Roll back", ZH: "版本回退"}
	titleUSB        = ui.Text{EN: "Update from USB", ZH: "U盘升级"}
	titleReceive    = ui.Text{EN: "Receive update", ZH: "接收升级"}
	titleSelfTest   = ui.Text{EN: "Self test", ZH: "自检"}
	titleDiagSlip   = ui.Text{EN: "Print diagnostics", ZH: "打印诊断单"}
	wordTechnician  = ui.Text{EN: "Technician password", ZH: "维护密码"}
	msgRestarting   = ui.Text{EN: "Restarting", ZH: "正在重启"}
	msgNoBundle     = ui.Text{EN: "No update found", ZH: "未找到升级包"}
	msgWaitingPush  = ui.Text{EN: "Waiting for push", ZH: "等待推送"}
	msgReceived     = ui.Text{EN: "Received", ZH: "已接收"}
)

// ErrRestart ends Run: a new version was installed, or the previous one chosen, and the
// terminal must start again into it (under systemd the service is restarted at once).
var ErrRestart = errors.New("restarting into another version")

// technicianMenu is Manage → Technician: the field technician's kit on the terminal,
// behind the technician's password; every action is audited.
func (a *App) technicianMenu(ctx context.Context) error {
	pw, err := a.ui.Digits(ctx, titleTechnician, wordTechnician, 8, 8, true)
	if err != nil {
		return err
	}
	tech, err := a.ops.Login(ctx, operator.TechnicianID, pw)
	releaseMemory()
	if err != nil {
		return a.ui.Result(ctx, resultWait, a.title(titleTechnician), a.ui.T(ui.WordRefused), a.ui.T(passwordRefusal(err, a.loc)))
	}
	as := func(f func(ctx context.Context, op operator.Operator) error) func(context.Context) error {
		return func(ctx context.Context) error { return f(ctx, tech) }
	}
	return a.ui.Menu(ctx, titleTechnician, []ui.Item{
		{Label: titleSlots, Run: a.slotsScreen},
		{Label: titleConfirm, Run: as(a.confirmVersion)},
		{Label: titleRollback, Run: as(a.rollBack)},
		{Label: titleUSB, Run: as(a.updateFromUSB)},
		{Label: titleReceive, Run: as(a.receiveUpdate)},
		{Label: titleSelfTest, Run: a.selfTest},
		{Label: titleDiagSlip, Run: as(a.printDiagnostics)},
	})
}

// root is the install root of the A/B slots.
func (a *App) root() update.Root { return update.Root{Dir: a.opts.Config.Update.Root} }

// audit records a technician's action in the journal's hash chain.
func (a *App) audit(ctx context.Context, op operator.Operator, detail string) {
	if err := a.journal.Audit(ctx, txn.Event{Kind: "technician", Operator: op.ID(), Detail: detail}); err != nil {
		a.log.Warn("technician action not audited", "detail", detail, "err", err)
	}
	a.log.Info("technician", "operator", op.ID(), "action", detail)
}

// slotLines describe the install root: the running slot and version, the other slot,
// whether the running version is still on trial.
func (a *App) slotLines() ([]string, error) {
	st, err := a.root().Status()
	if err != nil {
		return nil, err
	}
	lines := []string{
		fmt.Sprintf("%s %s  %s", a.ui.T(ui.Text{EN: "Slot", ZH: "分区"}), strings.ToUpper(st.Active), st.ActiveVersion),
	}
	if st.Previous != "" {
		lines = append(lines, fmt.Sprintf("%s %s  %s", a.ui.T(ui.Text{EN: "Prev.", ZH: "上一"}), strings.ToUpper(st.Previous), st.PreviousVersion))
	}
	if st.Trial >= 0 {
		lines = append(lines, a.ui.T(ui.Text{EN: "On trial, start ", ZH: "试运行，第"})+strconv.Itoa(st.Trial))
	} else {
		lines = append(lines, a.ui.T(ui.Text{EN: "Confirmed", ZH: "已确认"}))
	}
	return append(lines, "Floor "+st.Floor, "Board "+st.Board), nil
}

func (a *App) slotsScreen(ctx context.Context) error {
	lines, err := a.slotLines()
	if err != nil {
		return a.ui.Page(ctx, a.title(titleSlots), a.ui.T(ui.WordRefused), err.Error())
	}
	return a.ui.Page(ctx, append([]string{a.title(titleSlots)}, lines...)...)
}

func (a *App) confirmVersion(ctx context.Context, op operator.Operator) error {
	st, err := a.root().Confirm()
	if err == nil {
		a.audit(ctx, op, "confirmed slot "+st.Active+" version "+st.ActiveVersion)
	}
	return a.techResult(ctx, titleConfirm, err)
}

// rollBack switches to the previous slot and restarts into it. A previous version that
// cannot read this journal's schema is refused (update.Root.Rollback).
func (a *App) rollBack(ctx context.Context, op operator.Operator) error {
	st, err := a.root().Status()
	if err != nil {
		return a.techResult(ctx, titleRollback, err)
	}
	ok, err := a.ui.Confirm(ctx, titleRollback, a.ui.T(ui.Text{EN: "Back to", ZH: "回退到"})+" "+st.PreviousVersion)
	if err != nil || !ok {
		return ui.ErrCancel
	}
	schema, err := a.journal.Version()
	if err == nil {
		st, err = a.root().Rollback(schema)
	}
	if err != nil {
		return a.techResult(ctx, titleRollback, err)
	}
	a.audit(ctx, op, "rolled back to slot "+st.Active+" version "+st.ActiveVersion)
	return a.restart(ctx, titleRollback, st.ActiveVersion)
}

// updateFromUSB lists the bundles on mounted removable media, newest that may install
// first, and installs the one chosen.
func (a *App) updateFromUSB(ctx context.Context, op operator.Operator) error {
	keys, err := update.Trusted(a.opts.Config.Update.Keys...)
	if err != nil {
		return a.techResult(ctx, titleUSB, err)
	}
	a.ui.Show(a.title(titleUSB), a.ui.T(ui.WordProcessing))
	found := a.root().FindBundles(a.opts.Config.Update.USB, keys, update.Here(a.board.Name))
	if len(found) == 0 {
		return a.ui.Notice(ctx, titleUSB, msgNoBundle)
	}
	var items []ui.Item
	for _, f := range found {
		label := ui.Text{EN: f.Manifest.Version, ZH: f.Manifest.Version}
		if f.Err != nil {
			label = ui.Text{EN: "refused: " + f.Err.Error(), ZH: "不可用: " + f.Err.Error()}
			items = append(items, ui.Item{Label: label, Run: func(ctx context.Context) error { return a.techResult(ctx, titleUSB, f.Err) }})
			continue
		}
		items = append(items, ui.Item{Label: label, Run: func(ctx context.Context) error {
			ok, err := a.ui.Confirm(ctx, titleUSB, a.ui.T(ui.Text{EN: "Install", ZH: "安装"})+" "+f.Manifest.Version)
			if err != nil || !ok {
				return ui.ErrCancel
			}
			a.ui.Show(a.title(titleUSB), a.ui.T(ui.WordProcessing))
			m, err := a.root().Apply(f.Path, keys, update.Here(a.board.Name))
			if err != nil {
				return a.techResult(ctx, titleUSB, err)
			}
			a.audit(ctx, op, "installed version "+m.Version+" from "+f.Path)
			return a.restart(ctx, titleUSB, m.Version)
		}})
	}
	return a.ui.Menu(ctx, titleUSB, items)
}

// receiveUpdate waits for `posfw push` from a technician's laptop on the configured
// address (TLS to the terminal's pinned certificate), shows the percentage received,
// and restarts into the version once it is installed. CANCEL stops waiting.
func (a *App) receiveUpdate(ctx context.Context, op operator.Operator) error {
	keys, err := update.Trusted(a.opts.Config.Update.Keys...)
	if err != nil {
		return a.techResult(ctx, titleReceive, err)
	}
	l, pin, err := a.root().ListenTLS(a.opts.Config.Update.Listen)
	if err != nil {
		return a.techResult(ctx, titleReceive, err)
	}
	defer l.Close()
	a.audit(ctx, op, "listening for a push on "+l.Addr().String())
	// The laptop checks the terminal's certificate by its pin (`posfw push --pin`): all
	// 64 hex digits are shown, over as many lines as the screen's width needs.
	show := func(line string) {
		lines := append([]string{a.title(titleReceive), line, "Port " + portOf(l.Addr()), "Pin"}, chunks(pin, a.cols())...)
		a.ui.Show(append(lines, a.ui.T(ui.MsgPressCancel))...)
	}
	show(a.ui.T(msgWaitingPush))
	type result struct {
		m   update.Manifest
		err error
	}
	done := make(chan result, 1)
	go func() {
		rv := &update.Receiver{Root: a.root(), Keys: keys, Target: update.Here(a.board.Name),
			Progress: func(got, total int64) {
				if total > 0 {
					show(fmt.Sprintf("%s %d%%", a.ui.T(msgReceived), got*100/total))
				}
			}}
		for {
			c, err := l.Accept()
			if err != nil {
				done <- result{err: err}
				return
			}
			m, err := rv.ServeNet(c)
			c.Close()
			if err == nil {
				done <- result{m: m}
				return
			}
			// A cut link keeps what came: the technician pushes again and it resumes.
			a.log.Warn("push session ended", "err", err)
			show(a.ui.T(msgWaitingPush) + " " + err.Error())
		}
	}()
	defer a.ui.Wait()()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				return a.techResult(ctx, titleReceive, r.err)
			}
			a.audit(ctx, op, "installed version "+r.m.Version+" pushed from a laptop")
			return a.restart(ctx, titleReceive, r.m.Version)
		case k := <-a.ui.Keys():
			if k == ui.KeyCancel {
				return ui.ErrCancel
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// selfTest runs the self tests of `posfw selftest` on the terminal's own devices.
func (a *App) selfTest(ctx context.Context) error {
	a.ui.Show(a.title(titleSelfTest), a.ui.T(ui.WordProcessing))
	lines := append([]string{a.title(titleSelfTest)}, a.selfTestLines(ctx)...)
	return a.ui.Page(ctx, lines...)
}

// selfTestLines are one "PASS name" / "FAIL name" line per check.
func (a *App) selfTestLines(ctx context.Context) []string {
	dir, err := os.MkdirTemp("", "posfw-selftest-")
	if err != nil {
		return []string{"FAIL journal " + err.Error()}
	}
	defer os.RemoveAll(dir)
	var out strings.Builder
	diag.Run(ctx, diag.Checks(a.dev, dir, diag.Options{}), 10*time.Second, &out)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		// "PASS journal ...": the verdict and the name fit the screen; the log has it all.
		f := strings.Fields(l)
		if len(f) >= 2 {
			lines = append(lines, f[0]+" "+f[1])
		}
	}
	a.log.Info("self test", "result", out.String())
	return lines
}

// printDiagnostics prints a slip for the technician's report: version, slots, board,
// journal counters and the self test. It holds no card data and no key.
func (a *App) printDiagnostics(ctx context.Context, op operator.Operator) error {
	a.ui.Show(a.title(titleDiagSlip), a.ui.T(ui.WordPrinting))
	var b escpos.Builder
	b.Init().Align(escpos.Center).Bold(true).Line("诊断单 DIAGNOSTICS").Bold(false).Align(escpos.Left)
	b.Line("TID " + a.opts.Config.TerminalID).Line("posfw " + a.opts.Version).Line("Board " + a.board.Name)
	b.Line("Time " + a.now().In(a.loc).Format("2006-01-02 15:04:05"))
	if lines, err := a.slotLines(); err == nil {
		for _, l := range lines {
			b.Line(l)
		}
	} else {
		b.Line("Slots: " + err.Error())
	}
	if st, err := a.journal.Stats(ctx); err == nil {
		b.Line(fmt.Sprintf("Journal: %d records, %d pending reversals", st.Records, st.PendingReversals))
	}
	m := a.modem.status()
	b.Line(fmt.Sprintf("Modem: %s, %d/4", m.Registration, m.Bars))
	for _, l := range a.selfTestLines(ctx) {
		b.Line(l)
	}
	b.Feed(3).Cut()
	err := a.dev.Printer.Print(ctx, b.Bytes())
	if err == nil {
		a.audit(ctx, op, "printed a diagnostics slip")
	}
	return a.techResult(ctx, titleDiagSlip, err)
}

// restart shows that the terminal restarts into version and ends Run with ErrRestart.
func (a *App) restart(ctx context.Context, title ui.Text, version string) error {
	a.ui.Result(ctx, 3*time.Second, a.title(title), a.ui.T(msgDone), "posfw "+version, a.ui.T(msgRestarting))
	return ErrRestart
}

// techResult shows Done, or Refused and the reason in one line.
func (a *App) techResult(ctx context.Context, title ui.Text, err error) error {
	if err != nil {
		a.log.Warn("technician", "action", title.EN, "err", err)
		return a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(ui.WordRefused), err.Error())
	}
	return a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(msgDone))
}

func portOf(addr net.Addr) string {
	_, p, _ := net.SplitHostPort(addr.String())
	return p
}

// chunks cuts s into lines of at most n characters.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}
