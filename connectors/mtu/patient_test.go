package mtu

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"hpsandbox/connectors/hl7v2"
	"hpsandbox/fhirstore/interaction"
)

// The Patient a PID-3 found is remembered for the next messages, but
// read again each time: once deleted, or once it lost the identifier, the
// next message searches again and is refused as naming no patient, as
// the first message would have been.
func TestFindPatient_RemembersButRereads(t *testing.T) {
	for _, change := range []string{"delete", "identifier"} {
		t.Run(change, func(t *testing.T) {
			e := newEnv(t, Config{})
			ctx := context.Background()
			if _, ps := e.c.Handle(ctx, sandbox, benchMessage("P1")); ps.ack() != hl7v2.AA {
				t.Fatalf("first message: %+v", ps)
			}
			if _, ps := e.c.Handle(ctx, sandbox, benchMessage("P2")); ps.ack() != hl7v2.AA {
				t.Fatalf("second message: %+v", ps)
			}
			id := strings.TrimPrefix(e.patient, "Patient/")
			var err error
			if change == "delete" {
				_, err = e.engine.Write(ctx, &interaction.Write{Kind: interaction.Delete, Sandbox: sandbox, Type: "Patient", ID: id})
			} else {
				_, err = e.engine.Write(ctx, &interaction.Write{Kind: interaction.Update, Sandbox: sandbox, Type: "Patient", ID: id,
					Body: []byte(`{"resourceType":"Patient","id":"` + id + `","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13097248022"}]}`)})
			}
			if err != nil {
				t.Fatal(err)
			}
			_, ps := e.c.Handle(ctx, sandbox, benchMessage("P3"))
			if ps.ack() != hl7v2.AE || !strings.Contains(ps.errs()[0].Text, "no patient of the sandbox") {
				t.Fatalf("after the Patient changed: %s %+v, want AE naming no patient", ps.ack(), ps)
			}
			if n := len(e.search(t, "Observation", nil)); n != 4 {
				t.Errorf("%d Observations stored, want those of the two first messages", n)
			}
		})
	}
}

// A remembered Patient rewritten since but still holding the identifier
// that found it stays the messages' subject, before and after the
// rewrite; rewritten again without it, the next message searches again.
func TestFindPatient_RewrittenKeepingItsIdentifier_StillFound(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	id := strings.TrimPrefix(e.patient, "Patient/")
	rewrite := func(identifiers string) {
		t.Helper()
		if _, err := e.engine.Write(ctx, &interaction.Write{Kind: interaction.Update, Sandbox: sandbox, Type: "Patient", ID: id,
			Body: []byte(`{"resourceType":"Patient","id":"` + id + `","identifier":[` + identifiers + `],"name":[{"family":"Hansen"}]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		before string // identifiers the Patient is rewritten with first, "" for none
		ack    string
	}{
		{"", hl7v2.AA}, {"", hl7v2.AA},
		{`{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"` + fnr + `"}`, hl7v2.AA}, {"", hl7v2.AA},
		{`{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13097248022"}`, hl7v2.AE},
	}
	for i, s := range steps {
		if s.before != "" {
			rewrite(s.before)
		}
		if _, ps := e.c.Handle(ctx, sandbox, benchMessage(fmt.Sprintf("R%d", i))); ps.ack() != s.ack {
			t.Fatalf("message %d: %s %+v, want %s", i, ps.ack(), ps, s.ack)
		}
	}
	if n := len(e.search(t, "Observation", nil)); n != 8 {
		t.Errorf("%d Observations stored, want those of the four accepted messages", n)
	}
}
