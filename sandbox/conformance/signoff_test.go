package conformance

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

func TestCanonicalJSON_SortedCompactWithoutMetaAndText(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"sorted, compact", `{ "resourceType": "TestReport", "status":"completed",  "id" : "r" }`,
			`{"id":"r","resourceType":"TestReport","status":"completed"}`},
		{"nested objects sorted, arrays kept in order", `{"resourceType":"X","b":[{"z":1,"a":2},{"y":true}],"a":{"d":null,"c":"<&>"}}`,
			`{"a":{"c":"<&>","d":null},"b":[{"a":2,"z":1},{"y":true}],"resourceType":"X"}`},
		{"meta and text left out", `{"resourceType":"X","meta":{"versionId":"3"},"text":{"status":"generated"},"id":"1"}`,
			`{"id":"1","resourceType":"X"}`},
		{"numbers as written", `{"resourceType":"X","score":66.70,"n":1e2}`, `{"n":1e2,"resourceType":"X","score":66.70}`},
		{"non-ASCII kept", `{"resourceType":"X","name":"Blåbær"}`, `{"name":"Blåbær","resourceType":"X"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalJSON([]byte(tt.in))
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"id":"no type"}`, `{"resourceType":"X"} {}`, `{"resourceType":1}`, `{"resourceType":"X",}`} {
		if _, err := CanonicalJSON([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"resourceType":"TestReport","id":"x","meta":{"versionId":"1"}}`, `{"a":[1,{"b":2}]}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := CanonicalJSON(b)
		if err != nil {
			return
		}
		again, err := CanonicalJSON(c)
		if err != nil || string(again) != string(c) {
			t.Fatalf("not idempotent: %s → %s (%v)", c, again, err)
		}
	})
}

