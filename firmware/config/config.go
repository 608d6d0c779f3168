// Package config reads the terminal's configuration: who the terminal is (terminal and
// merchant ids), where its acquirer is, its limits and its language. The file is TOML;
// every key is checked at start, and a bad file is refused with the file, the key and
// the reason, before the terminal takes any money.
package config

import (
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the terminal's configuration.
type Config struct {
	// TerminalID is the acquirer's terminal id (ISO 8583 field 41): 8 characters.
	TerminalID string `toml:"terminal_id"`
	// MerchantID is the card acceptor id (field 42): 15 characters.
	MerchantID string `toml:"merchant_id"`
	// MerchantName is printed on receipts.
	MerchantName string `toml:"merchant_name"`
	// Currency is the ISO 4217 alphabetic code; CurrencyCode gives its numeric code.
	Currency string `toml:"currency"`
	// Language of screens and receipts: "zh" or "en".
	Language string `toml:"language"`
	// Board names a built-in board definition or a board TOML file.
	Board string `toml:"board"`
	// TimeZone is the IANA name of the terminal's time zone ("Asia/Shanghai"): the
	// local date and time of slips, screens, fields 12/13 and the refund date are in
	// it. Empty: the currency's zone (Location). Stored instants stay UTC.
	TimeZone string `toml:"timezone"`

	Host   Host   `toml:"host"`
	Modem  Modem  `toml:"modem"`
	Limits Limits `toml:"limits"`
	UI     UI     `toml:"ui"`
	Update Update `toml:"update"`
}

// Update is where the terminal's software lives and how new versions reach it
// (Manage → Technician; `posfw update`).
type Update struct {
	// Root is the install root with the A/B slots (`posfw install --root`).
	Root string `toml:"root"`
	// USB are the mount points searched for bundles on removable media.
	USB []string `toml:"usb"`
	// Listen is the address the terminal receives a pushed bundle on ("Receive update").
	Listen string `toml:"listen"`
	// Keys are ed25519 public keys (64 hex digits each) trusted for update bundles besides
	// the release keys built into the binary: the fleet's next key, given before the
	// current one is retired.
	Keys []string `toml:"keys"`
}

// Host is the acquirer link.
type Host struct {
	// Address is host:port of the acquirer.
	Address string `toml:"address"`
	// Dialect of ISO 8583: "iso87" or "cup".
	Dialect         string   `toml:"dialect"`
	ConnectTimeout  Duration `toml:"connect_timeout"`
	ResponseTimeout Duration `toml:"response_timeout"`
	// TLSCA, when set, is a PEM file with the only CA the host's certificate may chain to.
	TLSCA string `toml:"tls_ca"`
	// MasterKeyFile was the terminal master key in a file. The TMK now lives in the PIN
	// pad (posfw provision tmk): a config that still names a file is refused, so that
	// the technician deletes the clear key rather than leaving it on the disk.
	MasterKeyFile string `toml:"master_key_file"`
	// CUP settings (dialect "cup"): the TPDU (10 hex digits, default 6000030000) and
	// header (12 hex digits, default 603100310000) before every message, the alignment
	// of field 22 ("left", the default, or "right") and the sign-on's 60.3 ("001"
	// single-length keys, "003" the default, "004" with a track data key).
	TPDU    string `toml:"tpdu"`
	Header  string `toml:"header"`
	Field22 string `toml:"field22"`
	SignOn  string `toml:"sign_on"`
	// SettlementTotals is how the acquirer counts CUP field 48: "net" (the default) or
	// "gross" (voided sales stay in debit, voids counted in credit).
	SettlementTotals string `toml:"settlement_totals"`
	// PINKey is the key the PIN pad encrypts PIN blocks under: "session" (the PIN key
	// (PIK) the host sent at sign-on, as UnionPay hosts want; the default of "cup") or
	// "dukpt" (a key of the pad's DUKPT scheme, the KSN sent with it; the default of
	// "iso87").
	PINKey string `toml:"pin_key"`
}

// SessionPIN reports whether PIN blocks are encrypted under the session PIN key (PIK)
// rather than DUKPT.
func (h Host) SessionPIN() bool {
	if h.PINKey != "" {
		return h.PINKey == "session"
	}
	return h.Dialect == "cup"
}

// Modem is the 4G data link.
type Modem struct {
	// APN of the PDP context the modem brings up.
	APN string `toml:"apn"`
	// RecoverAfter is how long the data link may stay down before the first rung of the
	// recovery ladder (re-attach); each later rung waits twice as long as the one before
	// (function reset, reset pulse, power cycle), then the ladder starts over.
	RecoverAfter Duration `toml:"recover_after"`
}

// Limits are the money rules the merchant's contract sets.
type Limits struct {
	// MaxAmount is the largest sale, in minor units.
	MaxAmount int64 `toml:"max_amount"`
	// RefundCeiling is the largest single refund, in minor units.
	RefundCeiling int64 `toml:"refund_ceiling"`
	// DuplicateWindow: a sale on the same card for the same amount within it needs confirming.
	DuplicateWindow Duration `toml:"duplicate_window"`
}

// UI settings.
type UI struct {
	// IdleLock signs the operator off after this long without a key.
	IdleLock Duration `toml:"idle_lock"`
}

// Duration is a time.Duration written as "30s", "2m".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like \"30s\" or \"2m\"", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back as "30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// currencies maps the ISO 4217 codes this firmware prints to their numeric codes
// (ISO 8583 field 49), minor-unit digits and the time zone a terminal taking them is in
// when the configuration names none ("": the currency spans zones, timezone is required).
var currencies = map[string]struct {
	Numeric string
	Digits  int
	Zone    string
}{
	"CNY": {"156", 2, "Asia/Shanghai"},
	"HKD": {"344", 2, "Asia/Hong_Kong"},
	"MOP": {"446", 2, "Asia/Macau"},
	"USD": {"840", 2, ""},
	"EUR": {"978", 2, ""},
	"JPY": {"392", 0, "Asia/Tokyo"},
}

// CurrencyCode is the ISO 4217 numeric code of the configured currency.
func (c *Config) CurrencyCode() string { return currencies[c.Currency].Numeric }

// CurrencyDigits is how many minor-unit digits the configured currency has.
func (c *Config) CurrencyDigits() int { return currencies[c.Currency].Digits }

// Location is the terminal's time zone: the configured timezone, else the currency's
// (CNY: Asia/Shanghai). Parse has checked it loads; a Config built by hand with a bad
// name gets UTC. The binary embeds the zone data (time/tzdata in cmd/posfw), since
// terminal images often have no /usr/share/zoneinfo.
func (c *Config) Location() *time.Location {
	loc, err := c.Zone()
	if err != nil {
		return time.UTC
	}
	return loc
}

// Zone is Location, or why the configured zone (or the currency's) cannot be used.
func (c *Config) Zone() (*time.Location, error) {
	name := c.TimeZone
	if name == "" {
		if name = currencies[c.Currency].Zone; name == "" {
			return nil, fmt.Errorf("must be set for currency %s, which spans time zones (e.g. \"Europe/Berlin\")", c.Currency)
		}
	}
	if name == "Local" {
		// The system's zone is whatever the image happens to hold (often UTC).
		return nil, errors.New(`"Local" is not allowed: name the zone, e.g. "Asia/Shanghai"`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not a time zone name like \"Asia/Shanghai\"", name)
	}
	return loc, nil
}

//go:embed sim.toml
var simTOML []byte

// Sim returns the embedded configuration the simulator runs with.
func Sim() *Config {
	c, err := Parse("sim.toml (embedded)", simTOML)
	if err != nil {
		panic("embedded sim.toml is invalid: " + err.Error()) // a build defect, caught by tests
	}
	return c
}

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b)
}

