package main

import (
	"context"
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
                           [--orgnr N] [--seed S] [--token T]

Sends a supplier's event stream through the welfare-technology hub (the vkp
connector, served with --connectors vkp) of a running sandbox: a night of a
fall-sensor patient for persona-home-care (sensor alarms, each reported,
handled, acknowledged and journaled; a camera supervision; the dispenser),
a week of home measurements for the other personas. Throttled (429) and
unavailable (503) answers are retried after their Retry-After.
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
	fs.StringVar(&cfg.Token, "token", "", "an access token to send as a bearer token")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed := 0
	_, err := sim.Run(ctx, cfg, func(ev sim.Event) {
		retries := ""
		if ev.Retries > 0 {
			retries = fmt.Sprintf(" (after %d retries)", ev.Retries)
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
