package journal

import (
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"posfw/drivers/emv/emvcrypto"
	"posfw/firmware/emv"
	"posfw/firmware/emvparam"
)

func testEMVSet() emvparam.Set {
	d := emv.DefaultParams().AIDs[0]
	var s emvparam.Set
	for _, last := range []byte{1, 2} {
		s.AIDs = append(s.AIDs, emvparam.AID{AID: append(bytes.Clone(emv.TestAID), last), Partial: true, Version: d.Version,
			TACDefault: d.TACDefault, TACOnline: d.TACOnline, TACDenial: d.TACDenial, DDOL: d.DefaultDDOL, OnlinePIN: true,
			CLFloorLimit: 50000, CLTransactionLimit: 100000, CLCVMLimit: 30000})
	}
	s.CAPKs = []emvparam.CAPK{emvparam.NewCAPK(emvcrypto.TestRID, emvcrypto.TestCAPKIndex, "20351231", emvcrypto.TestCAPK())}
	return s
}

// TestEMVParamsFromSchema9: a journal of schema 9 opens at this schema with no EMV
// parameters; a download is stored as version 1, in force and in the chain; the same
// download again stores nothing new but is in the chain; a changed one is version 2;
// the set in force survives a reopen, the chain verifies, and a key changed in its row
// afterwards is refused, never used.
func TestEMVParamsFromSchema9(t *testing.T) {
	ctx := context.Background()
	v9 := fstest.MapFS{}
	ms, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ms[:9] {
		b, _ := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		v9["migrations/"+e.Name()] = &fstest.MapFile{Data: b}
	}
	p := filepath.Join(t.TempDir(), "journal.db")
	old, err := open(p, v9, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if old.hasTable("emv_param_sets") {
		t.Fatal("schema 9 has the EMV parameter tables; the test needs the old schema")
	}
	old.Close()

	j, err := Open(p)
	if err != nil {
		t.Fatalf("Open migrates from schema 9: %v", err)
	}
	if v, _ := j.Version(); v < 10 {
		t.Errorf("schema %d; want 10 or later", v)
	}
	if _, _, ok, err := j.EMVParams(ctx); ok || err != nil {
		t.Fatalf("EMVParams of a new journal = %v, %v; want none", ok, err)
	}
	events := func(kind string) int {
		var n int
		j.queryRow(ctx, "SELECT count(*) FROM events WHERE kind = ?", kind).Scan(&n)
		return n
	}
	set := testEMVSet()
	for _, tc := range []struct {
		name        string
		set         emvparam.Set
		wantVersion int64
		wantChanged bool
	}{
		{"first", set, 1, true},
		{"same again", set, 1, false},
		{"one AID fewer", emvparam.Set{AIDs: set.AIDs[:1], CAPKs: set.CAPKs}, 2, true},
	} {
		v, changed, err := j.StoreEMVParams(ctx, tc.set, "99")
		if err != nil || v != tc.wantVersion || changed != tc.wantChanged {
			t.Errorf("%s: StoreEMVParams = %d, %v, %v; want %d, %v", tc.name, v, changed, err, tc.wantVersion, tc.wantChanged)
		}
	}
	if n, m := events(evEMVParams), events(evEMVParamsUnchanged); n != 2 || m != 1 {
		t.Errorf("events: %d %s, %d %s; want 2 and 1", n, evEMVParams, m, evEMVParamsUnchanged)
	}
	bad := testEMVSet()
	bad.CAPKs[0].Checksum[0] ^= 1
	if _, _, err := j.StoreEMVParams(ctx, bad, "99"); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("StoreEMVParams(bad checksum) = %v; want refused", err)
	}
	j.Close()

	j, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	got, info, ok, err := j.EMVParams(ctx)
	if err != nil || !ok {
		t.Fatalf("EMVParams after reopen = %v, %v", ok, err)
	}
	if got.Version != 2 || info.Operator != "99" || len(got.AIDs) != 1 || !reflect.DeepEqual(got.CAPKs, set.CAPKs) || info.Digest != got.Digest() {
		t.Errorf("in force: version %d by %q, %d AIDs, keys equal %v; want version 2 by 99, 1 AID, the key",
			got.Version, info.Operator, len(got.AIDs), reflect.DeepEqual(got.CAPKs, set.CAPKs))
	}
	if rep, err := j.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("Verify = %+v, %v; want clean", rep, err)
	}
	// A key changed in its row (one hex digit of the modulus) is not used, and the
	// journal does not verify.
	if _, err := j.db.Exec("UPDATE emv_param_entries SET tlv = substr(tlv, 1, 80) || CASE substr(tlv, 81, 1) WHEN '0' THEN '1' ELSE '0' END || substr(tlv, 82) WHERE kind = 'capk' AND version = 2"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := j.EMVParams(ctx); ok || err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("EMVParams after a key row changed = %v, %v; want refused for its checksum", ok, err)
	}
	if rep, err := j.Verify(ctx); err != nil || !strings.Contains(rep.Problem, "EMV parameters version 2") {
		t.Errorf("Verify after a key row changed = %+v, %v; want EMV parameters version 2 named", rep, err)
	}
	// Version 2 deleted outright: version 1 would be in force again, unnoticed by its
	// own rows; the chain still holds version 2's event.
	for _, q := range []string{"DELETE FROM emv_param_entries WHERE version = 2", "DELETE FROM emv_param_sets WHERE version = 2"} {
		if _, err := j.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := j.Verify(ctx); err != nil || !strings.Contains(rep.Problem, "version 2 of the journal's events are missing") {
		t.Errorf("Verify after version 2 was deleted = %+v, %v; want it named missing", rep, err)
	}
}
