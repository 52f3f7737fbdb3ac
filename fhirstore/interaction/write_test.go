package interaction_test

import (
	"strings"
	"testing"

	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

func TestPatch_ValidatedAndVersioned(t *testing.T) {
	f := newFixture(t)
	f.put(patientP1)
	jp, fp := interaction.JSONPatch, interaction.FHIRPathPatch
	tests := []struct {
		name    string
		format  interaction.PatchFormat
		patch   string
		ifMatch int64
		want    outcome.Category
	}{
		{"replace birthDate", jp, `[{"op":"replace","path":"/birthDate","value":"1981-02-03"}]`, 0, ""},
		{"guarded by current version", jp, `[{"op":"add","path":"/active","value":true}]`, 2, ""},
		{"stale If-Match", jp, `[{"op":"add","path":"/active","value":false}]`, 1, outcome.PreconditionFailed},
		{"result invalid: bad date", jp, `[{"op":"replace","path":"/birthDate","value":"soon"}]`, 0, outcome.Unprocessable},
		{"result invalid: unknown element", jp, `[{"op":"add","path":"/nickname","value":"K"}]`, 0, outcome.Unprocessable},
		{"changes id", jp, `[{"op":"replace","path":"/id","value":"p9"}]`, 0, outcome.Unprocessable},
		{"failed test op", jp, `[{"op":"test","path":"/gender","value":"male"}]`, 0, outcome.Unprocessable},
		{"malformed patch", jp, `{"op":"replace"}`, 0, outcome.Incorrect},
		{"not JSON", jp, `[{"op":`, 0, outcome.Incorrect},
		{"FHIRPath Patch", fp, `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},` +
			`{"name":"path","valueString":"Patient"},{"name":"name","valueString":"gender"},{"name":"value","valueCode":"female"}]}]}`, 0, ""},
		{"FHIRPath Patch making it invalid", fp, `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"replace"},` +
			`{"name":"path","valueString":"Patient.gender"},{"name":"value","valueCode":"robot"}]}]}`, 0, outcome.Unprocessable},
		{"FHIRPath Patch unsupported path", fp, `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"delete"},` +
			`{"name":"path","valueString":"Patient.name.exists()"}]}]}`, 0, outcome.Incorrect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.write(interaction.Write{Kind: interaction.Patch, Type: "Patient", ID: "p1", Patch: tt.format, Body: []byte(tt.patch), IfMatch: tt.ifMatch})
			if category(err) != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if err == nil && res.Created {
				t.Error("a patch created")
			}
		})
	}
	v, err := f.read("Patient", "p1")
	if err != nil || v.Version != 4 || !strings.Contains(string(v.Body), `"birthDate":"1981-02-03"`) ||
		!strings.Contains(string(v.Body), `"active":true`) || !strings.Contains(string(v.Body), `"gender":"female"`) {
		t.Errorf("after patches: %v %+v (only the three valid patches may have landed)", err, v)
	}
	if _, err := f.write(interaction.Write{Kind: interaction.Patch, Type: "Patient", ID: "nobody", Patch: jp, Body: []byte(`[]`)}); category(err) != outcome.Missing {
		t.Errorf("patch of unknown: %v", err)
	}
}

