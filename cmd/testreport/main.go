// Command testreport reads `go test -json` on standard input and prints
// what `go test` prints without -v — a line per package, and the output of
// what failed — and then every skipped test with its reason, so that a
// test that cannot run here (no Redis, no browser) is never silent.
// It exits 1 when anything failed, or when the input ends without a result
// for a package it started.
//
//	go test -race -json ./... 2>&1 | go run ./cmd/testreport
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// event is one line of test2json output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

// skip is a skipped test and why.
type skip struct {
	pkg, test, reason string
}

// report reads events from r, writes the summary to w, and reports whether
// everything passed.
func report(r io.Reader, w io.Writer) (bool, error) {
	type key struct{ pkg, test string }
	output := map[key][]string{}
	var skips []skip
	started := map[string]bool{}
	ok := true
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event: a build error printed by go test itself.
			fmt.Fprintln(w, string(line))
			if len(line) > 0 {
				ok = false
			}
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "start":
			started[e.Package] = true
		case "output":
			output[k] = append(output[k], e.Output)
		case "skip":
			if e.Test != "" {
				skips = append(skips, skip{e.Package, e.Test, reason(output[k])})
			} else {
				fmt.Fprintf(w, "?   \t%s\t[no test files]\n", e.Package)
				delete(started, e.Package)
			}
			delete(output, k)
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
				delete(started, e.Package)
			}
			delete(output, k)
		case "fail":
			ok = false
			out := framed(output[k])
			fmt.Fprint(w, out)
			if e.Test == "" {
				// The package's own output (panics, build failures,
				// TestMain) ends in its FAIL line, or gets one.
				if !strings.Contains(out, "FAIL\t"+e.Package) {
					fmt.Fprintf(w, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
				}
				delete(started, e.Package)
			}
			delete(output, k)
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	for _, pkg := range slices.Sorted(func(yield func(string) bool) {
		for p := range started {
			if !yield(p) {
				return
			}
		}
	}) {
		ok = false
		fmt.Fprintf(w, "FAIL\t%s\t(no result: the test binary ended early)\n", pkg)
	}
	if len(skips) > 0 {
		fmt.Fprintf(w, "\n%d skipped:\n", len(skips))
		for _, s := range skips {
			fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
		}
	}
	return ok, nil
}

// framed is a failed test's output as go test prints it without -v: no
// === RUN, PAUSE or CONT lines.
func framed(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		if !strings.HasPrefix(l, "=== ") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// reason is the message a skipped test logged: its output without the
// === and --- framing lines, trimmed to one line.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

func main() {
	ok, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}
