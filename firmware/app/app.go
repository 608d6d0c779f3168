// Package app wires one terminal together: configuration, board, journal, devices and
// screens. `posfw run` and `posfw sim` run the same App; only the board (and so the
// device ends) differs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"posfw/board"
	"posfw/drivers/pinpad"
	"posfw/firmware/config"
	"posfw/firmware/datadir"
	"posfw/firmware/journal"
	"posfw/firmware/operator"
	"posfw/firmware/txn"
	"posfw/ui"
)

// Options are what a terminal is made of.
type Options struct {
	// DataDir holds the journal and the logs.
	DataDir string
	Config  *config.Config
	// Devices are the board's devices, opened by board.Open; the App closes them.
	Devices *board.Devices
	// Display shows the screens; its grid size comes from the board.
	Display ui.Display
	Lang    ui.Lang
	// Version is printed on the terminal info screen.
	Version string
	Log     *slog.Logger
	// Host is the acquirer link; nil leaves the money menus saying so.
	Host txn.Host
	// SeedSimDefaults gives a journal without operators the simulator's default
	// passwords (DESIGN §4). Production never sets it: `posfw provision` does.
	SeedSimDefaults bool
	// TestCardKeys: the simulator. Its chip test cards are signed under the test CA,
	// whose public key the built-in EMV parameters list only then; a terminal in the
	// field trusts the CA keys its acquirer downloaded and nothing else.
	TestCardKeys bool
	// KeepLang: Lang was asked for explicitly (--lang) and wins over the language saved
	// from the Manage menu.
	KeepLang bool
	// Now is the terminal's clock (time.Now when nil): records, slips, screens and the
	// host link read it. The simulator sets it to run the terminal at another hour.
	Now func() time.Time
	// Alive, when set, hears the terminal's parts beat while they work: PartUI while the
	// UI goroutine is not stuck, PartJournal while the journal writer commits. The
	// service watchdog is fed only while both beat (update.Watchdog).
	Alive func(part string)
}

// The parts of a running terminal whose beats feed the service watchdog.
const (
	PartUI      = "ui"
	PartJournal = "journal"
)

// App is a running terminal.
type App struct {
	opts    Options
	journal *journal.Journal
	engine  *txn.Engine
	// qr runs QR orders beside the engine (qrflow.go); qrMu keeps one flow or the host
	// worker at a time on the open orders.
	qr    *txn.QR
	qrMu  sync.Mutex
	ui    *ui.UI
	dev   *board.Devices
	board *board.Board
	modem *modemWatch
	cards *pinpad.CardHashes // the pad's card hashes, asked for when the card is read
	// stripeDone, when not nil, closes when the stripe reader's last read (left behind
	// by a card prompt that ended another way) has returned: the next prompt waits for
	// it, so that no swipe goes to a read nobody takes.
	stripeDone chan struct{}
	ops        *operator.Service
	log        *slog.Logger
	stop       context.CancelFunc
	wg         sync.WaitGroup
	notices    notices // reversal-failed slips owed, printed at idle

	mu       sync.Mutex
	operator string // signed-in operator id

	// now is the clock and loc the terminal's zone (config timezone): every local date
	// and time the terminal shows, prints or keys back is now().In(loc).
	now func() time.Time
	loc *time.Location
}

