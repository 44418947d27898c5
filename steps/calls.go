package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/steps/driver"
)

// op is the context of one driver operation: the step's context bounded by the run's call
// and task timeouts, with the scenario's task log attached.
func (st *scenario) op(ctx context.Context) (context.Context, context.CancelFunc) {
	t := st.s.timeouts()
	ctx = driver.WithTaskLog(driver.WithTimeouts(ctx, t), st.tasks)
	return context.WithTimeout(ctx, t.Call+t.Task)
}

// read is the context of one read-only call: the call timeout only.
func (st *scenario) read(ctx context.Context) (context.Context, context.CancelFunc) {
	t := st.s.timeouts()
	return context.WithTimeout(driver.WithTimeouts(ctx, driver.Timeouts{Call: t.Call}), t.Call)
}

// failf prefixes a failure with the requirement ID, so every message names its rule.
func (st *scenario) failf(format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{st.req}, args...)...)
}

// expectOK turns a call's error into the suite's failure message, or nil.
func (st *scenario) expectOK(call string, err error) error {
	if err == nil {
		return nil
	}
	return st.failf("%s: expected OK, got %s", call, answer(err))
}

// answer describes how a provider answered, for failure messages: "OK", a gRPC code with
// its message, a task failure, or a missing answer.
func answer(err error) string {
	if err == nil {
		return "OK"
	}
	var te *driver.TaskError
	if errors.As(err, &te) {
		return "task failure (" + te.Error() + ")"
	}
	if errors.Is(err, driver.ErrNotExpressible) {
		return "nothing: the dialect cannot express it (" + err.Error() + ")"
	}
	if s, ok := status.FromError(err); ok {
		msg := s.Message()
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		if s.Code() == codes.DeadlineExceeded {
			return "DeadlineExceeded (no answer in time: " + msg + ")"
		}
		return fmt.Sprintf("%s (%s)", s.Code(), msg)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time (" + err.Error() + ")"
	}
	return "error (" + err.Error() + ")"
}

// codeOf is the gRPC code of an answer; task failures and local errors have none.
func codeOf(err error) (codes.Code, bool) {
	if err == nil {
		return codes.OK, true
	}
	var te *driver.TaskError
	if errors.As(err, &te) || errors.Is(err, driver.ErrNotExpressible) {
		return codes.Unknown, false
	}
	if s, ok := status.FromError(err); ok {
		return s.Code(), true
	}
	return codes.Unknown, false
}

// expectCode judges an answer against the code a rule requires.
func (st *scenario) expectCode(a attempt, want codes.Code) error {
	got, ok := codeOf(a.err)
	if ok && (got == want || slices.Contains(a.accept, got)) {
		return nil
	}
	if a.hint != "" {
		return st.failf("%s: expected %s, got %s (%s)", a.call, want, answer(a.err), a.hint)
	}
	return st.failf("%s: expected %s, got %s", a.call, want, answer(a.err))
}

// parseCode reads the code names the feature files use.
func parseCode(name string) (codes.Code, error) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if c.String() == name {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown gRPC code %q", name)
}

// listVMs reads the VM list for a Then step; a failed list fails the step.
func (st *scenario) listVMs(ctx context.Context) ([]driver.VM, error) {
	rctx, cancel := st.read(ctx)
	defer cancel()
	vms, err := st.d.List(rctx)
	if err != nil {
		return nil, st.failf("ListVMs: expected OK, got %s", answer(err))
	}
	return vms, nil
}

// alive checks that the provider still answers a read within the call timeout; after a bad
// request it names the request that wedged the provider.
func (st *scenario) alive(ctx context.Context, after string) error {
	rctx, cancel := st.read(ctx)
	defer cancel()
	start := time.Now()
	if _, err := st.d.List(rctx); err != nil {
		return st.failf("provider unresponsive after %s: ListVMs answered %s after %s", after, answer(err), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func joinFailures(st *scenario, what string, failures []string) error {
	if len(failures) == 0 {
		return nil
	}
	return st.failf("%s:\n  %s", what, strings.Join(failures, "\n  "))
}
