// Package tasks keeps the tasks that the v1 wire protocol hands out for mutating calls.
//
// The provider's operations are durable before the RPC returns; what a task tracks is the end
// of the simulated transition the operation started (a VM booting after Create or Clone,
// rebooting after REBOOT). A task is therefore just a deadline: done once the clock passes it.
// Tasks live in memory only, for TTL after they end, and at most Max of them are kept (the
// oldest go first); an expired or evicted task is unknown (NotFound), like one that never
// existed. After a restart every earlier task is unknown.
package tasks

import (
	"sync"
	"time"

	"github.com/vctsio/vcts/providers/file/domain"
)

// Defaults for Options.
const (
	DefaultTTL = time.Hour
	DefaultMax = 100_000
)

// Options configure a Registry. Zero values mean the defaults.
type Options struct {
	TTL time.Duration
	Max int
	Now func() time.Time
}

// Registry is a bounded set of tasks; safe for concurrent use.
type Registry struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	tasks map[string]task
	// fifo holds ids in creation order, for eviction. Expiry times are not monotonic (a
	// long transition may be followed by a short one), so expiry is also checked on read.
	fifo []string
}

type task struct {
	doneAt  time.Time
	expires time.Time
}

// New returns an empty registry.
func New(opts Options) *Registry {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Max <= 0 {
		opts.Max = DefaultMax
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Registry{ttl: opts.TTL, max: opts.Max, now: opts.Now, tasks: make(map[string]task)}
}

// Start records a task that is done at doneAt (done at once when doneAt is not after now)
// and returns its id.
func (r *Registry) Start(doneAt time.Time) string {
	id := domain.NewID()
	now := r.now()
	end := doneAt
	if end.Before(now) {
		end = now
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evict(now)
	r.tasks[id] = task{doneAt: doneAt, expires: end.Add(r.ttl)}
	r.fifo = append(r.fifo, id)
	return id
}

// Done reports whether a task is done. Operations fail before a task is handed out, never
// after, so a known task has no error to report. ok is false for an unknown, expired or
// evicted task.
func (r *Registry) Done(id string) (done, ok bool) {
	now := r.now()
	r.mu.Lock()
	t, ok := r.tasks[id]
	r.mu.Unlock()
	if !ok || !now.Before(t.expires) {
		return false, false
	}
	return !now.Before(t.doneAt), true
}

// Len is the number of tasks kept, expired ones not yet evicted included.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.tasks)
}

// evict drops tasks from the front of the queue while they are expired or too many.
// Callers hold mu.
func (r *Registry) evict(now time.Time) {
	n := 0
	for n < len(r.fifo) {
		id := r.fifo[n]
		t, ok := r.tasks[id]
		if ok && now.Before(t.expires) && len(r.tasks) < r.max {
			break
		}
		delete(r.tasks, id)
		n++
	}
	// Re-slicing is amortised O(1): the next growing append copies only live ids.
	r.fifo = r.fifo[n:]
}
