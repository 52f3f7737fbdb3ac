package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestDevicesSimulate_PCD01ReachesTheSandboxAndIsSearchable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mllpAddr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	env := map[string]string{"HPS_DATA": t.TempDir(), "HPS_SEED_PATIENTS": "1"}
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--connectors", "mtu", "--connector-listen", "mtu=" + mllpAddr + "@default"},
			func(k string) string { return env[k] }, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	// A seeded patient's national identity number.
	var bundle struct {
		Entry []struct {
			Resource struct {
				ID         string `json:"id"`
				Identifier []struct {
					System, Value string
				} `json:"identifier"`
			} `json:"resource"`
		} `json:"entry"`
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/fhir/" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	get("Patient?identifier="+url.QueryEscape("urn:oid:2.16.578.1.12.4.1.4.1|")+"&_count=50", &bundle)
	var fnr, id string
	for _, e := range bundle.Entry {
		for _, i := range e.Resource.Identifier {
			if i.System == "urn:oid:2.16.578.1.12.4.1.4.1" && fnr == "" {
				fnr, id = i.Value, e.Resource.ID
			}
		}
	}
	if fnr == "" {
		t.Fatalf("no seeded patient with a national identity number: %+v", bundle)
	}
	var out, errOut bytes.Buffer
	err = run([]string{"devices", "simulate", "--addr", mllpAddr, "--patient", fnr, "--device", "bp", "--rate", "20", "--duration", "500ms", "--artefacts", "0"},
		nil, &out, &errOut)
	if err != nil {
		t.Fatalf("simulate: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), " 0 AE, 0 AR") {
		t.Fatalf("output:\n%s", out.String())
	}
	var found struct {
		Total int `json:"total"`
	}
	get("Observation?subject=Patient/"+id+"&code=http://loinc.org|85354-9&_total=accurate", &found)
	if found.Total == 0 {
		t.Errorf("no blood-pressure panel on the patient after the simulation:\n%s", out.String())
	}
	// An unknown patient: the sandbox answers AE and the command fails.
	out.Reset()
	err = run([]string{"devices", "simulate", "--addr", mllpAddr, "--patient", "01010100000", "--device", "scale", "--duration", "10ms"}, nil, &out, &errOut)
	if err == nil || !strings.Contains(out.String(), "AE") {
		t.Errorf("an unknown patient: %v\n%s", err, out.String())
	}
	for _, bad := range [][]string{
		{"devices"},
		{"devices", "simulate", "--patient", fnr, "--device", "toaster"},
		{"devices", "simulate", "--patient", fnr, "--as", "hl7fhir"},
		{"devices", "simulate", "--device", "bp"},
		{"devices", "simulate", "--patient", fnr, "--rate", "0"},
	} {
		if err := run(bad, nil, &out, &errOut); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
