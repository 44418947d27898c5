package steps

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
)

var capabilitySteps = []phrase{
	{`^I ask the provider for its capabilities$`, askCapabilities},
	{`^the provider reports the same capabilities when asked again$`, sameCapabilities},
	{`^I ask the provider to validate its configuration$`, askValidate},
	{`^the provider reports its configuration as ok$`, validatedOK},
	{`^I try to (take a snapshot of|clone) the VM$`, tryOptionalOperation},
	{`^the answer matches the advertised (snapshot|clone) capability$`, matchesCapability},
}

func askCapabilities(ctx context.Context) error {
	st := current(ctx)
	rctx, cancel := st.op(ctx)
	defer cancel()
	c, err := st.d.Capabilities(rctx)
	if err := st.expectOK("GetCapabilities", err); err != nil {
		return err
	}
	st.caps = &c
	return nil
}

func sameCapabilities(ctx context.Context) error {
	st := current(ctx)
	if st.caps == nil {
		return st.failf("capabilities were not asked for")
	}
	rctx, cancel := st.op(ctx)
	defer cancel()
	again, err := st.d.Capabilities(rctx)
	if err := st.expectOK("GetCapabilities (again)", err); err != nil {
		return err
	}
	if again != *st.caps {
		return st.failf("GetCapabilities changed between two calls: first %s, then %s", st.caps.Raw, again.Raw)
	}
	return nil
}

func askValidate(ctx context.Context) error {
	st := current(ctx)
	rctx, cancel := st.read(ctx)
	defer cancel()
	ok, msg, err := st.d.Validate(rctx)
	if err := st.expectOK("Validate", err); err != nil {
		return err
	}
	st.valid = &validation{ok: ok, message: msg}
	return nil
}

func validatedOK(ctx context.Context) error {
	st := current(ctx)
	if st.valid == nil {
		return st.failf("Validate was not called")
	}
	if !st.valid.ok {
		return st.failf("Validate: expected ok=true, got ok=false (message %q)", st.valid.message)
	}
	return nil
}

// tryOptionalOperation attempts an operation of an optional profile on a real VM; the Then
// step judges the answer against what the provider advertises.
func tryOptionalOperation(ctx context.Context, operation string) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	octx, cancel := st.op(ctx)
	defer cancel()
	switch operation {
	case "take a snapshot of":
		id, err := st.d.SnapshotCreate(octx, ref.id, st.vmName("honesty"))
		st.res.addSnapshot(ref.id, id)
		st.last = &attempt{call: fmt.Sprintf("SnapshotCreate(vm_id=%q)", ref.id), err: err, id: id}
	case "clone":
		target := st.vmName("honesty")
		id, err := st.d.Clone(octx, ref.id, target, nil)
		st.res.addVM(id, target)
		st.last = &attempt{call: fmt.Sprintf("Clone(source_vm_id=%q, target_name=%q)", ref.id, target), err: err, id: id}
	}
	return nil
}

func matchesCapability(ctx context.Context, capability string) error {
	st := current(ctx)
	if st.last == nil {
		return st.failf("no operation was attempted")
	}
	rctx, cancel := st.op(ctx)
	defer cancel()
	c, err := st.d.Capabilities(rctx)
	if err := st.expectOK("GetCapabilities", err); err != nil {
		return err
	}
	advertised := c.Snapshots
	if capability == "clone" {
		advertised = c.Clones
	}
	want := codes.Unimplemented
	if advertised {
		want = codes.OK
	}
	if err := st.expectCode(*st.last, want); err != nil {
		return fmt.Errorf("%w (%s offered=%t, from the provider's answers: %s)", err, capability, advertised, c.From(capability))
	}
	return st.alive(ctx, st.last.call)
}