// Start opens the journal and devices and starts the device supervisors. The screens
// start with Run.
func Start(ctx context.Context, o Options) (*App, error) {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Before anything else happens (sign-on, reversals): the journal is checked against
	// the PIN pad, which holds the card-hash key and the journal's anchor; and production
	// refuses a journal the simulator marked as its own, which the simulator marks
	// (origin.go).
	check := CheckProduction
	if o.SeedSimDefaults {
		check = markSim
	}
	pad := o.Devices.Pad
	if !board.Present(pad) {
		// Say first what is wrong with the journal, if anything, read-only.
		if jr, err := journal.OpenWith(datadir.Dir(o.DataDir).Journal(), journal.Options{ReadOnly: true}); err == nil {
			err = check(ctx, jr)
			jr.Close()
			if err != nil {
				return nil, err
			}
		}
		return nil, errors.New("PIN pad: the board has none; the terminal needs one (it computes card hashes and holds the journal's anchor)")
	}
	j, err := journal.OpenWith(datadir.Dir(o.DataDir).Journal(), journal.Options{Witness: pad})
	if err != nil {
		return nil, err
	}
	// closeAll undoes the start when a later step fails; the caller still owns the
	// devices until Start succeeds.
	closeAll := func() { j.Close() }
	if err := check(ctx, j); err != nil {
		closeAll()
		return nil, err
	}
	bctx, stop := context.WithCancel(context.Background())
	a := &App{
		opts:    o,
		journal: j,
		dev:     o.Devices,
		board:   o.Devices.Board(),
		cards:   &pinpad.CardHashes{Pad: pad},
		ui:      ui.New(o.Display, o.Devices.Board().Display.Cols, o.Devices.Board().Display.Rows, o.Lang),
		log:     log,
		stop:    stop,
		now:     o.Now,
		loc:     o.Config.Location(),
	}
	if a.now == nil {
		a.now = time.Now
	}
	j.SetClock(a.now)
	if err := a.recordZone(ctx); err != nil {
		closeAll()
		return nil, err
	}
	if a.ops, err = operator.New(j, a.now, operator.DefaultPolicy); err != nil {
		closeAll()
		return nil, err
	}
	if o.SeedSimDefaults {
		if seeded, err := a.ops.SeedSimDefaults(ctx); err != nil {
			closeAll()
			return nil, err
		} else if seeded {
			log.Info("simulator default operators seeded")
			releaseMemory()
		}
	}
	if o.Host != nil {
		c := o.Config
		a.engine = &txn.Engine{
			Store: j, Cards: a.cards, Host: o.Host, Currency: c.Currency, Numeric: c.CurrencyCode(),
			Limits: txn.Limits{MaxAmount: c.Limits.MaxAmount, RefundCeiling: c.Limits.RefundCeiling, DuplicateWindow: c.Limits.DuplicateWindow.Duration},
			// A reversal given up queues its "call the acquirer" slip (notices.go).
			MaxReversalTries: reversalTries, ReversalFailed: a.notices.add,
			Now: a.now, Location: a.loc,
		}
		if h, ok := o.Host.(txn.QRHost); ok {
			a.qr = a.newQR(h)
		}
		if n, err := j.Recover(ctx); err != nil {
			closeAll()
			return nil, err
		} else if n > 0 {
			log.Warn("records left pending by a restart are now pending reversals", "count", n)
		}
	}
	a.applySettings(ctx)
	if err := o.Devices.Indicators.Err; err != nil {
		log.Warn("buzzer and LEDs not available", "err", err)
	}
	a.modem = &modemWatch{
		m: o.Devices.Modem, power: o.Devices.Indicators.ModemPower, wantData: o.Config.Modem.APN != "",
		after: max(o.Config.Modem.RecoverAfter.Duration, time.Second), log: log, now: a.now, st: noModem,
		audit: func(ctx context.Context, detail string) {
			if err := a.journal.Audit(ctx, txn.Event{Kind: "modem_recovery", Operator: "system", Detail: detail}); err != nil {
				log.Warn("modem recovery not audited", "err", err)
			}
		},
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.modem.run(bctx)
	}()
	if a.engine != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.hostWorker(bctx)
		}()
	}
	if o.Alive != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.beat(bctx, o.Alive)
		}()
	}
	log.Info("terminal started", "terminal_id", o.Config.TerminalID, "board", a.board.Name,
		"version", o.Version, "sqlite", journal.SQLiteVersion())
	return a, nil
}

