package adminapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/sandbox/requestlog"
)

func TestCreateSandbox_AnswersCreatedWithLocationLinksAndDefaultsForSettingsLeftOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.must(http.StatusCreated, "POST", "/sandboxes", aliceUser,
		map[string]any{"id": "acme-dev", "name": "Dev", "seed_patients": -1, "settings": map[string]any{"skip_login": true}})
	if loc := a.header.Get("Location"); loc != "/admin/api/sandboxes/acme-dev" {
		t.Errorf("Location %q, want /admin/api/sandboxes/acme-dev", loc)
	}
	var sb sandboxJSON
	a.json(t, &sb)
	if sb.Supplier != "acme" || sb.Name != "Dev" {
		t.Errorf("sandbox %+v, want acme's, named Dev", sb.Sandbox)
	}
	if !sb.Settings.SkipLogin || !sb.Settings.Secured || sb.Settings.DynamicRegistration || sb.Settings.RegistrationScopes != "" {
		t.Errorf("settings %+v: want skip_login as asked and the other defaults kept (secured, closed to dynamic registration)", sb.Settings)
	}
	if sb.FHIRBase != "http://127.0.0.1/fhir/acme-dev" || sb.RegistrationEndpoint != "" {
		t.Errorf("fhir_base %q, registration_endpoint %q, want none while registration is closed", sb.FHIRBase, sb.RegistrationEndpoint)
	}
	var got sandboxJSON
	e.must(http.StatusOK, "GET", "/sandboxes/acme-dev", aliceUser, nil).json(t, &got)
	if got.ID != sb.ID || !got.Created.Equal(sb.Created) {
		t.Errorf("GET Location: %+v, want the created sandbox %+v", got.Sandbox, sb.Sandbox)
	}
	// Opening registration shows the registration endpoint; closing it
	// takes it away.
	var open sandboxJSON
	e.must(http.StatusOK, "PATCH", "/sandboxes/acme-dev", aliceUser,
		map[string]any{"settings": map[string]any{"dynamic_registration": true, "registration_scopes": "patient/*.rs"}}).json(t, &open)
	if open.RegistrationEndpoint != "http://127.0.0.1/fhir/acme-dev/register" || open.Settings.RegistrationScopes != "patient/*.rs" {
		t.Errorf("registration_endpoint %q, settings %+v of a sandbox open to registration", open.RegistrationEndpoint, open.Settings)
	}
	var closed sandboxJSON
	e.must(http.StatusOK, "PATCH", "/sandboxes/acme-dev", aliceUser,
		map[string]any{"settings": map[string]any{"dynamic_registration": false}}).json(t, &closed)
	if closed.RegistrationEndpoint != "" {
		t.Errorf("registration_endpoint %q of a sandbox closed to registration", closed.RegistrationEndpoint)
	}
	// Anonymous registration may be given reads only.
	p := e.must(http.StatusUnprocessableEntity, "PATCH", "/sandboxes/acme-dev", aliceUser,
		map[string]any{"settings": map[string]any{"registration_scopes": "system/*.cruds"}}).problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Field != "settings.registration_scopes" {
		t.Errorf("system/*.cruds for anonymous registration: %+v, want errors naming settings.registration_scopes", p)
	}
	// Profile enforcement is set as a whole and checked.
	const hr = "http://hl7.org/fhir/StructureDefinition/heartrate"
	var enforced sandboxJSON
	e.must(http.StatusOK, "PATCH", "/sandboxes/acme-dev", aliceUser,
		map[string]any{"settings": map[string]any{"profile_enforcement": map[string]any{"declared": true, "required": map[string]any{"Observation": []string{hr}}}}}).json(t, &enforced)
	if pe := enforced.Settings.ProfileEnforcement; !pe.Declared || len(pe.Required["Observation"]) != 1 || !enforced.Settings.Secured {
		t.Errorf("settings %+v after enforcing profiles", enforced.Settings)
	}
	p = e.must(http.StatusUnprocessableEntity, "PATCH", "/sandboxes/acme-dev", aliceUser,
		map[string]any{"settings": map[string]any{"profile_enforcement": map[string]any{"required": map[string]any{"Observations": []string{hr}}}}}).problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Field != "settings.profile_enforcement.required" {
		t.Errorf("an unknown resource type: %+v, want errors naming settings.profile_enforcement.required", p)
	}
}

func TestCreateSandbox_BadRequestsNameTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		body   any
		status int
		field  string // in errors[0], or "" to find want in the detail
		want   string
	}{
		{"id with capitals", map[string]any{"id": "Acme"}, 422, "id", ""},
		{"too many patients", map[string]any{"seed_patients": 5000}, 422, "seed_patients", ""},
		{"short token lifetime", map[string]any{"settings": map[string]any{"access_token_seconds": 5}}, 422, "settings.access_token_seconds", ""},
		{"another supplier", map[string]any{"supplier": "bravo"}, 422, "supplier", ""},
		{"name of the wrong type", map[string]any{"name": 5}, 400, "name", ""},
		{"setting of the wrong type", map[string]any{"settings": map[string]any{"secured": "yes"}}, 400, "settings.secured", ""},
		{"unknown field", map[string]any{"nmae": "x"}, 400, "", `"nmae"`},
		{"unknown setting", map[string]any{"settings": map[string]any{"securd": true}}, 400, "", `"securd"`},
		{"not JSON", "name=x", 400, "", "not valid JSON"},
		{"two values", `{} {}`, 400, "", "more than one"},
		{"an array", `[]`, 400, "", "send an object"},
		{"no body", "", 400, "", "empty"},
		{"cut short", `{"name": "x"`, 400, "", "ends"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			p := e.must(tt.status, "POST", "/sandboxes", aliceUser, tt.body).problem(t)
			if tt.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tt.field || p.Errors[0].Message == "") {
				t.Errorf("problem %+v, want errors naming %s", p, tt.field)
			}
			if !strings.Contains(p.Detail, tt.want) {
				t.Errorf("detail %q, want it to say %q", p.Detail, tt.want)
			}
		})
	}
}

