package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"hpsandbox/connectors/mtu/devicesim"
)

// phdRun is a `devices simulate --as phd` run.
type phdRun struct {
	dev                          *devicesim.Device
	kind, target, sandbox, token string
	patient                      string
	rate                         float64
	duration                     time.Duration
	readings                     int // 0: until duration ends
	clock                        func(i int) time.Time
}

// fhirBase is the FHIR base of a sandbox under the server's root URL.
func fhirBase(root, sandbox string) string {
	root = strings.TrimRight(root, "/")
	if sandbox == "" || sandbox == "default" {
		return root + "/fhir"
	}
	return root + "/sandboxes/" + sandbox + "/fhir"
}

// simulatePHD uploads one PHD transaction Bundle a reading to the sandbox's
// FHIR base and tallies the answers: a 200 transaction-response is taken;
// anything else is told with its OperationOutcome and counted refused.
func simulatePHD(ctx context.Context, run phdRun, stdout io.Writer) error {
	base := fhirBase(run.target, run.sandbox)
	client := &http.Client{Timeout: 30 * time.Second}
	fmt.Fprintf(stdout, "%s phd (system id %s) → %s, patient %s, %.3g readings/s for %s\n",
		run.kind, run.dev.SystemID(), base, run.patient, run.rate, run.duration)
	tick := time.NewTicker(time.Duration(float64(time.Second) / run.rate))
	defer tick.Stop()
	end := time.After(run.duration)
	sent, taken := 0, 0
	for i := 0; ; i++ {
		body, err := run.dev.NextPHD(run.clock(i))
		if err != nil {
			return fmt.Errorf("--device: %w", err)
		}
		sent++
		status, why, err := postBundle(ctx, client, base, run.token, body)
		switch {
		case err != nil:
			return fmt.Errorf("cannot reach the sandbox's FHIR API at %s: %w (serve the sandbox, or give --target)", base, err)
		case status == http.StatusOK:
			taken++
		default:
			fmt.Fprintf(stdout, "upload %d: %d %s\n", sent, status, why)
			if status == http.StatusUnauthorized || status == http.StatusForbidden {
				return fmt.Errorf("%w: %d %s (give --token, an access token that may create Device, Patient and Observation)", errNotAccepted, status, why)
			}
		}
		if run.readings > 0 && sent >= run.readings {
			return phdSummary(stdout, sent, taken)
		}
		select {
		case <-ctx.Done():
			return phdSummary(stdout, sent, taken)
		case <-end:
			return phdSummary(stdout, sent, taken)
		case <-tick.C:
		}
	}
}

func phdSummary(stdout io.Writer, sent, taken int) error {
	fmt.Fprintf(stdout, "sent %d uploads: %d taken, %d refused\n", sent, taken, sent-taken)
	if taken < sent {
		return fmt.Errorf("%w: %d of %d", errNotAccepted, sent-taken, sent)
	}
	return nil
}

// postBundle POSTs a transaction Bundle and returns the status and, for a
// refusal, what its OperationOutcome says.
func postBundle(ctx context.Context, client *http.Client, base, token string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var out struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Issue        []struct {
			Diagnostics string `json:"diagnostics"`
			Code        string `json:"code"`
		} `json:"issue"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
	if resp.StatusCode == http.StatusOK && out.Type != "transaction-response" {
		return http.StatusBadGateway, "the answer is no transaction-response", nil
	}
	var why []string
	for _, is := range out.Issue {
		why = append(why, strings.TrimSpace(is.Code+": "+is.Diagnostics))
	}
	return resp.StatusCode, strings.Join(why, "; "), nil
}
