package app

import (
	"context"
	"errors"

	"posfw/ui"
)

// Authority checks operators' passwords: firmware/operator's Service, through
// operatorAuthority.
type Authority interface {
	// Login checks an operator's password; the error says why not (wrong, locked ...).
	Login(ctx context.Context, id, password string) error
	// CheckSupervisor checks the supervisor's (operator 00) password.
	CheckSupervisor(ctx context.Context, password string) error
}

var (
	titleSignIn  = ui.Text{EN: "Sign in", ZH: "操作员签到"}
	msgWrongPass = ui.Text{EN: "Wrong password", ZH: "密码错误"}
)

// SupervisorID is the supervisor's operator number.
const SupervisorID = "00"

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
		if err := a.auth.Login(ctx, id, pw); err != nil {
			a.ui.Result(ctx, resultWait, a.title(titleSignIn), a.ui.T(ui.WordRefused), err.Error())
			continue
		}
		a.setOperator(id)
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
		if err := a.auth.CheckSupervisor(ctx, pw); err != nil {
			a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(ui.WordRefused), err.Error())
			return "", ui.ErrCancel
		}
		return SupervisorID, nil
	}
}
