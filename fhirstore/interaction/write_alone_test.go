package interaction_test

import (
	"context"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
)

// txCounter is a store that counts the transactions it runs.
type txCounter struct {
	fhirstore.Store
	txs int
}

func (s *txCounter) Tx(ctx context.Context, fn func(fhirstore.Tx) error) error {
	s.txs++
	return s.Store.Tx(ctx, fn)
}

// A plain create or update by id goes to the store's own Create or Update,
// which can extract its index rows before it queues for the writer; a
// write that reads in its transaction (a conditional one, or one confined
// to a compartment) runs in a Tx as before.
func TestWrite_PlainCreateAndUpdateRunWithoutTx(t *testing.T) {
	confined := search.ConfineTo(context.Background(), &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "p1"}})
	tests := []struct {
		name   string
		ctx    context.Context
		w      interaction.Write
		wantTx int
	}{
		{"create", context.Background(), interaction.Write{Kind: interaction.Create, Type: "Patient", Body: []byte(`{"resourceType":"Patient","gender":"male"}`)}, 0},
		{"create of the body's type", context.Background(), interaction.Write{Kind: interaction.Create, Body: []byte(`{"resourceType":"Patient","gender":"male"}`)}, 0},
		{"update", context.Background(), interaction.Write{Kind: interaction.Update, Type: "Patient", ID: "p2", Body: []byte(`{"resourceType":"Patient","id":"p2"}`)}, 0},
		{"update with If-Match", context.Background(), interaction.Write{Kind: interaction.Update, Type: "Patient", ID: "p1", IfMatch: 1, Body: []byte(`{"resourceType":"Patient","id":"p1","active":true}`)}, 0},
		{"conditional create", context.Background(), interaction.Write{Kind: interaction.Create, Type: "Patient", IfNoneExist: "gender=female", Body: []byte(`{"resourceType":"Patient","gender":"female"}`)}, 1},
		{"conditional update", context.Background(), interaction.Write{Kind: interaction.ConditionalUpdate, Type: "Patient", Criteria: "gender=other", Body: []byte(`{"resourceType":"Patient","gender":"other"}`)}, 1},
		{"confined update", confined, interaction.Write{Kind: interaction.Update, Type: "Patient", ID: "p1", Body: []byte(`{"resourceType":"Patient","id":"p1","active":false}`)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.put(patientP1)
			counter := &txCounter{Store: f.store}
			eng := interaction.New(counter, interaction.Config{BaseURL: base})
			w := tt.w
			w.Sandbox = sb
			res, err := eng.Write(tt.ctx, &w)
			if err != nil {
				t.Fatal(err)
			}
			if counter.txs != tt.wantTx {
				t.Errorf("%d transactions, want %d", counter.txs, tt.wantTx)
			}
			got, err := f.read(res.Resource.Type, res.Resource.ID)
			if err != nil || got.Version != res.Resource.Version || string(got.Body) != string(res.Resource.Body) {
				t.Errorf("stored %+v (%v), answered %+v", got, err, res.Resource)
			}
		})
	}
}

// A plain update keeps the rules the transaction path had: the id of the
// URL and the body agree, and If-Match names the current version.
func TestWrite_PlainUpdateKeepsItsChecks(t *testing.T) {
	f := newFixture(t)
	f.put(patientP1)
	tests := []struct {
		name string
		w    interaction.Write
		want outcome.Category
	}{
		{"ids differ", interaction.Write{Kind: interaction.Update, Type: "Patient", ID: "p9", Body: []byte(patientP1)}, outcome.Incorrect},
		{"stale If-Match", interaction.Write{Kind: interaction.Update, Type: "Patient", ID: "p1", IfMatch: 7, Body: []byte(patientP1)}, outcome.PreconditionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.write(tt.w)
			if got := category(err); got != tt.want {
				t.Errorf("got %v (%q), want %q", err, got, tt.want)
			}
		})
	}
}
