package journal

import (
	"context"
	"database/sql"
	"errors"
)

// Settings are terminal parameters changed on the terminal (Manage → Parameters); they
// override the configuration file and their changes are in the audit chain.

// Setting returns a stored parameter, and false when it was never set.
func (j *Journal) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := j.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", "setting."+key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// SetSetting stores a parameter and audits who changed it from what to what.
func (j *Journal) SetSetting(ctx context.Context, key, value, operator string) error {
	return j.tx(ctx, func(t *wtx) error {
		var old string
		t.QueryRow("SELECT value FROM meta WHERE key = ?", "setting."+key).Scan(&old)
		if _, err := t.Exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			"setting."+key, value); err != nil {
			return err
		}
		return t.appendEvent(j.now(), "audit.setting", 0, operator, map[string]string{"key": key, "from": old, "to": value})
	})
}