func TestContentHash_SameBeforeAndAfterTheStoreStampsMeta(t *testing.T) {
	ctx := context.Background()
	run := sloppyRun(t)
	report, err := run.TestReport()
	if err != nil {
		t.Fatal(err)
	}
	store := newStore(t)
	if err := (StoreReports{Store: store}).Save(ctx, fxSandbox, run.ID, report); err != nil {
		t.Fatal(err)
	}
	stored, err := (StoreReports{Store: store}).Get(ctx, fxSandbox, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, before, err := ContentHash(report)
	if err != nil {
		t.Fatal(err)
	}
	_, after, err := ContentHash(stored)
	if err != nil || before != after || len(before) != 64 {
		t.Fatalf("hash %s before storing, %s after (%v)", before, after, err)
	}
	changed := append([]byte(nil), stored...)
	changed[len(changed)-3] ^= 1
	if _, other, err := ContentHash(changed); err == nil && other == before {
		t.Fatal("a changed report has the same hash")
	}
}

func newStore(t *testing.T) fhirstore.Store {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func outcomeOf(run *Run, id string, st Status, sev Severity) {
	for i := range run.Outcomes {
		if run.Outcomes[i].Check.ID == id {
			run.Outcomes[i].Result.Status = st
			run.Outcomes[i].Check.Severity = sev
		}
	}
}

func TestDiff_NamesNewFailuresFixesAndTheUnchanged(t *testing.T) {
	before, after := sloppyRun(t), sloppyRun(t)
	outcomeOf(before, "smart.pkce-s256", Fail, SeverityError)
	outcomeOf(after, "smart.pkce-s256", Pass, SeverityError)
	outcomeOf(before, "smart.state-entropy", Pass, SeverityError)
	outcomeOf(after, "smart.state-entropy", Fail, SeverityError)
	outcomeOf(before, "fhir.count-valid", Pass, SeverityWarning)
	outcomeOf(after, "fhir.count-valid", Fail, SeverityWarning)
	outcomeOf(before, "fhir.safe-retries", Pass, SeverityError)
	outcomeOf(after, "fhir.safe-retries", Skip, SeverityError)
	after.Outcomes = append(after.Outcomes, Outcome{Check: Check{ID: "x.new"}, Result: Result{Status: Pass}})
	before.Outcomes = append(before.Outcomes, Outcome{Check: Check{ID: "x.old", Severity: SeverityError}, Result: Result{Status: Fail}})
	diff := Diff(before, after)
	want := map[string]struct {
		before, after string
		change        Change
	}{
		"smart.pkce-s256":       {"fail", "pass", Fixed},
		"smart.state-entropy":   {"pass", "fail", NewFailure},
		"fhir.count-valid":      {"pass", "warning", NewFailure},
		"fhir.safe-retries":     {"pass", "skip", Changed},
		"x.new":                 {"", "pass", Added},
		"x.old":                 {"fail", "", Removed},
		"oauth.no-token-in-url": {"fail", "fail", Unchanged},
	}
	got := map[string]CheckDiff{}
	for _, d := range diff {
		got[d.Check.ID] = d
	}
	for id, w := range want {
		d := got[id]
		if d.Before != w.before || d.After != w.after || d.Change != w.change {
			t.Errorf("%s: %s → %s %s, want %s → %s %s", id, d.Before, d.After, d.Change, w.before, w.after, w.change)
		}
	}
	if len(diff) != len(after.Outcomes)+1 || diff[len(diff)-1].Check.ID != "x.old" {
		t.Errorf("%d checks in the diff, last %s", len(diff), diff[len(diff)-1].Check.ID)
	}
	if n := DiffCounts(diff)[Unchanged]; n != len(after.Outcomes)-5 {
		t.Errorf("%d unchanged", n)
	}
}

func TestSealedStore_RefusesWritesToASealedReportOnly(t *testing.T) {
	ctx := context.Background()
	raw := newStore(t)
	sb := fhirstore.Sandbox(fxSandbox)
	sealed := SealedStore{Store: raw, Sealed: func(_ context.Context, sandbox, id string) (bool, error) {
		return sandbox == fxSandbox && id == "run-1", nil
	}}
	report, _ := sloppyRun(t).TestReport()
	for _, id := range []string{"run-1", "run-2"} {
		r, err := fhirjson.Parse(report)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sealed.Create(ctx, sb, r, id); err != nil {
			t.Fatal(err)
		}
	}
	update := func(w interface {
		Update(context.Context, fhirstore.Sandbox, *fhirjson.Resource, fhirstore.UpdateOptions) (*fhirstore.Resource, bool, error)
	}, id string) error {
		r, _ := fhirjson.Parse(report)
		r.ID = id
		_, _, err := w.Update(ctx, sb, r, fhirstore.UpdateOptions{})
		return err
	}
	refused := func(what string, err error) {
		t.Helper()
		var oe *outcome.Error
		if !errors.Is(err, ErrSealed) || !errors.As(err, &oe) || interaction.Status(oe) != http.StatusConflict {
			t.Errorf("%s: %v, want a 409 outcome wrapping ErrSealed", what, err)
		}
	}
	refused("update", update(sealed, "run-1"))
	_, err := sealed.Delete(ctx, sb, "TestReport", "run-1")
	refused("delete", err)
	refused("meta", sealed.ReplaceMeta(ctx, sb, "TestReport", "run-1", 1, report))
	err = sealed.Tx(ctx, func(tx fhirstore.Tx) error {
		if err := update(tx, "run-2"); err != nil {
			return err
		}
		_, err := tx.Delete(ctx, sb, "TestReport", "run-1")
		return err
	})
	refused("delete in a transaction", err)
	if got, _ := raw.Read(ctx, sb, "TestReport", "run-2"); got.Version != 1 {
		t.Error("the refused transaction's other write landed")
	}
	if err := update(sealed, "run-2"); err != nil {
		t.Errorf("an unsealed report: %v", err)
	}
	if _, err := sealed.Delete(ctx, "other-sandbox", "TestReport", "run-1"); err != nil {
		t.Errorf("the same id in another sandbox: %v", err)
	}
	if got, err := raw.Read(ctx, sb, "TestReport", "run-1"); err != nil || got.Version != 1 {
		t.Fatalf("the sealed report changed: %+v %v", got, err)
	}
}

// BenchmarkContentHash is what approving adds to reading a report: its
// canonical JSON and SHA-256 (a patient-app report of 15 checks).
func BenchmarkContentHash(b *testing.B) {
	report, err := sloppyRun(b).TestReport()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(report)))
	for b.Loop() {
		if _, _, err := ContentHash(report); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiff compares two runs of a patient-app profile.
func BenchmarkDiff(b *testing.B) {
	before, after := sloppyRun(b), sloppyRun(b)
	outcomeOf(after, "smart.pkce-s256", Pass, SeverityError)
	for b.Loop() {
		Diff(before, after)
	}
}
