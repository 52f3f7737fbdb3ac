package sandbox

import (
	"context"
	"reflect"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/directory"
	"hpsandbox/smart"
)

func TestLaunchDirectory_ListsTheSandboxsPeopleByNameAndAPatientsEncountersFromTheStore(t *testing.T) {
	env := newGatewayEnv(t, true)
	d := launchDirectory{dir: directory.Directory{Store: env.store}}
	ctx := smart.WithSandbox(context.Background(), fhirstore.DefaultSandbox)
	pats, err := d.ListPatients(ctx)
	// By family name, as the portal lists them.
	want := []smart.PatientSummary{{ID: "pat-b", Name: "Ola Hansen", BirthDate: "1980-02-02"}, {ID: "pat-a", Name: "Kari Nordmann", BirthDate: "1970-01-01"}}
	if err != nil || !reflect.DeepEqual(pats, want) {
		t.Errorf("patients %+v %v", pats, err)
	}
	pracs, err := d.ListPractitioners(ctx)
	if err != nil || !reflect.DeepEqual(pracs, []smart.PractitionerSummary{{ID: "prac-1", Name: "Liv Lege"}}) {
		t.Errorf("practitioners %+v %v", pracs, err)
	}
	encs, err := d.ListEncounters(ctx, "pat-a")
	if err != nil || !reflect.DeepEqual(encs, []smart.EncounterSummary{{ID: "enc-a", Description: "Diabetes follow-up", Period: "2024-03-01"}}) {
		t.Errorf("encounters %+v %v", encs, err)
	}
	if encs, err := d.ListEncounters(ctx, "pat-b"); err != nil || len(encs) != 0 {
		t.Errorf("pat-b's encounters %+v %v", encs, err)
	}
	if pats, err := d.ListPatients(smart.WithSandbox(context.Background(), "elsewhere")); err != nil || len(pats) != 0 {
		t.Errorf("another sandbox's patients %+v %v", pats, err)
	}
}