// recordZone keeps the terminal's zone in the journal (journal.SettingTimeZone, audited
// when it changes), so that an export read anywhere shows the local times the slips show.
func (a *App) recordZone(ctx context.Context) error {
	zone := a.loc.String()
	if v, ok, err := a.journal.Setting(ctx, journal.SettingTimeZone); err != nil {
		return err
	} else if ok && v == zone {
		return nil
	}
	return a.journal.SetSetting(ctx, journal.SettingTimeZone, zone, "system")
}

// UI is the terminal's screen and keypad.
func (a *App) UI() *ui.UI { return a.ui }

// Modem is the modem's current status.
func (a *App) Modem() ModemStatus { return a.modem.status() }

// Journal is the terminal's journal.
func (a *App) Journal() *journal.Journal { return a.journal }

// Run shows the idle screen and main menu until ctx ends.
func (a *App) Run(ctx context.Context) error {
	for {
		if err := a.signIn(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		err := a.ui.Home(ctx, ui.Status{
			TerminalID: a.opts.Config.TerminalID,
			Now:        func() time.Time { return a.now().In(a.loc) },
			Signal:     func() int { return a.modem.status().Bars },
			// The idle screen is where owed reversal-failed slips print (see notices).
			Idle:     func() { a.printNotices(ctx) },
			Alert:    a.alert,
			IdleLock: a.opts.Config.UI.IdleLock.Duration,
		}, a.mainMenu())
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ui.ErrIdle), errors.Is(err, errSignOff):
			a.log.Info("operator signed off", "operator", a.operatorID(), "idle", errors.Is(err, ui.ErrIdle))
			a.setOperator("")
		default:
			return err
		}
	}
}

// Close stops the supervisors and closes devices and the journal.
func (a *App) Close() error {
	a.stop()
	a.wg.Wait()
	// The journal first: it seals its head with the PIN pad as it closes.
	err := a.journal.Close()
	if derr := a.dev.Close(); derr != nil {
		a.log.Warn("devices did not close cleanly", "err", derr)
	}
	a.log.Info("terminal stopped")
	return err
}

// State is the machine-readable status (simctl state).
type State struct {
	Batch            int64  `json:"batch"`
	PendingReversals int64  `json:"pending_reversals"`
	FailedReversals  int64  `json:"failed_reversals"`
	Signal           int    `json:"signal"`
	Registration     string `json:"registration"`
	// Data says the modem's data session is up; ModemRecovery is the recovery rung last
	// tried while the link is down.
	Data          bool   `json:"data"`
	ModemRecovery string `json:"modem_recovery,omitempty"`
	// SignedOn: the PIN pad holds working keys of a sign-on with the host.
	SignedOn bool `json:"signed_on"`
	// QROpen counts QR orders whose end is not known yet (queried, then cancelled).
	QROpen int    `json:"qr_open"`
	Lang   string `json:"lang"`
}

// State reads the terminal's status.
func (a *App) State(ctx context.Context) (State, error) {
	batch, err := a.journal.Counter(ctx, "batch")
	if err != nil {
		return State{}, err
	}
	st, err := a.journal.Stats(ctx)
	if err != nil {
		return State{}, err
	}
	m := a.modem.status()
	return State{Batch: batch, PendingReversals: st.PendingReversals, FailedReversals: st.FailedReversals, Signal: m.Bars, Registration: m.Registration, Data: m.Data, ModemRecovery: m.Recovery, SignedOn: a.signedOn(), Lang: string(a.ui.Lang()), QROpen: a.qrOpen(ctx)}, nil
}

// signedOn reports whether the host link holds working keys of a sign-on.
func (a *App) signedOn() bool {
	s, ok := a.opts.Host.(interface{ SignedOn() bool })
	return ok && s.SignedOn()
}

