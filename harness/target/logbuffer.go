package target

import (
	"bytes"
	"strconv"
	"sync"
)

// logBuffer keeps the last max bytes written to it: provider logs for the report, bounded
// so that a chatty provider cannot exhaust memory or bloat results.json.
//
// Writes append; the buffer is cut back to max only when it has grown to twice that, in
// place, so that a provider logging every call costs a copy of the tail once per max bytes
// rather than on every line.
type logBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int
}

const defaultLogMax = 256 << 10

func newLogBuffer(max int) *logBuffer { return &logBuffer{max: max} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.max {
		b.trim()
	}
	return len(p), nil
}

// trim keeps the last max bytes, cut at a line boundary so that the tail starts with a whole
// line (unless no line ends within 4 KiB of the cut).
func (b *logBuffer) trim() {
	over := len(b.buf) - b.max
	if over <= 0 {
		return
	}
	cut := over
	if i := bytes.IndexByte(b.buf[over:], '\n'); i >= 0 && i < 4096 {
		cut = over + i + 1
	}
	b.dropped += cut
	b.buf = b.buf[:copy(b.buf, b.buf[cut:])]
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trim()
	if b.dropped > 0 {
		return "[... " + strconv.Itoa(b.dropped) + " earlier bytes dropped ...]\n" + string(b.buf)
	}
	return string(b.buf)
}
