package vkp_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"hpsandbox/connectors"
	"hpsandbox/connectors/vkp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", name, got)
	}
}

// TestCodeSystems_Golden: the codes the hub takes, per code system of the
// guide, as converted from the guide.
func TestCodeSystems_Golden(t *testing.T) {
	cs := vkp.CodeSystems()
	var systems []string
	for s := range cs {
		systems = append(systems, s)
	}
	slices.Sort(systems)
	var b bytes.Buffer
	for _, s := range systems {
		fmt.Fprintf(&b, "%s\n  %s\n", s, strings.Join(cs[s], " "))
	}
	golden(t, "codesystems.golden", b.Bytes())
}

// TestChecks_Golden: every check's verdict on each valid submission and on
// each refused one, with the first issue.
func TestChecks_Golden(t *testing.T) {
	h := newHub(t, vkp.Options{})
	c, _ := h.set.Get(vkp.ID)
	checks := c.(connectors.CheckConnector).Checks()
	path := "/connectors/vkp" + vkp.Base + "/" + h.muni.OrgNumber + "/Bundle"
	var b bytes.Buffer
	judge := func(name string, body []byte, status int) {
		x := &connectors.Exchange{Connector: vkp.ID, Kind: "POST", Path: path, Status: status, Request: body}
		fmt.Fprintf(&b, "%s (status %d)\n", name, status)
		for _, ch := range checks {
			r := ch.Judge(x)
			line := fmt.Sprintf("  %-28s %s", ch.ID, r.Verdict)
			if len(r.Issues) > 0 {
				line += fmt.Sprintf(": %s %v", r.Issues[0].Diagnostics, r.Issues[0].Expression)
			}
			b.WriteString(line + "\n")
		}
	}
	subs := validSubmissions(t)
	for _, name := range []string{"alarm", "supervision", "dispense", "measurements"} {
		judge(name, subs[name], 200)
	}
	for _, r := range refusals(t) {
		judge(r.name, r.body, r.status)
	}
	judge("no zone", replace(subs["alarm"], `"2026-03-01T02:14:05+01:00"`, `"2026-03-01T02:14:05"`), 422)
	judge("no own identifier", edit(t, subs["alarm"], func(m map[string]any) { delete(resource(m, 1), "identifier") }), 200)
	judge("throttled", subs["alarm"], 429)
	judge("not JSON", []byte("nope"), 400)
	golden(t, "checks.golden", b.Bytes())
	for _, ch := range checks {
		if !strings.HasPrefix(ch.ID, vkp.ID+"-") || ch.Description == "" {
			t.Errorf("check %q: want the id prefixed vkp- and a description", ch.ID)
		}
	}
	_ = json.Valid
}