// Titles of the main menu, in the order of DESIGN §3 / the cashier's day.
var (
	TitleSale       = ui.Text{EN: "Sale", ZH: "消费"}
	TitleVoid       = ui.Text{EN: "Void", ZH: "撤销"}
	TitleRefund     = ui.Text{EN: "Refund", ZH: "退货"}
	TitleReprint    = ui.Text{EN: "Reprint", ZH: "重打印"}
	TitleQuery      = ui.Text{EN: "Query", ZH: "查询"}
	TitleSettlement = ui.Text{EN: "Settlement", ZH: "结算"}
	TitleSignOn     = ui.Text{EN: "Sign-on", ZH: "签到"}
	TitleManage     = ui.Text{EN: "Manage", ZH: "管理"}
	TitleInfo       = ui.Text{EN: "Terminal info", ZH: "终端信息"}
	TitleModem      = ui.Text{EN: "Modem status", ZH: "无线模块"}
	TitleLanguage   = ui.Text{EN: "Language 语言", ZH: "语言 Language"}
)

// mainMenu is the numbered idle menu. Items without a flow yet show "Not available yet".
func (a *App) mainMenu() []ui.Item {
	return []ui.Item{
		{Label: TitleSale, Run: a.saleFlow},
		{Label: TitleVoid, Run: a.voidFlow},
		{Label: TitleRefund, Run: a.refundFlow},
		{Label: TitleReprint, Run: a.reprintFlow},
		{Label: TitleQuery, Run: a.queryFlow},
		{Label: TitleSettlement, Run: a.settleFlow},
		// Sign-on is under Manage: the terminal signs on by itself, and eight items are
		// what the smallest screen shows.
		{Label: TitleQR, Run: a.qrMenu},
		{Label: TitleManage, Run: a.manageMenu},
	}
}

func (a *App) infoScreen(ctx context.Context) error {
	c := a.opts.Config
	batch, _ := a.journal.Counter(ctx, "batch")
	return a.ui.Page(ctx,
		ui.Center(a.ui.T(TitleInfo), a.board.Display.Cols),
		"TID "+c.TerminalID,
		"MID "+c.MerchantID,
		c.MerchantName,
		fmt.Sprintf("Batch %06d", batch),
		"posfw "+a.opts.Version,
		"SQLite "+journal.SQLiteVersion(),
		"Board "+a.board.Name,
	)
}

func (a *App) modemScreen(ctx context.Context) error {
	title := ui.Center(a.ui.T(TitleModem), a.board.Display.Cols)
	a.ui.Show(title, a.ui.T(ui.Text{EN: "Processing", ZH: "处理中"}))
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lines, err := a.modem.report(qctx)
	if err != nil {
		lines = []string{a.ui.T(ui.MsgNoModem), err.Error()}
	}
	return a.ui.Page(ctx, append([]string{title}, lines...)...)
}

func (a *App) toggleLanguage(ctx context.Context) error {
	if a.ui.Lang() == ui.Chinese {
		a.ui.SetLang(ui.English)
	} else {
		a.ui.SetLang(ui.Chinese)
	}
	if err := a.journal.SetSetting(ctx, settingLanguage, string(a.ui.Lang()), a.operatorID()); err != nil {
		a.log.Warn("language not saved", "err", err)
	}
	a.log.Info("screen language changed", "lang", a.ui.Lang())
	return ui.ErrCancel // back to the Manage menu, now in the other language
}

// Fits the narrowest board (20 columns): the reversal failed, the acquirer must be called.
var msgReversalFailed = ui.Text{EN: "Call acquirer: rev.", ZH: "冲正失败请联系收单行"}

// alert is the idle screen's warning: reversals that could not be sent. It stays for as
// long as the journal holds a failed reversal, whether or not its slip printed.
func (a *App) alert() string {
	n, err := a.journal.FailedReversals(context.Background())
	if err != nil {
		return a.ui.T(msgJournal)
	}
	if n > 0 {
		return a.ui.T(msgReversalFailed)
	}
	if r := a.modem.status().Recovery; r != "" {
		return a.ui.T(msgModemRecovery) + " " + r
	}
	return ""
}

// msgModemRecovery heads the recovery rung the modem is on while its link is down.
var msgModemRecovery = ui.Text{EN: "4G:", ZH: "4G恢复:"}
