package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"hpsandbox/connectors/vkp/sim"
)

const vkpUsage = `usage: sandbox vkp simulate [--target URL] [--sandbox ID] [--persona ID] [--events N]
                           [--orgnr N] [--seed S] [--client-id ID --key FILE [--key-id K] [--scope S] | --token T]

Sends a supplier's event stream through the welfare-technology hub (the vkp
connector, served with --connectors vkp) of a running sandbox: a night of a
fall-sensor patient for persona-home-care (sensor alarms, each reported,
handled, acknowledged and journaled; a camera supervision; the dispenser),
a week of home measurements for the other personas. Throttled (429) and
unavailable (503) answers are retried after their Retry-After.

With --client-id and --key (a PEM private key whose public key the app
registered, HelseID profile, DPoP-bound tokens) it gets DPoP-bound tokens
from the sandbox's authorization server and sends every request with a
DPoP proof, following the server's nonce challenges; --token sends a bearer
token instead, for an app that is not DPoP-bound.
`

// vkpCmd is `sandbox vkp simulate …`.
func vkpCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "simulate" {
		fmt.Fprint(stderr, vkpUsage)
		return errors.New("vkp: the subcommand is simulate")
	}
	fs := flag.NewFlagSet("vkp simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := sim.Config{}
	fs.StringVar(&cfg.Target, "target", "http://127.0.0.1:8080", "the sandbox server's root URL")
	fs.StringVar(&cfg.Sandbox, "sandbox", "default", "the sandbox to send to")
	fs.StringVar(&cfg.Persona, "persona", "persona-home-care", "the patient (a persona's id) the events are about")
	fs.IntVar(&cfg.Events, "events", 11, "how many submissions to send")
	fs.StringVar(&cfg.OrgNumber, "orgnr", "", "the receiving municipality's organisation number (default: the patient's municipality)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the stream's values")
	fs.StringVar(&cfg.Token, "token", "", "an access token to send as a bearer token (an app that is not DPoP-bound)")
	fs.StringVar(&cfg.ClientID, "client-id", "", "client id of the HelseID app (with --key): DPoP-bound tokens")
	keyFile := fs.String("key", "", "PEM file of the app's private key (RSA, or ECDSA on P-256 or P-384)")
	fs.StringVar(&cfg.KeyID, "key-id", "", "kid of the key in the app's JWKS (default: its RFC 7638 thumbprint)")
	fs.StringVar(&cfg.Scope, "scope", "", "scopes to ask for (default: the hub's write scopes and system/Patient.rs)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("--key: %w", err)
		}
		if cfg.Key, err = parseSimKey(b); err != nil {
			return fmt.Errorf("--key %s: %w", *keyFile, err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed := 0
	_, err := sim.Run(ctx, cfg, func(ev sim.Event) {
		retries := ""
		if ev.Retries > 0 {
			retries = fmt.Sprintf(" (after %d retries)", ev.Retries)
		}
		if ev.NonceRetries > 0 {
			retries += fmt.Sprintf(" (%d DPoP nonce challenges)", ev.NonceRetries)
		}
		if ev.Status != 200 {
			failed++
		}
		fmt.Fprintf(stdout, "%s  %-12s %-40s %d%s\n", ev.At.Format("2006-01-02 15:04"), ev.Kind, ev.What, ev.Status, retries)
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("vkp: %d of %d submissions were not accepted", failed, cfg.Events)
	}
	return nil
}

// parseSimKey reads a PEM private key: PKCS #8, PKCS #1 or SEC 1.
func parseSimKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("the file holds no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("a PEM %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T key cannot sign", key)
	}
	return signer, nil
}
