package guides_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hpsandbox/connectors/hl7v2"
	"hpsandbox/connectors/mllp"
)

// TestExample_DeviceDataArrivesOnAWebsocket is the last part of the
// medical-device guide (medical-devices.md) in Go, against a started
// sandbox: a Subscription to Kjell Moen's vital signs over the websocket
// channel, a connection bound to it, a PCD-01 message over MLLP, and the
// ping that follows its commit. Another patient's reading pings nothing.
// Then the same over a rest-hook: the saturation PUT to the app's endpoint
// with the resource.
func TestExample_DeviceDataArrivesOnAWebsocket(t *testing.T) {
	base := startSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// 1. The subscription, as the guide writes it, until it is active.
	var sub struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	postJSON(t, base+"/fhir/Subscription", `{"resourceType":"Subscription","status":"requested","reason":"guide example",`+
		`"criteria":"Observation?patient=persona-copd&category=vital-signs","channel":{"type":"websocket"}}`, &sub)
	for deadline := time.Now().Add(10 * time.Second); sub.Status != "active"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the subscription is %q, not active", sub.Status)
		}
		getJSON(t, base+"/fhir/Subscription/"+sub.ID, "", &sub)
	}

	// 2. The websocket, bound to it.
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("bind "+sub.ID)); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.Read(ctx); err != nil || string(b) != "bound "+sub.ID {
		t.Fatalf("bind: %q %v", b, err)
	}

	// 3. A reading of another patient (Astrid Rønning), then Kjell's.
	send := func(id, nin, value string) {
		t.Helper()
		msg := strings.Join([]string{
			`MSH|^~\&|AcmeOximeter^0123456789ABCDEF^EUI-64||HPSANDBOX|default|20260301130000+0100||ORU^R01^ORU_R01|` + id + `|P|2.6|||AL|NE`,
			`PID|||` + nin + `^^^&2.16.578.1.12.4.1.4.1&ISO^NNNOR`,
			`OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20260301125950+0100`,
			`OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|` + value + `|262688^MDC_DIM_PERCENT^MDC|||||F|||20260301125959+0100||||0123456789ABCDEF^^^EUI-64`,
		}, "\r") + "\r"
		conn, err := net.DialTimeout("tcp", shared.mllp, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		if err := mllp.WriteFrame(conn, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		b, err := mllp.NewReader(conn, 0).ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		ack, err := hl7v2.Parse(b)
		if err != nil || ack.Segment("MSA").Get(1, 1) != hl7v2.AA {
			t.Fatalf("ACK %q %v, want AA", b, err)
		}
	}
	send("GUIDE-WS-1", "29903704606", "96")
	send("GUIDE-WS-2", "12875327133", "91")
	_, b, err := c.Read(ctx)
	if err != nil || string(b) != "ping "+sub.ID {
		t.Fatalf("after Kjell's reading: %q %v, want ping %s", b, err, sub.ID)
	}
	// Only one ping: Astrid's reading matched nothing.
	short, stop := context.WithTimeout(ctx, 500*time.Millisecond)
	defer stop()
	if _, b, err := c.Read(short); err == nil {
		t.Errorf("a second notification %q: another patient's reading matched", b)
	}

	// 4. A rest-hook to an app's endpoint (on loopback, which the test
	// sandbox allows as --subscription-loopback does), with the resource.
	hooks := make(chan string, 8)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var res struct{ ResourceType, ID string }
		_ = json.Unmarshal(b, &res)
		select {
		case hooks <- r.Method + " " + r.URL.Path + " " + res.ResourceType:
		default:
		}
	}))
	defer app.Close()
	var hook struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	postJSON(t, base+"/fhir/Subscription", `{"resourceType":"Subscription","status":"requested","reason":"guide example",`+
		`"criteria":"Observation?patient=persona-copd&code=http://loinc.org|2708-6",`+
		`"channel":{"type":"rest-hook","endpoint":"`+app.URL+`/hook","payload":"application/fhir+json"}}`, &hook)
	for deadline := time.Now().Add(10 * time.Second); hook.Status != "active"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the rest-hook subscription is %q, not active", hook.Status)
		}
		getJSON(t, base+"/fhir/Subscription/"+hook.ID, "", &hook)
	}
	send("GUIDE-WS-3", "12875327133", "90")
	select {
	case got := <-hooks:
		if !strings.HasPrefix(got, "PUT /hook/Observation/") || !strings.HasSuffix(got, " Observation") {
			t.Errorf("the rest-hook got %q, want PUT /hook/Observation/{id} with the Observation", got)
		}
	case <-ctx.Done():
		t.Fatal("no rest-hook notification")
	}
}

// postJSON POSTs a FHIR resource to u without a token and decodes the
// answer, which must be 201.
func postJSON(t *testing.T, u, body string, into any) {
	t.Helper()
	resp, err := http.Post(u, "application/fhir+json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}
