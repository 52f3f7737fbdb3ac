package example_test

import (
	"testing"

	"hpsandbox/connectors/connectortest"
	"hpsandbox/connectors/example"
)

const observation = `{"resourceType":"Observation","status":"final",
	"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
	"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-03-01T12:00:00Z",
	"valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`

const transaction = `{"resourceType":"Bundle","type":"transaction","entry":[
	{"resource":` + observation + `,"request":{"method":"POST","url":"Observation"}},
	{"resource":` + observation + `,"request":{"method":"POST","url":"Observation"}}]}`

func TestExample_PassesConnectorSuite(t *testing.T) {
	connectortest.Run(t, connectortest.Subject{
		ID:   example.ID,
		Open: example.Open,
		Valid: []connectortest.Request{
			{Method: "POST", Path: "/Observation", Body: []byte(observation)},
			{Method: "POST", Path: "/Bundle", Body: []byte(transaction)},
		},
		Invalid: []connectortest.Request{
			{Method: "POST", Path: "/Observation", Body: []byte(`{"resourceType":"Observation","code":{"text":"no status"}}`)},
			{Method: "POST", Path: "/Bundle", Body: []byte(`{"resourceType":"Bundle","type":"batch","entry":[]}`)},
			{Method: "POST", Path: "/Bundle", Body: []byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`)},
		},
		ValidFrames:   [][]byte{[]byte(observation)},
		InvalidFrames: [][]byte{[]byte(transaction), []byte("MSH|^~\\&|DEVICE|||")},
	})
}