// Error is a refused configuration: which file, which key, and why.
type Error struct {
	File, Key, Reason string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("config %s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("config %s: %s: %s", e.File, e.Key, e.Reason)
}

// Parse decodes and validates a configuration; name is used in errors.
func Parse(name string, b []byte) (*Config, error) {
	c := defaults()
	md, err := toml.Decode(string(b), c)
	if err != nil {
		return nil, tomlError(name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return nil, &Error{name, keys[0], "unknown key"}
	}
	for _, r := range rules {
		if reason := r.check(c); reason != "" {
			return nil, &Error{name, r.key, reason}
		}
	}
	return c, nil
}

// tomlError turns a decoder error into one line naming the file and position.
func tomlError(name string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: name, Reason: fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)}
	}
	msg := err.Error()
	msg, _, _ = strings.Cut(msg, "\n")
	return &Error{File: name, Reason: msg}
}

func defaults() *Config {
	return &Config{
		Currency: "CNY",
		Language: "zh",
		Board:    "sim",
		Host: Host{
			Dialect:         "iso87",
			ConnectTimeout:  Duration{5 * time.Second},
			ResponseTimeout: Duration{30 * time.Second},
		},
		Limits: Limits{
			MaxAmount:       99_999_999,
			RefundCeiling:   5_000_000,
			DuplicateWindow: Duration{120 * time.Second},
		},
		Modem:  Modem{RecoverAfter: Duration{time.Minute}},
		Update: Update{Root: "/opt/posfw", USB: []string{"/media", "/mnt/usb"}, Listen: ":7411"},
		UI:     UI{IdleLock: Duration{5 * time.Minute}},
	}
}

