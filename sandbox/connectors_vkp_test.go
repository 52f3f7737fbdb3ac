package sandbox

import (
	"context"
	"testing"

	"hpsandbox/connectors"
	"hpsandbox/connectors/pmd"
	"hpsandbox/connectors/vkp"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// TestCheckRegistry_HubConnectorsTitleTheirProfiles: the welfare-technology
// hub and PMD contribute their checks under profiles of their own titles.
func TestCheckRegistry_HubConnectorsTitleTheirProfiles(t *testing.T) {
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var reg connectors.Registry
	for _, id := range []string{vkp.ID, pmd.ID} {
		if err := reg.Register(id, catalogue[id]); err != nil {
			t.Fatal(err)
		}
	}
	set, err := reg.Open(connectors.Deps{Engine: interaction.New(store, interaction.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	checks, err := checkRegistry(set)
	if err != nil {
		t.Fatal(err)
	}
	for id, title := range map[string]string{vkp.ProfileSender: "welfare-technology sender (VKP R4)", pmd.ProfileSender: "PMD sender"} {
		p, ok := checks.Profile(id)
		if !ok || p.Title != title || len(p.Checks) < 7 {
			t.Errorf("profile %s = %+v, %v; want %q with the connector's checks", id, p, ok, title)
		}
	}
}
