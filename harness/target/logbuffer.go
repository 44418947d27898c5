package target

import (
	"strconv"
	"strings"
	"sync"
)

// logBuffer keeps the last max bytes written to it: provider logs for the report, bounded
// so that a chatty provider cannot exhaust memory or bloat results.json.
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
	if over := len(b.buf) - b.max; over > 0 {
		// Cut at a line boundary so the tail starts with a whole line.
		cut := over
		if i := strings.IndexByte(string(b.buf[over:]), '\n'); i >= 0 && i < 4096 {
			cut = over + i + 1
		}
		b.dropped += cut
		b.buf = append(b.buf[:0:0], b.buf[cut:]...)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return "[... " + strconv.Itoa(b.dropped) + " earlier bytes dropped ...]\n" + string(b.buf)
	}
	return string(b.buf)
}
