package main

import (
	"context"

	"hpsandbox/fhirstore/postgres"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox"
)

// openStore opens the FHIR store cfg names: the PostgreSQL database of
// --store, or by default SQLite in the data directory.
func openStore(ctx context.Context, cfg sandbox.Config, opts sqlstore.Options) (*sqlstore.Store, error) {
	if cfg.Store != "" {
		return postgres.Open(ctx, cfg.Store, opts)
	}
	return sqlite.Open(ctx, cfg.DataDir, opts)
}
