package driver

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Timeouts bound a driver's work. Call bounds every single RPC; Task bounds waiting for one
// operation to finish (polling a task, or a transitional state to end). Zero means "only the
// context's own deadline".
type Timeouts struct {
	Call time.Duration
	Task time.Duration
}

type timeoutsKey struct{}

// WithTimeouts attaches per-call and per-task bounds to ctx. The Driver interface only takes
// a context, so the bounds travel with it: one context deadline cannot express "each poll
// within 10s, the whole wait within 60s".
func WithTimeouts(ctx context.Context, t Timeouts) context.Context {
	return context.WithValue(ctx, timeoutsKey{}, t)
}

func timeoutsFrom(ctx context.Context) Timeouts {
	t, _ := ctx.Value(timeoutsKey{}).(Timeouts)
	return t
}

// callContext bounds one RPC by the call timeout carried in ctx.
func callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d := timeoutsFrom(ctx).Call; d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return context.WithCancel(ctx)
}

// waitContext bounds a whole wait by the task timeout carried in ctx.
func waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d := timeoutsFrom(ctx).Task; d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return context.WithCancel(ctx)
}

// expired reports whether ctx is done or past its deadline. An RPC bounded by the same
// deadline can fail a moment before ctx's own timer fires; that still counts as the wait
// running out, not as an answer of the provider.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// TaskRecord is one operation a driver waited for.
type TaskRecord struct {
	// Call names the request that started it, e.g. "Power(id=vm-1, op=ON)".
	Call string
	// ID is the task id; empty when the call finished synchronously.
	ID     string
	Done   bool
	Error  string
	Polls  int
	Waited time.Duration
}

// TaskLog collects the tasks a driver waited for under one context, so that a scenario can
// state facts about every task it caused. Safe for concurrent use.
type TaskLog struct {
	mu      sync.Mutex
	records []TaskRecord
}

// Records returns a copy of what was logged, in order.
func (l *TaskLog) Records() []TaskRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]TaskRecord(nil), l.records...)
}

func (l *TaskLog) add(r TaskRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
}

type taskLogKey struct{}

// WithTaskLog makes drivers record every task they wait for under ctx into log.
func WithTaskLog(ctx context.Context, log *TaskLog) context.Context {
	return context.WithValue(ctx, taskLogKey{}, log)
}

func logTask(ctx context.Context, r TaskRecord) {
	if l, ok := ctx.Value(taskLogKey{}).(*TaskLog); ok && l != nil {
		l.add(r)
	}
}

// TaskError reports an operation that was accepted but did not finish well: its task
// reported an error, or it did not finish within the task timeout.
type TaskError struct {
	Call    string
	ID      string
	Message string
	// TimedOut is true when the wait ended before the operation finished.
	TimedOut bool
	Waited   time.Duration
}

func (e *TaskError) Error() string {
	if e.TimedOut {
		return fmt.Sprintf("%s: task %q not finished after %s: %s", e.Call, e.ID, e.Waited.Round(time.Millisecond), e.Message)
	}
	return fmt.Sprintf("%s: task %q failed: %s", e.Call, e.ID, e.Message)
}

// backoff yields the pauses between polls: fast at first, because the reference provider
// finishes in microseconds, capped so that a slow provider is not hammered.
type backoff struct{ next time.Duration }

const (
	pollFirst = 2 * time.Millisecond
	pollCap   = 200 * time.Millisecond
)

func (b *backoff) wait(ctx context.Context) error {
	if b.next == 0 {
		b.next = pollFirst
	}
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(b.next*2, pollCap)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