// rule is one check of the configuration: the key it is about and what is wrong, or "".
type rule struct {
	key   string
	check func(c *Config) string
}

var rules = []rule{
	{"terminal_id", func(c *Config) string { return fixedText(c.TerminalID, 8) }},
	{"merchant_id", func(c *Config) string { return fixedText(c.MerchantID, 15) }},
	{"merchant_name", func(c *Config) string {
		if strings.TrimSpace(c.MerchantName) == "" {
			return "must not be empty (it is printed on every receipt)"
		}
		if len([]rune(c.MerchantName)) > 40 {
			return "longer than 40 characters"
		}
		return ""
	}},
	{"currency", func(c *Config) string {
		if _, ok := currencies[c.Currency]; !ok {
			return fmt.Sprintf("%q is not one of %s", c.Currency, strings.Join(currencyNames(), ", "))
		}
		return ""
	}},
	{"timezone", func(c *Config) string {
		if _, err := c.Zone(); err != nil {
			return err.Error()
		}
		return ""
	}},
	{"language", func(c *Config) string { return oneOf(c.Language, "zh", "en") }},
	{"board", func(c *Config) string {
		if c.Board == "" {
			return "must name a board"
		}
		return ""
	}},
	{"host.address", func(c *Config) string { return CheckAddress(c.Host.Address) }},
	{"host.dialect", func(c *Config) string { return oneOf(c.Host.Dialect, "iso87", "cup") }},
	{"host.connect_timeout", func(c *Config) string { return within(c.Host.ConnectTimeout, time.Second, time.Minute) }},
	{"host.response_timeout", func(c *Config) string { return within(c.Host.ResponseTimeout, time.Second, 2*time.Minute) }},
	{"host.tls_ca", func(c *Config) string {
		if c.Host.TLSCA == "" {
			return ""
		}
		if _, err := os.Stat(c.Host.TLSCA); err != nil {
			return fmt.Sprintf("CA file %s cannot be read", c.Host.TLSCA)
		}
		return ""
	}},
	{"host.master_key_file", func(c *Config) string {
		if c.Host.MasterKeyFile == "" {
			return ""
		}
		return "the terminal master key lives in the PIN pad now (posfw provision tmk): remove this line and delete the file"
	}},
	{"host.tpdu", func(c *Config) string { return hexDigits(c.Host.TPDU, 10) }},
	{"host.header", func(c *Config) string { return hexDigits(c.Host.Header, 12) }},
	{"host.field22", func(c *Config) string {
		if c.Host.Field22 == "" {
			return ""
		}
		return oneOf(c.Host.Field22, "left", "right")
	}},
	{"host.settlement_totals", func(c *Config) string {
		if c.Host.SettlementTotals == "" {
			return ""
		}
		return oneOf(c.Host.SettlementTotals, "net", "gross")
	}},
	{"host.sign_on", func(c *Config) string {
		if c.Host.SignOn == "" {
			return ""
		}
		return oneOf(c.Host.SignOn, "001", "003", "004")
	}},
	{"host.pin_key", func(c *Config) string {
		if c.Host.PINKey == "" {
			return ""
		}
		return oneOf(c.Host.PINKey, "session", "dukpt")
	}},
	{"modem.apn", func(c *Config) string {
		if len(c.Modem.APN) > 63 || strings.ContainsAny(c.Modem.APN, "\" \r\n") {
			return fmt.Sprintf("%q is not an APN (at most 63 characters, no spaces or quotes)", c.Modem.APN)
		}
		return ""
	}},
	{"update.root", func(c *Config) string {
		if !filepath.IsAbs(c.Update.Root) {
			return fmt.Sprintf("%q is not an absolute path", c.Update.Root)
		}
		return ""
	}},
	{"update.keys", func(c *Config) string {
		for _, k := range c.Update.Keys {
			if b, err := hex.DecodeString(k); err != nil || len(b) != 32 {
				return fmt.Sprintf("%q is not an ed25519 public key (64 hex digits)", k)
			}
		}
		return ""
	}},
	{"update.listen", func(c *Config) string {
		if _, _, err := net.SplitHostPort(c.Update.Listen); err != nil {
			return fmt.Sprintf("%q is not host:port or :port", c.Update.Listen)
		}
		return ""
	}},
	{"modem.recover_after", func(c *Config) string { return within(c.Modem.RecoverAfter, time.Second, time.Hour) }},
	{"limits.max_amount", func(c *Config) string { return positiveAmount(c.Limits.MaxAmount) }},
	{"limits.refund_ceiling", func(c *Config) string { return positiveAmount(c.Limits.RefundCeiling) }},
	{"limits.duplicate_window", func(c *Config) string { return within(c.Limits.DuplicateWindow, 0, 24*time.Hour) }},
	{"ui.idle_lock", func(c *Config) string { return within(c.UI.IdleLock, 10*time.Second, 24*time.Hour) }},
}

