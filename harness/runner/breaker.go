package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A provider that stops answering (the upstream mock deadlocks after a bad request) would
// otherwise cost every remaining call its whole timeout: a hundred scenarios, minutes each.
// The breaker watches the run's connection: after breakerThreshold calls in a row ran into
// their deadline, it fails further calls at once with Unavailable, naming the call that first
// went unanswered, and lets one call through every breakerProbeEvery to see whether the
// provider is back. Any answer, error or not, closes it again.
const (
	breakerThreshold  = 3
	breakerProbeEvery = 5 * time.Second
)

type breaker struct {
	now func() time.Time
	// run is the run's context: once it is done (interrupted, out of tests.timeout), calls
	// end because the suite stopped them, which says nothing about the provider.
	run context.Context

	mu        sync.Mutex
	misses    int       // calls in a row that ran into their deadline
	first     string    // the first of them
	firstAt   time.Time // and when it was sent
	open      bool
	probing   bool      // a call is through while open
	lastProbe time.Time // when a call last went through while open
	opened    string    // why it first opened, for the report
}

func newBreaker(run context.Context) *breaker { return &breaker{now: time.Now, run: run} }

// interceptor is the breaker as a gRPC client interceptor.
func (b *breaker) interceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if err := b.admit(); err != nil {
		return err
	}
	sent := b.now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	b.record(method, sent, err, ctx.Err())
	return err
}

// admit lets a call through, or refuses it while the breaker is open (one probe excepted).
func (b *breaker) admit() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return nil
	}
	if !b.probing && b.now().Sub(b.lastProbe) >= breakerProbeEvery {
		b.probing, b.lastProbe = true, b.now()
		return nil
	}
	return status.Errorf(codes.Unavailable, "vcts: not calling the provider: it answered none of the last %d calls "+
		"within their deadlines (the first: %s, sent %s ago)", b.misses, b.first, b.now().Sub(b.firstAt).Round(time.Millisecond))
}

// record counts a call that went unanswered until its deadline; any answer resets the count.
// A call the caller cancelled says nothing about the provider.
func (b *breaker) record(method string, sent time.Time, err, ctxErr error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if b.run.Err() != nil {
		return
	}
	timedOut := status.Code(err) == codes.DeadlineExceeded && ctxErr == context.DeadlineExceeded
	if !timedOut {
		if ctxErr == context.Canceled {
			return
		}
		b.misses, b.open = 0, false
		return
	}
	if b.misses == 0 {
		b.first, b.firstAt = method, sent
	}
	b.misses++
	if b.misses >= breakerThreshold && !b.open {
		b.open, b.lastProbe = true, b.now()
		if b.opened == "" {
			b.opened = fmt.Sprintf("the provider stopped answering: %d calls in a row got no answer within their deadlines "+
				"(the first: %s); further calls failed at once instead of waiting, with a retry every %s",
				b.misses, b.first, breakerProbeEvery)
		}
	}
}

// tripped is the reason the breaker first opened during the run, or "".
func (b *breaker) tripped() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opened
}
