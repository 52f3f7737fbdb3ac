// Package postgres is the server backend of fhirstore: PostgreSQL through
// pgx's database/sql driver, for gateways that share one database. Schema
// and queries are fhirstore/sqlstore's, as for the embedded SQLite store;
// this package only chooses the dialect and opens the database well.
//
// It is selected by a postgres:// URL as the store setting (--store,
// HPS_STORE); SQLite in the data directory stays the default.
package postgres
