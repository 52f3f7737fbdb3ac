// Package hl7v2 reads and writes HL7 version 2 messages in their ER7
// ("pipe and hat") encoding: segments, fields, repetitions, components and
// subcomponents under the delimiters the message's MSH declares, and the
// escape sequences of HL7 v2.x chapter 2 (\F\ \S\ \T\ \R\ \E\ and \Xhh…\).
// It builds acknowledgments (ACK with MSA and ERR) for the messages it
// reads.
//
// A Message keeps each segment's text as it arrived: Parse only splits,
// values are unescaped when read (Value.String), so that serialising a
// parsed message gives back its segments byte for byte. It accepts
// versions 2.3 to 2.8, carriage-return segment terminators and, as many
// senders write them, line feeds.
//
// It does not know message structures (which segments an ORU^R01 holds),
// data types beyond splitting them, or tables: the connectors reading a
// message judge that (connectors/mtu). MLLP framing is connectors/mllp's.
package hl7v2
