package pmd

import (
	"testing"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore/outcome"
)

// FuzzReceiver: the municipality tag of any body is found, or refused as a
// client error naming why; never a panic.
func FuzzReceiver(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"collection","meta":{"tag":[{"system":"urn:oid:2.16.578.1.12.4.1.1.3402","code":"5006"}]}}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"collection","meta":{"tag":[{"system":"urn:oid:2.16.578.1.12.4.1.1.3402","code":5006}]}}`))
	f.Add([]byte(`{"resourceType":"Bundle","meta":null}`))
	c, err := OpenWith(Options{})(connectors.Deps{Engine: nopEngine{}})
	if err != nil {
		f.Fatal(err)
	}
	p := c.(*Connector)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := p.receiver(body)
		if err == nil {
			if m.OrgNumber == "" {
				t.Fatal("a receiver without an organisation number")
			}
			return
		}
		if oe := outcome.From(err); oe.Category.Server() || len(oe.Issues) == 0 {
			t.Fatalf("receiver error %v is not a client error", err)
		}
	})
}

// nopEngine stands in for the engine where nothing is stored.
type nopEngine struct{ connectors.Engine }
