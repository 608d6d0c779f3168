package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"posfw/firmware/emv"
	"posfw/firmware/emvparam"
	"posfw/firmware/journal"
	"posfw/firmware/txn"
	"posfw/ui"
)

// The EMV parameters the acquirer downloads (issue 16): the AIDs the terminal accepts
// and the CA public keys. They are downloaded after the start-up sign-on when the
// journal holds none, and from Manage → EMV parameters → Download now; the journal keeps
// each set, versioned (the newest in force); the kernel runs with it (kernelParams).

var (
	titleEMVParams   = ui.Text{EN: "EMV parameters", ZH: "IC卡参数/公钥"}
	titleEMVShow     = ui.Text{EN: "Show", ZH: "查看"}
	titleEMVDownload = ui.Text{EN: "Download now", ZH: "立即下载"}
	msgEMVBuiltIn    = ui.Text{EN: "Built-in (none downloaded)", ZH: "内置参数（未下载）"}
	msgEMVNoDownload = ui.Text{EN: "Host link cannot download", ZH: "主机不支持下载"}
	msgEMVUnchanged  = ui.Text{EN: "Unchanged", ZH: "参数无变化"}
	msgEMVBroken     = ui.Text{EN: "Stored set unusable", ZH: "已存参数不可用"}
)

// emvDownloader is what the download needs of the host link (host.Client has it).
type emvDownloader interface {
	DownloadEMV(ctx context.Context, stan func() (int64, error)) (emvparam.Set, error)
}

// errNoEMVDownload: the host link of this terminal has no parameter download.
var errNoEMVDownload = errors.New("the host link has no EMV parameter download")

// kernelParams are the EMV parameters the kernel runs under: the built-in defaults,
// with the AIDs and CA public keys the acquirer downloaded (when the journal holds a
// set) in their place. Keys past their expiry date are left out. A stored set that no
// longer reads back as it was downloaded is not used: the defaults are, and it is
// logged.
func (a *App) kernelParams(ctx context.Context) *emv.Params {
	p := a.builtinParams()
	s, _, ok, err := a.journal.EMVParams(ctx)
	if err != nil {
		a.log.Warn("the stored EMV parameters are not usable; the built-in ones are", "err", err)
		return p
	}
	if !ok {
		return p
	}
	u := s.Usable(a.now().In(a.loc))
	u.Apply(p)
	if len(s.CAPKs) > 0 && len(u.CAPKs) == 0 {
		p.CAPK = nil // every downloaded key expired: none, rather than the built-in ones
	}
	if err := p.Check(); err != nil {
		a.log.Warn("the stored EMV parameters do not fit the kernel; the built-in ones are used", "version", s.Version, "err", err)
		return a.builtinParams()
	}
	return p
}

// builtinParams are the kernel's built-in parameters. The test CA key among them is
// kept for the simulator only (Options.TestCardKeys): anyone can sign a card under it.
func (a *App) builtinParams() *emv.Params {
	p := emv.DefaultParams()
	if !a.opts.TestCardKeys {
		p.CAPK = nil
	}
	return p
}

// downloadEMV downloads the acquirer's set and journals it (a new version, or the
// download noted as unchanged). A failed download is audited and leaves the set in
// force.
func (a *App) downloadEMV(ctx context.Context, operator string) (version int64, changed bool, err error) {
	d, ok := a.opts.Host.(emvDownloader)
	if !ok {
		return 0, false, errNoEMVDownload
	}
	set, err := d.DownloadEMV(ctx, func() (int64, error) { return a.journal.NextSTAN(ctx) })
	if err == nil {
		version, changed, err = a.journal.StoreEMVParams(ctx, set, operator)
	}
	if err != nil {
		if aerr := a.journal.Audit(ctx, txn.Event{Kind: "emv_params_download", Operator: operator, Detail: err.Error()}); aerr != nil {
			a.log.Warn("failed EMV parameter download not audited", "err", aerr)
		}
		return 0, false, err
	}
	a.log.Info("EMV parameters downloaded", "version", version, "new", changed, "aids", len(set.AIDs), "keys", len(set.CAPKs))
	return version, changed, nil
}

// emvAfterSignOn downloads the EMV parameters after a sign-on when the journal holds
// none. (The messages carry no "newer set" flag: a technician downloads a changed set
// from Manage.)
func (a *App) emvAfterSignOn(ctx context.Context) {
	if _, ok := a.opts.Host.(emvDownloader); !ok {
		return
	}
	if _, _, ok, err := a.journal.EMVParams(ctx); ok || err != nil {
		return
	}
	if _, _, err := a.downloadEMV(ctx, "system"); err != nil {
		a.log.Warn("EMV parameter download after sign-on failed; the built-in parameters stay", "err", err)
	}
}

// emvParamsMenu is Manage → EMV parameters: what is in force, and Download now.
func (a *App) emvParamsMenu(ctx context.Context) error {
	return a.ui.Menu(ctx, titleEMVParams, []ui.Item{
		{Label: titleEMVShow, Run: a.emvParamsScreen},
		{Label: titleEMVDownload, Run: a.emvDownloadFlow},
	})
}

