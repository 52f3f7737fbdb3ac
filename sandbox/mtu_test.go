package sandbox

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors/hl7v2"
	"hpsandbox/connectors/mllp"
	"hpsandbox/connectors/mtu"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// pcd01 is an IHE PCD-01 message about the patient with FNR 24017845396.
var pcd01 = strings.Join([]string{
	`MSH|^~\&|AcmeMonitor^ACDE48234567ABCD^EUI-64||HPSANDBOX|default|20260301120000+0100||ORU^R01^ORU_R01|E2E-1|P|2.6|||AL|NE`,
	`PID|||24017845396^^^&2.16.578.1.12.4.1.4.1&ISO^NNNOR||Nordmann^Kari`,
	`OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20260301115950+0100`,
	`OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|96|262688^MDC_DIM_PERCENT^MDC|||||F|||20260301115959+0100||||0123456789ABCDEF^^^EUI-64`,
}, "\r")

func TestMTU_PCD01OverTCP_FoundThroughFHIRSearch(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) {
		c.Connectors, c.ConnectorListen = mtu.ID, mtu.ID+"="+addr+"@"+fhirstore.DefaultSandbox
	})
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Patient","id":"pat-fnr","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"24017845396"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.store.Update(context.Background(), fhirstore.DefaultSandbox, r, fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	rd := mllp.NewReader(conn, 0)
	send := func(msg string) *hl7v2.Message {
		t.Helper()
		if err := mllp.WriteFrame(conn, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		ans, err := rd.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		ack, err := hl7v2.Parse(ans)
		if err != nil {
			t.Fatalf("answer %q: %v", ans, err)
		}
		return ack
	}
	if ack := send(pcd01); ack.Segment("MSA").Get(1, 1) != hl7v2.AA || ack.Segment("MSA").Get(2, 1) != "E2E-1" {
		t.Fatalf("ACK %q, want AA for E2E-1", ack.Bytes())
	}
	resp, bundle := env.fhir(t, http.MethodGet, "/Observation?subject=Patient/pat-fnr&code=http://loinc.org|2708-6", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("search: %d", resp.StatusCode)
	}
	if entries, _ := bundle["entry"].([]any); len(entries) != 1 {
		t.Fatalf("the search found %d Observations, want the SpO2 sent: %v", len(entries), bundle)
	}
	// An unknown patient: AE, and the connection still serves.
	unknown := strings.Replace(strings.Replace(pcd01, "24017845396", "01010112345", 1), "E2E-1", "E2E-2", 1)
	if ack := send(unknown); ack.Segment("MSA").Get(1, 1) != hl7v2.AE || ack.Segment("ERR").Get(3, 1) != hl7v2.CodeUnknownKey {
		t.Fatalf("ACK of an unknown patient %q, want AE 204", ack.Bytes())
	}
	if ack := send(strings.Replace(pcd01, "E2E-1", "E2E-3", 1)); ack.Segment("MSA").Get(1, 1) != hl7v2.AA {
		t.Fatalf("ACK after a refusal %q", ack.Bytes())
	}
}
