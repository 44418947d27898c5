package target

import (
	"fmt"
	"strings"
	"testing"
)

func TestLogBufferKeepsTheTailFromALineBoundary(t *testing.T) {
	b := newLogBuffer(1000)
	var all strings.Builder
	for i := range 500 {
		line := fmt.Sprintf("line %03d of the provider's log\n", i)
		all.WriteString(line)
		if _, err := b.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if len(b.buf) > 2*1000+len(line) {
			t.Fatalf("after %d lines the buffer holds %d bytes, more than twice its bound", i+1, len(b.buf))
		}
	}
	got := b.String()
	header, kept, ok := strings.Cut(got, "\n")
	if !ok || !strings.HasPrefix(header, "[... ") {
		t.Fatalf("no dropped-bytes header: %q", got[:min(len(got), 80)])
	}
	if len(kept) > 1000 || len(kept) < 1000-40 {
		t.Errorf("kept %d bytes, want the last 1000 or slightly fewer (cut at a line)", len(kept))
	}
	if !strings.HasPrefix(kept, "line ") || !strings.HasSuffix(all.String(), kept) {
		t.Errorf("the kept bytes are not the log's whole last lines: %q", kept[:40])
	}
	dropped := fmt.Sprintf("[... %d earlier bytes dropped ...]", all.Len()-len(kept))
	if header != dropped {
		t.Errorf("header %q, want %q", header, dropped)
	}
	if b.String() != got {
		t.Error("a second String() differs from the first")
	}
}

func TestLogBufferUnderItsBoundKeepsEverything(t *testing.T) {
	b := newLogBuffer(1 << 10)
	_, _ = b.Write([]byte("one\n"))
	_, _ = b.Write([]byte("two\n"))
	if got := b.String(); got != "one\ntwo\n" {
		t.Errorf("String() = %q", got)
	}
}

// BenchmarkLogBufferWrite: a provider that logs every call writes a line per RPC into a full
// buffer; a write must not cost a copy of the whole buffer.
func BenchmarkLogBufferWrite(b *testing.B) {
	buf := newLogBuffer(defaultLogMax)
	line := []byte(`time=2026-11-26T11:45:43Z level=INFO msg=rpc method=/provider.v1.Provider/Describe code=OK duration=81µs request_id=0f8c2d3a` + "\n")
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		_, _ = buf.Write(line)
	}
}