// hexDigits checks an optional value of exactly n hex digits.
func hexDigits(s string, n int) string {
	if s == "" {
		return ""
	}
	if _, err := hex.DecodeString(s); err != nil || len(s) != n {
		return fmt.Sprintf("%q must be %d hex digits", s, n)
	}
	return ""
}

func fixedText(s string, n int) string {
	if len(s) != n {
		return fmt.Sprintf("%q must be exactly %d characters", s, n)
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return fmt.Sprintf("%q must be printable ASCII", s)
		}
	}
	return ""
}

func oneOf(v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return ""
		}
	}
	return fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

func within(d Duration, lo, hi time.Duration) string {
	if d.Duration < lo || d.Duration > hi {
		return fmt.Sprintf("%v is outside %v to %v", d.Duration, lo, hi)
	}
	return ""
}

// positiveAmount bounds an amount by what ISO 8583 field 4 (n12) can carry.
func positiveAmount(v int64) string {
	if v <= 0 || v > 999_999_999_999 {
		return fmt.Sprintf("%d must be between 1 and 999999999999 minor units", v)
	}
	return ""
}

func currencyNames() []string {
	var ns []string
	for k := range currencies {
		ns = append(ns, k)
	}
	sort.Strings(ns)
	return ns
}

// MasterKey reads a key file of 32 hex digits (a double-length TDES key, for
// provisioning: a TMK encrypted under the PIN pad's transport key), surrounding white
// space ignored. A file that is not a regular file or that its group
// or others may read or write is refused (see CheckKeyFile).
func MasterKey(path string) ([]byte, error) {
	if err := CheckKeyFile("master key file", path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key file %s cannot be read", path)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 16 {
		return nil, fmt.Errorf("master key file %s does not hold 32 hex digits", path)
	}
	return k, nil
}
