package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The inputs are recorded `go test -json ./... 2>&1` of a module with a
// passing, a failing and a skipping package (and, in buildfail.json, one
// that does not compile).
func TestReport_PrintsFailuresAndEverySkipWithItsReason(t *testing.T) {
	for _, name := range []string{"mixed", "buildfail"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.Open(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var out bytes.Buffer
			ok, err := report(in, &out)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				t.Error("a run with a failure reported success")
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
			}
		})
	}
}

func TestReport_PassingRunSucceedsAndSaysWhatSkipped(t *testing.T) {
	in := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestRedis"}
{"Action":"output","Package":"p","Test":"TestRedis","Output":"=== RUN   TestRedis\n"}
{"Action":"output","Package":"p","Test":"TestRedis","Output":"    redis_test.go:9: redis-server not found\n"}
{"Action":"output","Package":"p","Test":"TestRedis","Output":"--- SKIP: TestRedis (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestRedis"}
{"Action":"pass","Package":"p","Elapsed":0.5}
`
	var out bytes.Buffer
	ok, err := report(strings.NewReader(in), &out)
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	want := "ok  \tp\t0.500s\n\n1 skipped:\n  p TestRedis: redis_test.go:9: redis-server not found\n"
	if out.String() != want {
		t.Errorf("report %q, want %q", out.String(), want)
	}
}

func TestReport_PackageWithoutResultFails(t *testing.T) {
	in := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestX"}
`
	var out bytes.Buffer
	ok, err := report(strings.NewReader(in), &out)
	if err != nil || ok || !strings.Contains(out.String(), "FAIL\tp") {
		t.Errorf("ok=%v err=%v out=%q, want a failure for p", ok, err, out.String())
	}
}
