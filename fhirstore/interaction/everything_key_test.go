package interaction

import "testing"

func TestLocalKey_RelativeOrUnderTheBaseVersionDropped(t *testing.T) {
	base := "http://sandbox.test/fhir/"
	for ref, want := range map[string]string{
		"Practitioner/gp":                                "Practitioner/gp",
		"Practitioner/gp/_history/2":                     "Practitioner/gp",
		"http://sandbox.test/fhir/Device/oxi":            "Device/oxi",
		"http://sandbox.test/fhir/Device/oxi/_history/1": "Device/oxi",
		"http://elsewhere.test/fhir/Device/oxi":          "",
		"Practitioner/gp/_history":                       "",
		"Practitioner/gp/x/1":                            "",
		"Practitioner/..":                                "",
		"Nope/1":                                         "",
		"#contained":                                     "",
		"urn:uuid:2f6b2b9a-1d8a-4c52-9b2e-3b8f0c9e4d11":  "",
		"Patient?identifier=x":                           "",
		"Practitioner":                                   "",
	} {
		if got := localKey(ref, base); got != want {
			t.Errorf("localKey(%q) = %q, want %q", ref, got, want)
		}
	}
}
