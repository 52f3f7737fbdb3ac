package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"hpsandbox/connectors/hl7v2"
	"hpsandbox/connectors/mllp"
	"hpsandbox/connectors/mtu"
	"hpsandbox/connectors/mtu/devicesim"
)

// errNotAccepted reports that the sandbox refused simulated messages.
var errNotAccepted = errors.New("messages were not accepted")

// devicesCmd is `sandbox devices simulate …`: a simulated device sends its
// readings to a sandbox, and the command says how many were taken:
//
//   - --as pcd01 (the default): to the sandbox's device-feed listener (the
//     mtu connector, served with --connectors mtu --connector-listen
//     mtu=127.0.0.1:2575@SANDBOX) as IHE PCD-01 over MLLP, waiting for
//     each ACK;
//   - --as phd: as a Personal Health Gateway uploads by the HL7 PHD IG,
//     one FHIR transaction Bundle a reading POSTed to the sandbox's FHIR
//     base (--target, with --token when the sandbox is secured).
//
// --start stamps the readings from a fixed time instead of the clock and
// --readings bounds them, so that a run made again with the same seed
// sends the same readings (a resend: the PHD uploads' conditional creates
// make nothing twice).
func devicesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "simulate" {
		return fmt.Errorf("usage: sandbox devices simulate --patient ID --device %s [--sandbox ID] [--rate N] [--duration D] [--readings N] [--start TIME] [--as pcd01|phd] [--addr HOST:PORT] [--target URL] [--token T]", devicesim.Kinds)
	}
	fl := flag.NewFlagSet("devices simulate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	sandboxID := fl.String("sandbox", "default", "the sandbox the listener writes to, named in MSH-6")
	patientID := fl.String("patient", "", "the patient's identifier: a national identity number, or system|value")
	kind := fl.String("device", string(devicesim.PulseOximeter), fmt.Sprintf("the device: one of %s", devicesim.Kinds))
	rate := fl.Float64("rate", 1, "readings per second")
	duration := fl.Duration("duration", 10*time.Second, "how long to send")
	as := fl.String("as", "pcd01", "what to send: pcd01 (IHE PCD-01/PCD-04, HL7 v2 over MLLP) or phd (HL7 PHD IG transaction Bundles through the FHIR API)")
	addr := fl.String("addr", mtu.DefaultAddr, "the MLLP listener (host:port) of the sandbox's mtu connector (--as pcd01)")
	target := fl.String("target", "http://127.0.0.1:8080", "the sandbox server's root URL (--as phd)")
	token := fl.String("token", "", "an access token sent as a bearer token (--as phd; a secured sandbox needs one that may create Device, Patient and Observation)")
	readings := fl.Int("readings", 0, "stop after this many readings (0: when --duration ends)")
	startAt := fl.String("start", "", "stamp the readings from this time (RFC 3339, e.g. 2026-03-01T08:00:00+01:00) instead of the clock")
	seed := fl.Uint64("seed", 1, "seed of the device's identity and readings")
	artefacts := fl.Float64("artefacts", 0.02, "share of readings that are artefacts (0 for none)")
	if err := fl.Parse(args[1:]); err != nil {
		return err
	}
	switch {
	case *as != "pcd01" && *as != "phd":
		return fmt.Errorf("--as %s: give pcd01 or phd", *as)
	case *rate <= 0 || *rate > 10000:
		return fmt.Errorf("--rate %v: give readings per second, more than 0 and at most 10000", *rate)
	case *duration <= 0:
		return fmt.Errorf("--duration %v: give a positive duration, e.g. 30s", *duration)
	case *readings < 0:
		return fmt.Errorf("--readings %d: give how many readings to send, or 0 for as many as --duration allows", *readings)
	}
	var clock func(i int) time.Time
	interval := time.Duration(float64(time.Second) / *rate)
	if *startAt == "" {
		clock = func(int) time.Time { return time.Now() }
	} else {
		t0, err := time.Parse(time.RFC3339, *startAt)
		if err != nil {
			return fmt.Errorf("--start %q: give an RFC 3339 time with a zone, e.g. 2026-03-01T08:00:00+01:00", *startAt)
		}
		clock = func(i int) time.Time { return t0.Add(time.Duration(i) * interval) }
	}
	patient, err := devicesim.ParsePatient(*patientID)
	if err != nil {
		return fmt.Errorf("--patient: %w", err)
	}
	art := *artefacts
	if art == 0 {
		art = -1
	}
	dev, err := devicesim.New(devicesim.Config{Kind: devicesim.Kind(*kind), Patient: patient, Seed: *seed, Sandbox: *sandboxID, ArtefactRate: art})
	if err != nil {
		return fmt.Errorf("--device: %w", err)
	}
	if *as == "phd" {
		return simulatePHD(ctx, phdRun{dev: dev, kind: *kind, target: *target, sandbox: *sandboxID, token: *token,
			patient: patient.Value, rate: *rate, duration: *duration, readings: *readings, clock: clock}, stdout)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot reach the device listener at %s (%w): serve the sandbox with --connectors mtu --connector-listen mtu=%s@%s", *addr, err, *addr, *sandboxID)
	}
	defer conn.Close()
	context.AfterFunc(ctx, func() { conn.Close() })
	r := mllp.NewReader(conn, 0)
	sim := &simulation{stdout: stdout, codes: map[string]int{}}
	ids := strconv.FormatInt(time.Now().UnixMilli(), 36)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	end := time.After(*duration)
	fmt.Fprintf(stdout, "%s %s (EUI-64 %s) → %s, sandbox %s, patient %s, %.3g readings/s for %s\n",
		*kind, *as, dev.EUI64(), *addr, *sandboxID, patient.Value, *rate, *duration)
	for i := 0; ; i++ {
		for _, msg := range dev.Next(clock(i), ids) {
			if err := sim.send(conn, r, msg); err != nil {
				return err
			}
		}
		if *readings > 0 && i+1 >= *readings {
			return sim.summary()
		}
		select {
		case <-ctx.Done():
			return sim.summary()
		case <-end:
			return sim.summary()
		case <-tick.C:
		}
	}
}

