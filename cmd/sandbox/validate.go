package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"hpsandbox/fhirstore/profile"
)

// errInvalid reports that a validated file has errors; the command exits 1.
var errInvalid = errors.New("validation found errors")

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// validateCmd is `sandbox validate [--profile URL] [--ig DIR] FILE…`: each
// file (a resource, or a Bundle) is checked against its type, the profiles
// it declares and those given, with the conformance resources of the IG
// folders; the outcome is printed, and the exit status is 1 when any file
// has errors, so suppliers can run it in CI without a server.
func validateCmd(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("validate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var profiles, igs stringList
	fl.Var(&profiles, "profile", "canonical URL of a profile the resources must conform to (repeatable)")
	fl.Var(&igs, "ig", "folder of conformance resources (StructureDefinition, ValueSet, CodeSystem; JSON or XML) to load (repeatable)")
	asJSON := fl.Bool("json", false, "print each outcome as an OperationOutcome")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() == 0 {
		return fmt.Errorf("usage: sandbox validate [--profile URL] [--ig DIR] [--json] FILE…")
	}
	defs := profile.New()
	for _, dir := range igs {
		if err := loadIG(defs, dir); err != nil {
			return err
		}
	}
	invalid := false
	for _, name := range fl.Args() {
		raw, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		issues := defs.Validate(raw, profile.Options{Profiles: profiles})
		if profile.HasErrors(issues) {
			invalid = true
		}
		if err := printOutcome(stdout, name, issues, *asJSON); err != nil {
			return err
		}
	}
	if invalid {
		return errInvalid
	}
	return nil
}

// loadIG adds every conformance resource under dir, JSON or XML; other
// resources (examples) are ignored by the definitions.
func loadIG(defs *profile.Definitions, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") && !strings.HasSuffix(path, ".xml") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".xml") {
			if raw, err = defs.FromXML(raw); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		if err := defs.Add(raw); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
}

func printOutcome(w io.Writer, name string, issues []profile.Issue, asJSON bool) error {
	if asJSON {
		oo := map[string]any{"resourceType": "OperationOutcome", "issue": outcomeIssues(issues)}
		b, err := json.MarshalIndent(oo, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	counts := map[string]int{}
	for _, is := range issues {
		counts[string(is.Severity)]++
	}
	fmt.Fprintf(w, "%s: %d errors, %d warnings, %d notes\n", name, counts["error"]+counts["fatal"], counts["warning"], counts["information"])
	for _, is := range issues {
		fmt.Fprintf(w, "  %-11s %s [%s] %s\n", is.Severity, strings.Join(is.Expression, ", "), is.Rule, is.Diagnostics)
	}
	return nil
}

func outcomeIssues(issues []profile.Issue) []any {
	out := make([]any, 0, len(issues))
	for _, is := range issues {
		out = append(out, is.Issue)
	}
	if len(out) == 0 {
		out = append(out, map[string]string{"severity": "information", "code": "informational", "diagnostics": "No issues"})
	}
	return out
}