func TestWrite_CreateUpdateDelete(t *testing.T) {
	f := newFixture(t)
	res, err := f.write(interaction.Write{Kind: interaction.Create, Type: "Patient", Body: []byte(patientP1)})
	if err != nil || !res.Created || res.Resource.ID == "p1" || res.Resource.Version != 1 {
		t.Fatalf("create: %v %+v (the body's id is ignored)", err, res)
	}
	for name, tc := range map[string]struct {
		w    interaction.Write
		want outcome.Category
	}{
		"create of another type than the URL's": {interaction.Write{Kind: interaction.Create, Type: "Observation", Body: []byte(patientP1)}, outcome.Incorrect},
		"update without the URL's id":           {interaction.Write{Kind: interaction.Update, Type: "Patient", ID: "p2", Body: []byte(patientP1)}, outcome.Incorrect},
		"update with a stale version":           {interaction.Write{Kind: interaction.Update, Type: "Patient", ID: res.Resource.ID, IfMatch: 7, Body: []byte(strings.Replace(patientP1, "p1", res.Resource.ID, 1))}, outcome.PreconditionFailed},
		"invalid resource":                      {interaction.Write{Kind: interaction.Create, Type: "Patient", Body: []byte(`{"resourceType":"Patient","birthDate":"soon"}`)}, outcome.Incorrect},
		"broken rule":                           {interaction.Write{Kind: interaction.Create, Type: "Observation", Body: []byte(`{"resourceType":"Observation","code":{"text":"x"}}`)}, outcome.Unprocessable},
		"not a write":                           {interaction.Write{Kind: interaction.Read, Type: "Patient", ID: "p1"}, outcome.Fault},
		"update without a type":                 {interaction.Write{Kind: interaction.Update, ID: "p1", Body: []byte(patientP1)}, outcome.Incorrect},
	} {
		if _, err := f.write(tc.w); category(err) != tc.want {
			t.Errorf("%s: %v, want %s", name, err, tc.want)
		}
	}
	up, err := f.write(interaction.Write{Kind: interaction.Update, Type: "Patient", ID: "p1", Body: []byte(patientP1)})
	if err != nil || !up.Created {
		t.Fatalf("update creating p1: %v %+v", err, up)
	}
	up, err = f.write(interaction.Write{Kind: interaction.Update, Type: "Patient", ID: "p1", IfMatch: 1, Body: []byte(patientP1)})
	if err != nil || up.Created || up.Resource.Version != 2 {
		t.Fatalf("update of p1 at version 1: %v %+v", err, up)
	}
	del, err := f.write(interaction.Write{Kind: interaction.Delete, Type: "Patient", ID: "p1"})
	if err != nil || del.Deleted != 1 || del.Resource.Version != 3 {
		t.Fatalf("delete: %v %+v", err, del)
	}
	if del, err = f.write(interaction.Write{Kind: interaction.Delete, Type: "Patient", ID: "p1"}); err != nil || del.Deleted != 0 || del.Resource != nil {
		t.Errorf("delete of the deleted: %v %+v", err, del)
	}
}

func TestCreate_ForConnectorsTakesTheResourceAsItIs(t *testing.T) {
	f := newFixture(t)
	v, err := f.eng.Create(f.ctx, sb, []byte(`{"resourceType":"Observation","status":"final","code":{"text":"puls"}}`))
	if err != nil || v.Type != "Observation" || v.Version != 1 {
		t.Fatalf("%v %+v", err, v)
	}
	if _, err := f.eng.Create(f.ctx, sb, []byte(`{"resourceType":"Observation"}`)); category(err) != outcome.Unprocessable {
		t.Errorf("an invalid Observation: %v", err)
	}
	out, err := f.eng.Transaction(f.ctx, sb, []byte(`{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:9a3c1c7e-0000-4000-8000-000000000001","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`))
	if err != nil || !strings.Contains(string(out), `"fullUrl":"`+base+`/Patient/`) || !strings.Contains(string(out), `"status":"201 Created"`) {
		t.Errorf("transaction: %v %s", err, out)
	}
}

func TestValidate_ReportsWithoutWriting(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, typ, id, mode, body, want string
		cat                             outcome.Category
	}{
		{"valid resource", "Patient", "", "", patientP1, "is valid FHIR R4", ""},
		{"invalid resource names the path", "Patient", "", "", `{"resourceType":"Patient","birthDate":"x"}`, "Patient.birthDate", ""},
		{"missing required", "Observation", "", "", `{"resourceType":"Observation","code":{"text":"x"}}`, "Observation.status", ""},
		{"wrapped in Parameters", "Patient", "", "", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + patientP1 + `}]}`, "is valid FHIR R4", ""},
		{"mode in Parameters", "Patient", "", "", `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"update"},{"name":"resource","resource":{"resourceType":"Patient"}}]}`, "Patient.id", ""},
		{"instance id mismatch", "Patient", "p2", "", patientP1, "Patient.id", ""},
		{"type mismatch", "Observation", "", "", patientP1, "resourceType", ""},
		{"bad mode", "Patient", "", "upsert", patientP1, "", outcome.Incorrect},
		{"delete mode without id", "Patient", "", "delete", patientP1, "", outcome.Incorrect},
		{"delete mode on unknown", "Patient", "nobody", "delete", patientP1, "", outcome.Missing},
		{"Parameters without resource", "Patient", "", "", `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"}]}`, "", outcome.Incorrect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issues, err := f.eng.Validate(f.ctx, &interaction.ValidateRequest{Sandbox: sb, Type: tt.typ, ID: tt.id, Mode: tt.mode, Body: []byte(tt.body)})
			if category(err) != tt.cat {
				t.Fatalf("got %v, want %q", err, tt.cat)
			}
			if err == nil && !strings.Contains(string(outcome.JSON(issues)), tt.want) {
				t.Errorf("issues %s lack %s", outcome.JSON(issues), tt.want)
			}
		})
	}
	if n := f.versions(); n != 0 {
		t.Errorf("$validate wrote %d versions", n)
	}
}
