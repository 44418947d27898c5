package tasks

import (
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestTaskLifecycle(t *testing.T) {
	c := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := New(Options{TTL: time.Minute, Now: c.Now})

	now := r.Start(time.Time{})
	later := r.Start(c.Now().Add(10 * time.Second))
	if done, ok := r.Done(now); !ok || !done {
		t.Fatalf("immediate task: done=%v ok=%v", done, ok)
	}
	if done, ok := r.Done(later); !ok || done {
		t.Fatalf("pending task: done=%v ok=%v", done, ok)
	}
	c.Advance(10 * time.Second)
	if done, ok := r.Done(later); !ok || !done {
		t.Fatalf("task at its deadline: done=%v ok=%v", done, ok)
	}
	if _, ok := r.Done("no-such-task"); ok {
		t.Fatal("unknown task found")
	}
	// The TTL counts from the end of the task.
	c.Advance(55 * time.Second)
	if _, ok := r.Done(now); ok {
		t.Fatal("expired task still found")
	}
	if _, ok := r.Done(later); !ok {
		t.Fatal("task expired before TTL after its end")
	}
	c.Advance(5 * time.Second)
	if _, ok := r.Done(later); ok {
		t.Fatal("expired task still found")
	}
	r.Start(time.Time{})
	if n := r.Len(); n != 1 {
		t.Fatalf("expired tasks not evicted: %d kept", n)
	}
}

func TestTaskBound(t *testing.T) {
	r := New(Options{Max: 3})
	ids := []string{r.Start(time.Time{}), r.Start(time.Time{}), r.Start(time.Time{}), r.Start(time.Time{})}
	if r.Len() != 3 {
		t.Fatalf("kept %d tasks, max 3", r.Len())
	}
	if _, ok := r.Done(ids[0]); ok {
		t.Fatal("the oldest task was not evicted")
	}
	for _, id := range ids[1:] {
		if _, ok := r.Done(id); !ok {
			t.Fatalf("task %s evicted too early", id)
		}
	}
}

func TestConcurrentTasks(t *testing.T) {
	r := New(Options{Max: 50})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				id := r.Start(time.Time{})
				r.Done(id)
			}
		})
	}
	wg.Wait()
	if r.Len() > 50 {
		t.Fatalf("kept %d tasks, max 50", r.Len())
	}
}
