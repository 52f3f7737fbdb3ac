package devicesim_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors/mtu/devicesim"
	"hpsandbox/sandbox/phd"
)

// Every personal health device's upload keeps every rule of the PHD
// gateway judge: transaction, the PHD profiles, the device's EUI-64,
// references, times with a zone, derivedFrom inside the upload, and
// conditional creates on identifiers.
func TestNextPHD_KeepsEveryPHDRule(t *testing.T) {
	defs, err := phd.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.FixedZone("CET", 3600))
	for _, k := range devicesim.PHDKinds {
		t.Run(string(k), func(t *testing.T) {
			d, err := devicesim.New(devicesim.Config{Kind: k, Patient: patient, Seed: 3, ArtefactRate: -1})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				b, err := d.NextPHD(start.Add(time.Duration(i) * time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				if !phd.IsUpload(b) {
					t.Fatal("not taken for a PHD upload")
				}
				for _, v := range phd.Judge(defs, b) {
					if v.Applies && !v.Pass() {
						t.Errorf("reading %d: %s: %+v", i, v.Rule, v.Issues)
					}
				}
				if i == 0 {
					checkContent(t, k, b)
				}
			}
		})
	}
}

// checkContent checks what the IG asks beyond the judge's rules: the
// codes (MDC first, LOINC for a vital sign), the zone of the time, and
// the BMI derived from the weight and height.
func checkContent(t *testing.T, k devicesim.Kind, b []byte) {
	t.Helper()
	var bundle struct {
		Entry []struct {
			FullURL  string `json:"fullUrl"`
			Resource struct {
				ResourceType string `json:"resourceType"`
				Meta         struct{ Profile []string }
				Extension    []struct {
					URL            string
					ValueReference struct{ Reference string }
				}
				Code struct {
					Coding []struct{ System, Code string }
				}
				EffectiveDateTime string `json:"effectiveDateTime"`
				DerivedFrom       []struct{ Reference string }
				Component         []json.RawMessage
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	derived, stamps := 0, 0
	var stampURL, gatewayURL string
	for _, e := range bundle.Entry {
		r := e.Resource
		if r.ResourceType == "Device" && strings.Contains(strings.Join(r.Meta.Profile, " "), "PhgDevice") {
			gatewayURL = e.FullURL
		}
		if r.ResourceType != "Observation" {
			continue
		}
		if len(r.Code.Coding) == 0 || r.Code.Coding[0].System != "urn:iso:std:iso:11073:10101" {
			t.Errorf("code %+v: MDC is not first", r.Code.Coding)
		}
		for _, c := range r.Code.Coding {
			codes[c.Code] = true
		}
		if !strings.HasSuffix(r.EffectiveDateTime, "+01:00") {
			t.Errorf("effectiveDateTime %q: not in the reading's zone", r.EffectiveDateTime)
		}
		if r.Code.Coding[0].Code == "67975" { // the Coincident Time Stamp
			stamps++
			stampURL = e.FullURL
			continue
		}
		if len(r.DerivedFrom) == 0 || r.DerivedFrom[0].Reference != stampURL || stampURL == "" {
			t.Errorf("%s: derivedFrom %+v does not name the upload's Coincident Time Stamp first", r.Code.Coding[0].Code, r.DerivedFrom)
		}
		if len(r.Extension) != 1 || r.Extension[0].ValueReference.Reference != gatewayURL || gatewayURL == "" {
			t.Errorf("%s: gatewayDevice extension %+v does not name the upload's PhgDevice", r.Code.Coding[0].Code, r.Extension)
		}
		derived += len(r.DerivedFrom) - 1
	}
	if stamps != 1 {
		t.Errorf("%d Coincident Time Stamps, want one an upload", stamps)
	}
	want := map[devicesim.Kind][]string{
		devicesim.PulseOximeter: {"150456", "2708-6", "149530", "8867-4"},
		devicesim.BP:            {"150020", "85354-9"},
		devicesim.Scale:         {"188736", "29463-7", "188740", "8302-2", "188752", "39156-5"},
		devicesim.Glucose:       {"160184", "41653-7"},
	}[k]
	for _, c := range want {
		if !codes[c] {
			t.Errorf("no coding %s among %v", c, codes)
		}
	}
	if k == devicesim.Scale && derived != 2 {
		t.Errorf("BMI derived from %d observations, want weight and height", derived)
	}
	if k == devicesim.BP && !bytes.Contains(b, []byte(`"8480-6"`)) {
		t.Error("the cuff's compound has no systolic component")
	}
}

// The same device and time make the same upload, so that a resend is
// recognised; a point-of-care monitor is no personal health device.
func TestNextPHD_SameReadingSameUpload_MonitorRefused(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	upload := func() []byte {
		d, _ := devicesim.New(devicesim.Config{Kind: devicesim.Scale, Patient: patient, Seed: 9})
		b, err := d.NextPHD(at)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if a, b := upload(), upload(); !bytes.Equal(a, b) {
		t.Error("the same reading made two different uploads")
	}
	d, _ := devicesim.New(devicesim.Config{Kind: devicesim.Monitor, Patient: patient, Seed: 1})
	if _, err := d.NextPHD(at); err == nil || !strings.Contains(err.Error(), "point-of-care") {
		t.Errorf("monitor: %v", err)
	}
}