// emvDownloadFlow downloads now, on the operator's request (audited: the journal's
// event names the operator), and shows the version then in force.
func (a *App) emvDownloadFlow(ctx context.Context) error {
	if a.opts.Host == nil {
		return a.ui.Notice(ctx, titleEMVParams, msgNoHost)
	}
	if _, ok := a.opts.Host.(emvDownloader); !ok {
		return a.ui.Notice(ctx, titleEMVParams, msgEMVNoDownload)
	}
	a.ui.Show(a.title(titleEMVDownload), a.ui.T(ui.WordProcessing))
	v, changed, err := a.downloadEMV(ctx, a.operatorID())
	if err != nil {
		a.log.Info("EMV parameter download refused", "err", err)
		return a.ui.Result(ctx, resultWait, a.title(titleEMVDownload), a.ui.T(ui.WordRefused), a.ui.T(emvRefusal(err)))
	}
	msg := a.ui.T(msgDone)
	if !changed {
		msg = a.ui.T(msgEMVUnchanged)
	}
	return a.ui.Result(ctx, resultWait, a.title(titleEMVDownload), msg, fmt.Sprintf("%s %d", a.ui.T(wordVersion), v))
}

var wordVersion = ui.Text{EN: "Version", ZH: "版本"}

// emvRefusal says in a screen line why a download was refused (the log has the whole
// error).
func emvRefusal(err error) ui.Text {
	switch {
	case errors.Is(err, emvparam.ErrChecksum):
		return ui.Text{EN: "Key checksum wrong", ZH: "公钥校验值错误"}
	case errors.Is(err, txn.ErrNotSent):
		return ui.Text{EN: "Host not reachable", ZH: "主机不通"}
	case errors.Is(err, txn.ErrNoResponse), errors.Is(err, txn.ErrBadAnswer):
		return ui.Text{EN: "No answer from host", ZH: "主机无应答"}
	case errors.Is(err, errNoEMVDownload):
		return msgEMVNoDownload
	}
	return ui.Text{EN: "Parameters refused", ZH: "参数下载失败"}
}

// emvParamsScreen shows the set in force: version, digest, when stored, each AID (P:
// partial selection) and each key with its expiry; UP and DOWN page, ENTER or CANCEL
// leaves.
func (a *App) emvParamsScreen(ctx context.Context) error {
	s, info, ok, err := a.journal.EMVParams(ctx)
	if err != nil {
		a.log.Warn("stored EMV parameters unusable", "err", err)
		return a.ui.Notice(ctx, titleEMVParams, msgEMVBroken)
	}
	if !ok {
		return a.ui.Notice(ctx, titleEMVParams, msgEMVBuiltIn)
	}
	return a.pages(ctx, a.title(titleEMVParams), emvLines(a.ui, s, info, a.loc))
}

// emvLines are the lines of the EMV parameter screen.
func emvLines(u *ui.UI, s emvparam.Set, info journal.EMVParamsInfo, loc *time.Location) []string {
	lines := []string{
		fmt.Sprintf("%s %d", u.T(wordVersion), s.Version),
		"SHA256 " + info.Digest[:8],
		info.StoredAt.In(loc).Format("2006-01-02 15:04"),
		fmt.Sprintf("AID %d", len(s.AIDs)),
	}
	for _, x := range s.AIDs {
		l := fmt.Sprintf("%X", x.AID)
		if x.Partial {
			l += " P"
		}
		lines = append(lines, l)
	}
	lines = append(lines, fmt.Sprintf("%s %d", u.T(ui.Text{EN: "CA keys", ZH: "公钥"}), len(s.CAPKs)))
	for _, k := range s.CAPKs {
		lines = append(lines, fmt.Sprintf("%X %02X", k.RID, k.Index), "  exp "+k.Expiry[:4]+"-"+k.Expiry[4:6]+"-"+k.Expiry[6:])
	}
	return lines
}

// pages shows a title and lines, as many as fit a screen at a time with a hint on the
// last row: DOWN or ENTER the next page (ENTER on the last leaves), UP the one before,
// CANCEL leaves.
func (a *App) pages(ctx context.Context, title string, lines []string) error {
	per := max(a.board.Display.Rows-2, 1)
	n := (len(lines) + per - 1) / per
	for i := 0; ; {
		lo, hi := i*per, min((i+1)*per, len(lines))
		screen := append([]string{title}, lines[lo:hi]...)
		for len(screen) < a.board.Display.Rows-1 {
			screen = append(screen, "")
		}
		hint := a.ui.T(ui.MsgPressCancel)
		if n > 1 {
			hint = fmt.Sprintf("%d/%d ", i+1, n) + a.ui.T(ui.Text{EN: "DOWN: more", ZH: "下翻"})
		}
		a.ui.Show(append(screen, hint)...)
		k, err := a.ui.ReadKey(ctx, 0)
		if err != nil {
			return err
		}
		switch k {
		case ui.KeyCancel:
			return nil
		case ui.KeyEnter, ui.KeyDown:
			if i+1 >= n {
				if k == ui.KeyEnter {
					return nil
				}
				continue
			}
			i++
		case ui.KeyUp:
			i = max(i-1, 0)
		}
	}
}
