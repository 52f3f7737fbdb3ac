package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImport_NDJSONAndTransactionBundleWithUUIDs(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	nd := writeFile(t, dir, "Patient.ndjson",
		`{"resourceType":"Patient","id":"a","name":[{"family":"A"}]}`+"\n\n"+`{"resourceType":"Patient","id":"b"}`+"\n")
	bundle := writeFile(t, dir, "encounter.json", `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:6f7e1b8a-1c2d-4e5f-8a9b-0c1d2e3f4a5b","resource":{"resourceType":"Patient","name":[{"family":"C"}]},"request":{"method":"POST","url":"Patient"}},
	 {"fullUrl":"urn:uuid:7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d","resource":{"resourceType":"Observation","status":"final","code":{"text":"puls"},
	   "subject":{"reference":"urn:uuid:6f7e1b8a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"}},"request":{"method":"POST","url":"Observation"}}]}`)
	var errb bytes.Buffer
	if err := run([]string{"import", "--data", data, "--sandbox", "imp", nd, bundle}, func(string) string { return "" }, io.Discard, &errb); err != nil {
		t.Fatalf("import: %v %s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "imported 4 resources") {
		t.Errorf("report: %s", errb.String())
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, data, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	obs, err := s.Read(ctx, "imp", "Observation", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d")
	if err != nil {
		t.Fatal(err)
	}
	var o struct{ Subject struct{ Reference string } }
	json.Unmarshal(obs.Body, &o)
	if o.Subject.Reference != "Patient/6f7e1b8a-1c2d-4e5f-8a9b-0c1d2e3f4a5b" {
		t.Errorf("reference not rewritten: %s", obs.Body)
	}
	for _, id := range []string{"a", "b", "6f7e1b8a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"} {
		if _, err := s.Read(ctx, "imp", "Patient", id); err != nil {
			t.Errorf("Patient/%s: %v", id, err)
		}
	}
}

func TestImport_InvalidResourceImportsNothing(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	good := writeFile(t, dir, "good.ndjson", `{"resourceType":"Patient","id":"a"}`+"\n")
	bad := writeFile(t, dir, "bad.ndjson", `{"resourceType":"Patient","id":"b","birthDate":"soon"}`+"\n")
	err := run([]string{"import", "--data", data, good, bad}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "bad.ndjson line 1") {
		t.Fatalf("err %v", err)
	}
	s, err := sqlite.Open(context.Background(), data, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p, _ := s.Search(context.Background(), fhirstore.DefaultSandbox, fhirstore.SearchQuery{Type: "Patient"}); p.Total != 0 {
		t.Errorf("%d patients imported from a run with an invalid resource", p.Total)
	}
	notJSON := writeFile(t, dir, "x.ndjson", "{\"resourceType\":\"Patient\"}\nnot json\n")
	if err := run([]string{"import", "--data", data, notJSON}, func(string) string { return "" }, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad NDJSON line: %v", err)
	}
}

// An import larger than a piece streams through in pieces, in one
// transaction: a bad resource near the end of the second file writes
// nothing, and the error names its file and line.
func TestImport_StreamsPiecesAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var a, b strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&a, `{"resourceType":"Patient","id":"a%d"}`+"\n", i)
	}
	for i := range 1500 {
		if i == 1203 {
			b.WriteString("\n") // blank lines are skipped, not counted
			b.WriteString(`{"resourceType":"Patient","id":"bad","gender":"sometimes"}` + "\n")
			continue
		}
		fmt.Fprintf(&b, `{"resourceType":"Patient","id":"b%d"}`+"\n", i)
	}
	fa := writeFile(t, dir, "a.ndjson", a.String())
	fb := writeFile(t, dir, "b.ndjson", b.String())
	err := run([]string{"import", "--data", data, fa, fb}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "b.ndjson line 1205") {
		t.Fatalf("err %v, want it to name b.ndjson line 1205", err)
	}
	count := func() int {
		s, err := sqlite.Open(context.Background(), data, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		p, err := s.Search(context.Background(), fhirstore.DefaultSandbox, fhirstore.SearchQuery{Type: "Patient", Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	if n := count(); n != 0 {
		t.Fatalf("%d patients imported from a run with an invalid resource", n)
	}
	// Without the bad line, all 3,999 land.
	fb = writeFile(t, dir, "b.ndjson", strings.Replace(b.String(), `"id":"bad","gender":"sometimes"`, `"id":"bad"`, 1))
	var errb bytes.Buffer
	if err := run([]string{"import", "--data", data, fa, fb}, func(string) string { return "" }, io.Discard, &errb); err != nil {
		t.Fatalf("import: %v", err)
	}
	if n := count(); n != 4000 {
		t.Errorf("imported %d patients, want 4000", n)
	}
	if !strings.Contains(errb.String(), "imported 4000 resources") {
		t.Errorf("report: %s", errb.String())
	}
}

func TestImport_FilesWithAByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	nd := writeFile(t, dir, "Patient.ndjson", "\ufeff"+`{"resourceType":"Patient","id":"a"}`+"\n"+`{"resourceType":"Patient","id":"b"}`+"\n")
	one := writeFile(t, dir, "c.json", "\ufeff"+`{"resourceType":"Patient","id":"c"}`)
	bundle := writeFile(t, dir, "bundle.json", "\ufeff"+`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"d"}}]}`)
	var errb bytes.Buffer
	if err := run([]string{"import", "--data", data, "--sandbox", "imp", nd, one, bundle}, func(string) string { return "" }, io.Discard, &errb); err != nil {
		t.Fatalf("import: %v %s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "imported 4 resources") {
		t.Errorf("report: %s", errb.String())
	}
}
