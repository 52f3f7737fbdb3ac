package conformance

import (
	"context"
	"errors"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// ErrSealed is wrapped by the error of a write to an approved report.
var ErrSealed = errors.New("conformance: the report is approved and sealed")

// SealedFunc reports whether the TestReport id of sandbox is the sealed
// report of an approved run (tenant.Service.Sealed).
type SealedFunc func(ctx context.Context, sandbox, id string) (bool, error)

// SealedStore is a FHIR store that refuses to update, patch or delete
// (directly, conditionally or inside a transaction or batch) a TestReport
// that Sealed says is approved: every such write reaches the store
// through Update, Delete or ReplaceMeta, here or in a Tx, so the guard
// sits there rather than at each door. The refusal is an
// OperationOutcome, 409 business-rule, naming the report.
//
// Erasing a whole sandbox (reset, delete) does not pass through it; the
// approved report's canonical copy is kept in the tenant registry.
type SealedStore struct {
	fhirstore.Store
	Sealed SealedFunc
}

// Update implements fhirstore.Writer.
func (s SealedStore) Update(ctx context.Context, sb fhirstore.Sandbox, r *fhirjson.Resource, opts fhirstore.UpdateOptions) (*fhirstore.Resource, bool, error) {
	if err := guard(ctx, s.Sealed, sb, r.Type, r.ID); err != nil {
		return nil, false, err
	}
	return s.Store.Update(ctx, sb, r, opts)
}

// Delete implements fhirstore.Writer.
func (s SealedStore) Delete(ctx context.Context, sb fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	if err := guard(ctx, s.Sealed, sb, typ, id); err != nil {
		return nil, err
	}
	return s.Store.Delete(ctx, sb, typ, id)
}

// ReplaceMeta implements fhirstore.Writer: $meta-add and $meta-delete
// change an approved report's tags no more than its content.
func (s SealedStore) ReplaceMeta(ctx context.Context, sb fhirstore.Sandbox, typ, id string, version int64, body []byte) error {
	if err := guard(ctx, s.Sealed, sb, typ, id); err != nil {
		return err
	}
	return s.Store.ReplaceMeta(ctx, sb, typ, id, version, body)
}

// Tx implements fhirstore.Store, guarding the transaction's writes.
func (s SealedStore) Tx(ctx context.Context, fn func(fhirstore.Tx) error) error {
	return s.Store.Tx(ctx, func(tx fhirstore.Tx) error { return fn(sealedTx{tx, s.Sealed}) })
}

type sealedTx struct {
	fhirstore.Tx
	sealed SealedFunc
}

func (t sealedTx) Update(ctx context.Context, sb fhirstore.Sandbox, r *fhirjson.Resource, opts fhirstore.UpdateOptions) (*fhirstore.Resource, bool, error) {
	if err := guard(ctx, t.sealed, sb, r.Type, r.ID); err != nil {
		return nil, false, err
	}
	return t.Tx.Update(ctx, sb, r, opts)
}

func (t sealedTx) Delete(ctx context.Context, sb fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	if err := guard(ctx, t.sealed, sb, typ, id); err != nil {
		return nil, err
	}
	return t.Tx.Delete(ctx, sb, typ, id)
}

func (t sealedTx) ReplaceMeta(ctx context.Context, sb fhirstore.Sandbox, typ, id string, version int64, body []byte) error {
	if err := guard(ctx, t.sealed, sb, typ, id); err != nil {
		return err
	}
	return t.Tx.ReplaceMeta(ctx, sb, typ, id, version, body)
}

func guard(ctx context.Context, sealed SealedFunc, sb fhirstore.Sandbox, typ, id string) error {
	if typ != "TestReport" || sealed == nil {
		return nil
	}
	ok, err := sealed(ctx, string(sb), id)
	if err != nil {
		return err
	}
	if ok {
		return outcome.New(outcome.Conflicting, outcome.BusinessRule,
			"TestReport/%s is the report of an approved conformance run; an approved report cannot be changed or deleted", id).
			At("TestReport").Wrap(ErrSealed)
	}
	return nil
}
