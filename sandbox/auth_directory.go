package sandbox

import (
	"context"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/directory"
	"hpsandbox/smart"
)

// pickerLimit bounds the rows of the launch pickers and the login page.
const pickerLimit = 200

// launchDirectory lists the patients, practitioners and encounters of the
// sandbox being launched (smart.SandboxFromContext) for the SMART login
// page and launch pickers, as the portal shows them.
type launchDirectory struct{ dir directory.Directory }

var (
	_ smart.PatientLister      = launchDirectory{}
	_ smart.PractitionerLister = launchDirectory{}
	_ smart.EncounterLister    = launchDirectory{}
)

// sandboxOr maps a client registered without a sandbox to the default one.
func sandboxOr(s string) string {
	if s == "" {
		return fhirstore.DefaultSandbox
	}
	return s
}

// ListPatients implements smart.PatientLister.
func (d launchDirectory) ListPatients(ctx context.Context) ([]smart.PatientSummary, error) {
	pg, err := d.dir.Patients(ctx, sandboxOr(smart.SandboxFromContext(ctx)), "", "", pickerLimit)
	if err != nil {
		return nil, err
	}
	out := make([]smart.PatientSummary, 0, len(pg.Patients))
	for _, p := range pg.Patients {
		out = append(out, smart.PatientSummary{ID: p.ID, Name: p.Name, BirthDate: p.BirthDate})
	}
	return out, nil
}

// ListPractitioners implements smart.PractitionerLister.
func (d launchDirectory) ListPractitioners(ctx context.Context) ([]smart.PractitionerSummary, error) {
	ps, err := d.dir.Practitioners(ctx, sandboxOr(smart.SandboxFromContext(ctx)), pickerLimit)
	if err != nil {
		return nil, err
	}
	out := make([]smart.PractitionerSummary, 0, len(ps))
	for _, p := range ps {
		out = append(out, smart.PractitionerSummary{ID: p.ID, Name: p.Name})
	}
	return out, nil
}

// ListEncounters implements smart.EncounterLister: the patient's
// encounters, newest first.
func (d launchDirectory) ListEncounters(ctx context.Context, patientID string) ([]smart.EncounterSummary, error) {
	es, err := d.dir.Encounters(ctx, sandboxOr(smart.SandboxFromContext(ctx)), patientID, pickerLimit)
	if err != nil {
		return nil, err
	}
	out := make([]smart.EncounterSummary, 0, len(es))
	for _, e := range es {
		out = append(out, smart.EncounterSummary{ID: e.ID, Description: e.Description(), Period: e.Period()})
	}
	return out, nil
}
