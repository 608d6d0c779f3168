package app

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"posfw/firmware/operator"

	"posfw/ui"
)

var (
	titleSignIn = ui.Text{EN: "Sign in", ZH: "操作员签到"}
)

// passwordRefusal says on screen why a password was not accepted; a lockout ends at
// a time of the terminal's zone loc.
func passwordRefusal(err error, loc *time.Location) ui.Text {
	var wrong *operator.WrongPasswordError
	var locked *operator.LockedError
	switch {
	case errors.As(err, &wrong):
		return ui.Text{EN: fmt.Sprintf("Wrong password (%d left)", wrong.Left), ZH: fmt.Sprintf("密码错误，还可尝试%d次", wrong.Left)}
	case errors.As(err, &locked):
		until := locked.Until.In(loc).Format("15:04")
		return ui.Text{EN: "Locked until " + until, ZH: "已锁定至 " + until}
	case errors.Is(err, operator.ErrUnknown):
		return ui.Text{EN: "Unknown operator", ZH: "无此操作员"}
	case errors.Is(err, operator.ErrNotProvisioned):
		return ui.Text{EN: "Passwords not provisioned", ZH: "密码未设置"}
	}
	return ui.Text{EN: "Password check failed", ZH: "密码校验失败"}
}

// safeID logs an operator number only when it looks like one: a card number typed into
// the operator field must not reach the log.
func safeID(id string) string {
	if _, err := operator.RoleOf(id); err != nil {
		return "(invalid)"
	}
	return id
}

func (a *App) operatorID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.operator
}

func (a *App) setOperator(id string) {
	a.mu.Lock()
	a.operator = id
	a.mu.Unlock()
}

// signIn asks for an operator number and password until one is accepted.
func (a *App) signIn(ctx context.Context) error {
	for {
		id, err := a.ui.Digits(ctx, titleSignIn, ui.WordOperator, 2, 2, false)
		if errors.Is(err, ui.ErrCancel) {
			continue
		}
		if err != nil {
			return err
		}
		pw, err := a.ui.Digits(ctx, titleSignIn, ui.WordPassword, 4, 8, true, a.ui.T(ui.WordOperator)+" "+id)
		if errors.Is(err, ui.ErrCancel) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := a.ops.Login(ctx, id, pw); err != nil {
			a.log.Info("sign-in refused", "operator", safeID(id), "err", err)
			a.ui.Result(ctx, resultWait, a.title(titleSignIn), a.ui.T(ui.WordRefused), a.ui.T(passwordRefusal(err, a.loc)))
			continue
		}
		a.log.Info("operator signed in", "operator", id)
		a.setOperator(id)
		releaseMemory()
		return nil
	}
}

// supervisor asks for the supervisor's password (voids, refunds) and returns the
// supervisor's operator number once it is accepted.
func (a *App) supervisor(ctx context.Context, title ui.Text) (string, error) {
	for {
		pw, err := a.ui.Digits(ctx, title, ui.WordSupervisor, 6, 6, true, a.ui.T(ui.WordPassword))
		if err != nil {
			return "", err
		}
		err = a.ops.CheckSupervisor(ctx, pw)
		releaseMemory()
		if err != nil {
			a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(ui.WordRefused), a.ui.T(passwordRefusal(err, a.loc)))
			return "", ui.ErrCancel
		}
		return operator.SupervisorID, nil
	}
}

// Provisioned reports whether the supervisor and administrator have passwords.
func (a *App) Provisioned(ctx context.Context) (bool, error) { return a.ops.Provisioned(ctx) }

// releaseMemory hands the memory of an argon2id check (8 MiB per password) back to the
// system at once: a terminal's RAM is small and the check is rare.
func releaseMemory() { debug.FreeOSMemory() }
