package emv

import "posfw/drivers/emv/apdu"

// ReadCard reads a contact card's application data without asking it for a cryptogram:
// application selection, GET PROCESSING OPTIONS and the records of the AFL, then the
// card is powered off. It is PBOC's simple flow (JR/T 0025.6 §12, 简易流程) that voids
// and refunds use: they go back to a card already debited, so the card has nothing to
// authorise and the host nothing to verify. The outcome is CardRead with Result.Card
// filled, or Refused / ChipError as for Contact.
func (k *Kernel) ReadCard(card apdu.Card, txn Txn) Result {
	t := k.newTransaction(card, txn, "contact")
	if err := k.check(); err != nil {
		return t.fail(err)
	}
	if _, err := card.PowerOn(); err != nil {
		return t.fail(errChip{err})
	}
	defer card.PowerOff()
	for _, step := range []func() error{
		func() error { return t.selectApplication(false) },
		t.initiate,
		t.readRecords,
		func() error { return t.mandatory(0x5F24, 0x5A) },
	} {
		if err := step(); err != nil {
			return t.fail(err)
		}
	}
	t.res.Outcome = CardRead
	r := t.result()
	t.res.Card = CardData{} // the caller's now: Wipe below leaves it
	t.Wipe()
	return r
}
