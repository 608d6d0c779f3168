package pinpad

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"

	"posfw/drivers/pinpad/dukpt"
)

// CardHasher is what computes card hashes: a Pad.
type CardHasher interface {
	CardHash(ctx context.Context, pan []byte) (string, error)
}

// CardHashes asks the PIN pad for a card's hash as soon as the card is presented, so
// that the sale which follows does not wait for a serial round trip: the hash is ready
// while the cashier confirms and the cardholder types the PIN. Prepare starts the
// question in the background; CardHash answers from it for the same PAN and asks the
// pad for any other.
//
// Only the newest card is remembered, and not by its PAN: by an HMAC under a random
// key that lives in this process's memory only. The PAN copy the background question
// needs is wiped when the pad has answered.
type CardHashes struct {
	Pad CardHasher

	mu   sync.Mutex
	key  []byte
	id   []byte        // the prepared card, as HMAC(key, PAN)
	done chan struct{} // closed when hash and err are set
	hash string
	err  error
}

func (c *CardHashes) idOf(pan []byte) []byte {
	if c.key == nil {
		c.key = make([]byte, 32)
		rand.Read(c.key)
	}
	m := hmac.New(sha256.New, c.key)
	m.Write(pan)
	return m.Sum(nil)
}

// Prepare has the pad hash pan in the background. The caller keeps ownership of pan.
func (c *CardHashes) Prepare(pan []byte) {
	p := bytes.Clone(pan)
	c.mu.Lock()
	c.id = c.idOf(p)
	done := make(chan struct{})
	c.done = done
	c.mu.Unlock()
	go func() {
		defer dukpt.Wipe(p)
		ctx, cancel := context.WithTimeout(context.Background(), DefaultAnswerTimeout*3)
		defer cancel()
		h, err := c.Pad.CardHash(ctx, p)
		c.mu.Lock()
		if c.done == done {
			c.hash, c.err = h, err
		}
		c.mu.Unlock()
		close(done)
	}()
}

// CardHash is the prepared hash when pan is the card prepared last (and the pad gave
// it), else the pad's answer now.
func (c *CardHashes) CardHash(ctx context.Context, pan []byte) (string, error) {
	c.mu.Lock()
	done, same := c.done, c.id != nil && hmac.Equal(c.id, c.idOf(pan))
	c.mu.Unlock()
	if same {
		select {
		case <-done:
			c.mu.Lock()
			h, err, still := c.hash, c.err, c.done == done
			c.mu.Unlock()
			if err == nil && still && h != "" {
				return h, nil
			}
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return c.Pad.CardHash(ctx, pan)
}