func TestBody_TooLargeWrongTypeOrUnauthenticatedIsRefusedBeforeItIsRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := `{"name":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`
	e.must(http.StatusRequestEntityTooLarge, "POST", "/sandboxes", aliceUser, big).problem(t)
	a := e.doWith("POST", "/sandboxes", `{"name":"x"}`, func(r *http.Request) {
		r.SetBasicAuth(aliceUser, password(aliceUser))
		r.Header.Set("Content-Type", "text/plain")
	})
	if a.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d %s, want 415", a.status, a.body)
	}
	a = e.doWith("PATCH", "/sandboxes/default", `{"name":"Default"}`, func(r *http.Request) {
		r.SetBasicAuth(opUser, password(opUser))
		r.Header.Set("Content-Type", "application/merge-patch+json")
	})
	if a.status != http.StatusOK {
		t.Errorf("a merge patch: %d %s, want 200", a.status, a.body)
	}
}

func TestUpdateSandbox_MergesSettingsAndValidatesName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sandbox(aliceUser, "acme-dev")
	var sb sandboxJSON
	e.must(http.StatusOK, "PATCH", "/sandboxes/acme-dev", aliceUser,
		map[string]any{"settings": map[string]any{"skip_consent": true, "access_token_seconds": 600}}).json(t, &sb)
	e.must(http.StatusOK, "PATCH", "/sandboxes/acme-dev", aliceUser, map[string]any{"name": "Renamed"}).json(t, &sb)
	s := sb.Settings
	if sb.Name != "Renamed" || !s.SkipConsent || s.AccessTokenSeconds != 600 || !s.Secured || s.DynamicRegistration {
		t.Errorf("after two patches: %+v, want the name and both settings changed and the rest kept", sb.Sandbox)
	}
	p := e.must(http.StatusUnprocessableEntity, "PATCH", "/sandboxes/acme-dev", aliceUser, map[string]any{"name": " "}).problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Field != "name" {
		t.Errorf("blank name: %+v, want errors naming name", p)
	}
	e.must(http.StatusOK, "GET", "/sandboxes/acme-dev", aliceUser, nil).json(t, &sb)
	if sb.Name != "Renamed" {
		t.Errorf("a refused patch changed the name to %q", sb.Name)
	}
}

func TestResetSandbox_ErasesWhatWasWrittenAndKeepsTheRequestLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var before sandboxJSON
	e.must(http.StatusCreated, "POST", "/sandboxes", aliceUser, map[string]any{"id": "acme-dev", "seed_patients": 0}).json(t, &before)
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Patient","id":"written","name":[{"family":"Skrevet"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Update(ctx, "acme-dev", r, fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.log.Append(ctx, []requestlog.Entry{{Sandbox: "acme-dev", Time: time.Now(), Method: "PUT", Path: "/Patient/written", Status: 201}}); err != nil {
		t.Fatal(err)
	}
	var after sandboxJSON
	e.must(http.StatusOK, "POST", "/sandboxes/acme-dev/reset", aliceUser, nil).json(t, &after)
	if _, err := e.store.Read(ctx, "acme-dev", "Patient", "written"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("the written patient after the reset: %v, want ErrNotFound", err)
	}
	if !after.ResetAt.After(before.ResetAt) {
		t.Errorf("reset_at %v, want after %v", after.ResetAt, before.ResetAt)
	}
	// The log is evidence of what the app did, which a reset of the data
	// does not undo; deleting the sandbox deletes it (the gateway hands
	// tenant's OnDelete to the request log, as newEnv does).
	var page requestPageJSON
	e.must(http.StatusOK, "GET", "/sandboxes/acme-dev/requests", aliceUser, nil).json(t, &page)
	if len(page.Entries) != 1 {
		t.Errorf("the request log after the reset: %+v, want its entry kept", page.Entries)
	}
}

func TestDeleteSandbox_RemovesItButNeverTheDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sandbox(aliceUser, "acme-dev")
	e.must(http.StatusNoContent, "DELETE", "/sandboxes/acme-dev", aliceUser, nil)
	e.must(http.StatusNotFound, "GET", "/sandboxes/acme-dev", opUser, nil)
	e.must(http.StatusNotFound, "DELETE", "/sandboxes/acme-dev", aliceUser, nil)
	p := e.must(http.StatusForbidden, "DELETE", "/sandboxes/default", opUser, nil).problem(t)
	if !strings.Contains(p.Detail, "reset it instead") {
		t.Errorf("deleting the default sandbox: %q, want it to say what to do instead", p.Detail)
	}
	// A supplier does not see the default sandbox at all.
	e.must(http.StatusNotFound, "POST", "/sandboxes/default/reset", aliceUser, nil)
}