// simulation tallies the ACKs.
type simulation struct {
	stdout io.Writer
	sent   int
	codes  map[string]int
}

func (s *simulation) send(conn net.Conn, r *mllp.Reader, msg []byte) error {
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := mllp.WriteFrame(conn, msg); err != nil {
		return fmt.Errorf("sending: %w", err)
	}
	s.sent++
	ans, err := r.ReadFrame()
	if err != nil {
		return fmt.Errorf("no ACK for message %d: %w", s.sent, err)
	}
	ack, err := hl7v2.Parse(ans)
	if err != nil {
		return fmt.Errorf("the answer to message %d is no ACK: %w", s.sent, err)
	}
	code := ack.Segment("MSA").Get(1, 1)
	s.codes[code]++
	if code != hl7v2.AA {
		m, _ := hl7v2.Parse(msg)
		fmt.Fprintf(s.stdout, "%s %s: %s", m.Segment("MSH").Get(9, 2), m.Segment("MSH").Field(10).String(), code)
		for _, seg := range ack.Segments {
			if seg.Name == "ERR" {
				fmt.Fprintf(s.stdout, "; %s (%s)", seg.Field(8).String(), seg.Get(3, 1))
			}
		}
		fmt.Fprintln(s.stdout)
	}
	return nil
}

func (s *simulation) summary() error {
	fmt.Fprintf(s.stdout, "sent %d messages: %d AA, %d AE, %d AR\n", s.sent, s.codes[hl7v2.AA], s.codes[hl7v2.AE], s.codes[hl7v2.AR])
	if refused := s.sent - s.codes[hl7v2.AA]; refused > 0 {
		return fmt.Errorf("%w: %d of %d", errNotAccepted, refused, s.sent)
	}
	return nil
}
