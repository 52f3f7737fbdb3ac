package vkp_test

import (
	"encoding/json"
	"errors"
	"testing"

	"hpsandbox/connectors/vkp"
	"hpsandbox/fhirstore/outcome"
)

// FuzzParse: whatever a supplier sends, Parse answers an accepted
// submission whose transaction is JSON, or a client error (4xx), and never
// panics; a transaction Deliver vouches for is valid R4.
func FuzzParse(f *testing.F) {
	for _, b := range validSubmissions(f) {
		f.Add(b)
	}
	for _, r := range refusals(f) {
		f.Add(r.body)
	}
	f.Add([]byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":null},{}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","subject":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"12883810110"}},"identifier":{"system":"urn:ietf:rfc:3986","value":"x"}}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := vkp.Parse(body, nil, vkp.Alarm, vkp.Supervision, vkp.Dispense, vkp.Measurements)
		if err != nil {
			var oe *outcome.Error
			if !errors.As(err, &oe) || oe.Category.Server() || len(oe.Issues) == 0 {
				t.Fatalf("Parse error %v is not a client error with issues", err)
			}
			return
		}
		tx, err := s.Transaction(vkp.ID)
		if err != nil || !json.Valid(tx) {
			t.Fatalf("transaction of an accepted submission: %v", err)
		}
		vouchedValid(t, s)
	})
}
