// Package mllp frames messages in the Minimal Lower Layer Protocol (HL7 v2
// over TCP): a start byte 0x0B, the message, and the end bytes 0x1C 0x0D.
// It reads and writes frames only; it does not parse HL7 v2 or serve
// connections (connectors do, through package connectors).
package mllp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The framing bytes.
const (
	StartBlock = 0x0B
	EndBlock   = 0x1C
	CR         = 0x0D
)

// DefaultMaxFrame bounds a message when a Reader is given no bound.
const DefaultMaxFrame = 1 << 20

// ErrFrame is wrapped by errors about bytes that are not a frame.
var ErrFrame = errors.New("mllp: malformed frame")

// ErrTooLarge is wrapped when a message exceeds the Reader's bound.
var ErrTooLarge = errors.New("mllp: frame too large")

// Reader reads frames from a stream.
type Reader struct {
	r   *bufio.Reader
	max int
}

// NewReader returns a Reader of r keeping messages up to max bytes
// (DefaultMaxFrame when max is not positive).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Reader{r: bufio.NewReader(r), max: max}
}

// ReadFrame returns the next message without its framing. Bytes between
// frames other than CR and LF are an error wrapping ErrFrame; io.EOF means
// the stream ended cleanly between frames, io.ErrUnexpectedEOF inside one.
// After an error wrapping ErrTooLarge or ErrFrame the stream is out of step
// and should be closed.
func (r *Reader) ReadFrame() ([]byte, error) {
	for {
		b, err := r.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b == StartBlock {
			break
		}
		if b != '\r' && b != '\n' {
			return nil, fmt.Errorf("%w: byte 0x%02x outside a frame", ErrFrame, b)
		}
	}
	var msg []byte
	for {
		chunk, err := r.r.ReadSlice(EndBlock)
		if len(msg)+len(chunk) > r.max+1 {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, r.max)
		}
		msg = append(msg, chunk...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, io.ErrUnexpectedEOF
		case err != nil:
			return nil, err
		}
		b, err := r.r.ReadByte()
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		} else if err != nil {
			return nil, err
		}
		if b != CR {
			return nil, fmt.Errorf("%w: end block not followed by a carriage return", ErrFrame)
		}
		msg = msg[:len(msg)-1]
		if bytes.IndexByte(msg, StartBlock) >= 0 {
			return nil, fmt.Errorf("%w: a start block inside a message", ErrFrame)
		}
		return msg, nil
	}
}

// WriteFrame writes msg as one frame. msg must not hold the framing bytes
// 0x0B or 0x1C.
func WriteFrame(w io.Writer, msg []byte) error {
	if bytes.IndexByte(msg, StartBlock) >= 0 || bytes.IndexByte(msg, EndBlock) >= 0 {
		return fmt.Errorf("%w: the message holds a framing byte", ErrFrame)
	}
	buf := make([]byte, 0, len(msg)+3)
	buf = append(buf, StartBlock)
	buf = append(buf, msg...)
	buf = append(buf, EndBlock, CR)
	_, err := w.Write(buf)
	return err
}
