package cardsim

import (
	"bytes"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

//go:embed profiles/*.json
var profileFS embed.FS

// Profile is a test card's personalisation: one JSON file per card under profiles/.
// Keys are not in it: the card's ICC master keys derive from its issuer's test master
// keys (emvcrypto.TestIssuer), and its RSA keys from seeds naming the issuer and card.
type Profile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Interface   string `json:"interface"` // "contact" or "contactless"

	PAN         string `json:"pan"`
	PSN         string `json:"psn"`       // two digits
	Expiry      string `json:"expiry"`    // YYMMDD
	Effective   string `json:"effective"` // YYMMDD
	ServiceCode string `json:"service_code"`
	Cardholder  string `json:"cardholder"`

	AID           string `json:"aid"` // hex
	Label         string `json:"label"`
	PreferredName string `json:"preferred_name"`
	Priority      int    `json:"priority"`

	Issuer   string `json:"issuer"`   // test issuer: names its master keys and RSA key
	Country  string `json:"country"`  // issuer country, 4 digits (n 3 in two bytes)
	Currency string `json:"currency"` // application currency, 4 digits

	ODA string   `json:"oda"` // "sda", "dda", "cda", "fdda" (contactless) or "none"
	CVM []string `json:"cvm"` // in order: "online-pin", "signature", "no-cvm"
	PIN string   `json:"pin"` // the PIN the host simulator accepts for online PIN

	FirstAC        string `json:"first_ac"` // contact: the first GENERATE AC goes "online", "offline" or "decline"s; contactless: "decline" or else by the offline limit
	RefuseSecondAC bool   `json:"refuse_second_ac"`
	GenACFormat1   bool   `json:"gen_ac_format1"`
	OfflineLimit   int64  `json:"offline_limit"` // contactless: offline (TC, fDDA) up to this amount in minor units
	Blocked        bool   `json:"blocked"`
	Unreadable     bool   `json:"unreadable"` // the chip does not answer reset
	T0             bool   `json:"t0"`         // answer as a T=0 card: 61xx for case 4, 6Cxx for a wrong Le
	ATC            uint16 `json:"atc"`        // the counter's value before the first transaction
}

// ParseProfile reads and checks a profile.
func ParseProfile(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("card profile: %w", err)
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("card profile %q: %w", p.Name, err)
	}
	return &p, nil
}

func isDigits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (p *Profile) check() error {
	switch {
	case p.Name == "":
		return fmt.Errorf("no name")
	case p.Interface != "contact" && p.Interface != "contactless":
		return fmt.Errorf("interface %q; want contact or contactless", p.Interface)
	case !isDigits(p.PAN, 12, 19):
		return fmt.Errorf("PAN must be 12 to 19 digits")
	case !isDigits(p.PSN, 2, 2):
		return fmt.Errorf("PAN sequence number must be 2 digits")
	case !isDigits(p.Expiry, 6, 6) || !isDigits(p.Effective, 6, 6):
		return fmt.Errorf("expiry and effective dates must be YYMMDD")
	case !isDigits(p.ServiceCode, 3, 3):
		return fmt.Errorf("service code must be 3 digits")
	case !isDigits(p.Country, 4, 4) || !isDigits(p.Currency, 4, 4):
		return fmt.Errorf("country and currency must be 4 digits")
	case p.Issuer == "":
		return fmt.Errorf("no issuer")
	case len(p.Label) == 0 || len(p.Label) > 16 || len(p.PreferredName) > 16 || len(p.Cardholder) > 26:
		return fmt.Errorf("label, preferred name or cardholder name too long")
	case p.Priority < 0 || p.Priority > 15:
		return fmt.Errorf("priority %d; want 0 to 15", p.Priority)
	case !slices.Contains([]string{"online", "offline", "decline"}, p.FirstAC):
		return fmt.Errorf("first_ac %q; want online, offline or decline", p.FirstAC)
	case p.OfflineLimit < 0 || p.OfflineLimit > 999999999999:
		return fmt.Errorf("offline limit out of range")
	}
	aid, err := hex.DecodeString(p.AID)
	if err != nil || len(aid) < 5 || len(aid) > 16 {
		return fmt.Errorf("AID must be 5 to 16 bytes of hex")
	}
	oda := []string{"sda", "dda", "cda", "none"}
	if p.Interface == "contactless" {
		oda = []string{"fdda", "none"}
	}
	if !slices.Contains(oda, p.ODA) {
		return fmt.Errorf("oda %q; want one of %s for a %s card", p.ODA, strings.Join(oda, ", "), p.Interface)
	}
	if len(p.CVM) == 0 || len(p.CVM) > 8 {
		return fmt.Errorf("cvm list must have 1 to 8 entries")
	}
	for _, c := range p.CVM {
		if _, ok := cvmCodes[c]; !ok {
			return fmt.Errorf("cvm %q; want online-pin, signature or no-cvm", c)
		}
	}
	return nil
}

// cvmCodes are the CVM codes (Book 3 Annex C3) with "apply succeeding rule if this
// fails" set on all but no CVM.
var cvmCodes = map[string]byte{"online-pin": 0x42, "signature": 0x5E, "no-cvm": 0x1F}

// Names lists the embedded test cards.
func Names() []string {
	ents, _ := profileFS.ReadDir("profiles")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	slices.Sort(names)
	return names
}

// Lookup returns the embedded profile of a test card by name.
func Lookup(name string) (*Profile, error) {
	data, err := profileFS.ReadFile(path.Join("profiles", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("no test chip card named %q", name)
	}
	p, err := ParseProfile(data)
	if err != nil {
		return nil, err
	}
	if p.Name != name {
		return nil, fmt.Errorf("card profile %s.json names itself %q", name, p.Name)
	}
	return p, nil
}
