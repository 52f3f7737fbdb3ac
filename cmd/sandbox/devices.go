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
// readings to a sandbox's device-feed listener (the mtu connector, served
// with --connectors mtu --connector-listen mtu=127.0.0.1:2575@SANDBOX) as
// IHE PCD-01 over MLLP, waits for each ACK, and says how many were taken.
func devicesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "simulate" {
		return fmt.Errorf("usage: sandbox devices simulate --patient ID --device %s [--sandbox ID] [--rate N] [--duration D] [--as pcd01] [--addr HOST:PORT]", devicesim.Kinds)
	}
	fl := flag.NewFlagSet("devices simulate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	sandboxID := fl.String("sandbox", "default", "the sandbox the listener writes to, named in MSH-6")
	patientID := fl.String("patient", "", "the patient's identifier: a national identity number, or system|value")
	kind := fl.String("device", string(devicesim.PulseOximeter), fmt.Sprintf("the device: one of %s", devicesim.Kinds))
	rate := fl.Float64("rate", 1, "readings per second")
	duration := fl.Duration("duration", 10*time.Second, "how long to send")
	as := fl.String("as", "pcd01", "what to send: pcd01 (IHE PCD-01/PCD-04, HL7 v2 over MLLP)")
	addr := fl.String("addr", mtu.DefaultAddr, "the MLLP listener (host:port) of the sandbox's mtu connector")
	seed := fl.Uint64("seed", 1, "seed of the device's identity and readings")
	artefacts := fl.Float64("artefacts", 0.02, "share of readings that are artefacts (0 for none)")
	if err := fl.Parse(args[1:]); err != nil {
		return err
	}
	switch {
	case *as != "pcd01":
		return fmt.Errorf("--as %s: only pcd01 is available", *as)
	case *rate <= 0 || *rate > 10000:
		return fmt.Errorf("--rate %v: give readings per second, more than 0 and at most 10000", *rate)
	case *duration <= 0:
		return fmt.Errorf("--duration %v: give a positive duration, e.g. 30s", *duration)
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
	interval := time.Duration(float64(time.Second) / *rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	end := time.After(*duration)
	fmt.Fprintf(stdout, "%s %s (EUI-64 %s) → %s, sandbox %s, patient %s, %.3g readings/s for %s\n",
		*kind, *as, dev.EUI64(), *addr, *sandboxID, patient.Value, *rate, *duration)
	for {
		for _, msg := range dev.Next(time.Now(), ids) {
			if err := sim.send(conn, r, msg); err != nil {
				return err
			}
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
