package steps

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/vctsio/vcts/steps/driver"
)

var capabilitySteps = []phrase{
	{`^I ask the provider for its capabilities$`, askCapabilities},
	{`^the provider reports the same capabilities when asked again$`, sameCapabilities},
	{`^the provider reports its configuration as ok when asked again$`, validatedOKAgain},
	{`^they are the capabilities the run selected its profiles from$`, capabilitiesAsSelected},
	{`^every list of names in them holds no empty and no repeated entry$`, capabilityListsClean},
	{`^I ask the provider to validate its configuration$`, askValidate},
	{`^the provider reports its configuration as ok$`, validatedOK},
	{`^I try to (take a snapshot of|clone|take a memory snapshot of|make a linked clone of|send the create request for|describe|reconfigure|power off|delete) the VM$`, tryOptionalOperation},
	{`^the answer matches the advertised (snapshot|clone|create|read|update|power|delete) capability$`, matchesCapability},
	{`^the answer matches the advertised (memory-snapshot|linked-clone) variant$`, matchesVariant},
	{`^I send (ImagePrepare|ExportDisk|ImportDisk|HardwareUpgrade|GetDiskInfo) an empty request$`, sendEmptyRequest},
	{`^the answer is not Unimplemented if the provider advertises (supports_[a-z_]+)$`, implementedIfAdvertised},
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
	if !reflect.DeepEqual(again, *st.caps) {
		return st.failf("GetCapabilities changed between two calls: first %s, then %s", st.caps.Raw, again.Raw)
	}
	return nil
}

// capabilityListsClean: a list of disk types, formats or capability names is read entry by
// entry; an empty entry names nothing and a repeated one says the list was not built from
// what the provider has.
func capabilityListsClean(ctx context.Context) error {
	st := current(ctx)
	if st.caps == nil {
		return st.failf("capabilities were not asked for")
	}
	var f []string
	for _, field := range slices.Sorted(maps.Keys(st.caps.Lists)) {
		list := st.caps.Lists[field]
		seen := map[string]bool{}
		for i, entry := range list {
			switch {
			case strings.TrimSpace(entry) == "":
				f = append(f, fmt.Sprintf("%s %q: entry %d is empty", field, list, i+1))
			case seen[entry]:
				f = append(f, fmt.Sprintf("%s %q: %q is listed more than once", field, list, entry))
			}
			seen[entry] = true
		}
	}
	return joinFailures(st, "GetCapabilities lists must name each thing once", f)
}

// capabilitiesAsSelected compares the scenario's answer with the one the profiles were
// selected from, before anything existed.
func capabilitiesAsSelected(ctx context.Context) error {
	st := current(ctx)
	if st.caps == nil {
		return st.failf("capabilities were not asked for")
	}
	first, err := st.s.selectedCapabilities(ctx)
	if err != nil {
		return st.failf("%v", err)
	}
	if !reflect.DeepEqual(*st.caps, first) {
		return st.failf("GetCapabilities changed once VMs existed: the profiles were selected from %s, now it says %s "+
			"(a provider that learns what it offers only after its first create makes the run skip what it offers)", first.Raw, st.caps.Raw)
	}
	return nil
}

// selectedCapabilities is the answer the profiles were selected from (Config.Capabilities),
// else the suite's own first answer.
func (s *Suite) selectedCapabilities(context.Context) (driver.Capabilities, error) {
	if s.cfg.Capabilities != nil {
		return *s.cfg.Capabilities, nil
	}
	return s.firstCaps, s.firstCapsErr
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

// validatedOKAgain: the manager calls Validate again and again; a healthy provider says ok
// every time.
func validatedOKAgain(ctx context.Context) error {
	if err := askValidate(ctx); err != nil {
		return err
	}
	st := current(ctx)
	if !st.valid.ok {
		return st.failf("Validate (asked again): expected ok=true, got ok=false (message %q)", st.valid.message)
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
	case "take a memory snapshot of", "make a linked clone of":
		v, ok := st.d.(driver.Variants)
		if !ok {
			return st.failf("driver %s reports variants supported but has no Variants methods", st.d.Dialect())
		}
		if operation == "take a memory snapshot of" {
			id, err := v.SnapshotCreateWithMemory(octx, ref.id, st.vmName("honesty"))
			st.res.addSnapshot(ref.id, id)
			st.last = &attempt{call: fmt.Sprintf("SnapshotCreate(vm_id=%q, include_memory=true)", ref.id), err: err, id: id}
			break
		}
		target := st.vmName("honesty")
		id, err := v.LinkedClone(octx, ref.id, target)
		st.res.addVM(id, target)
		st.last = &attempt{call: fmt.Sprintf("Clone(source_vm_id=%q, target_name=%q, linked=true)", ref.id, target), err: err, id: id}
	case "send the create request for":
		id, err := st.d.Create(octx, ref.name, ref.spec)
		st.last = &attempt{call: fmt.Sprintf("Create(name=%q) again", ref.name), err: err, id: id}
	case "describe":
		d, err := st.d.Describe(octx, ref.id)
		if err == nil && !d.Exists {
			err = fmt.Errorf("answered exists=false for VM %q", ref.name)
		}
		st.last = &attempt{call: fmt.Sprintf("Describe(id=%q)", ref.id), err: err}
	case "reconfigure":
		a, _ := st.reconfigure(ctx, ref, int(ref.spec.CPU)+1, int(ref.spec.MemoryMiB))
		st.last = &a
	case "power off":
		st.last = &attempt{call: fmt.Sprintf("Power(id=%q, op=OFF)", ref.id), err: st.d.Power(octx, ref.id, driver.PowerOff)}
	case "delete":
		a := st.delete(ctx, ref)
		st.last = &a
	}
	return nil
}

// capabilitiesAfterAttempt asks for the capabilities to judge the attempt just made by.
func (st *scenario) capabilitiesAfterAttempt(ctx context.Context) (driver.Capabilities, error) {
	if st.last == nil {
		return driver.Capabilities{}, st.failf("no operation was attempted")
	}
	rctx, cancel := st.op(ctx)
	defer cancel()
	c, err := st.d.Capabilities(rctx)
	return c, st.expectOK("GetCapabilities", err)
}

func matchesCapability(ctx context.Context, capability string) error {
	st := current(ctx)
	c, err := st.capabilitiesAfterAttempt(ctx)
	if err != nil {
		return err
	}
	switch capability {
	case "create", "read", "update", "power", "delete":
		return st.coreCapability(ctx, c, "vm."+capability)
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

// coreCapability judges a core operation: it must work, and a dialect whose capabilities name
// the core operations (the tutorial API) must list it as supported. v1 has no such flags.
func (st *scenario) coreCapability(ctx context.Context, c driver.Capabilities, name string) error {
	if err := st.expectOK(st.last.call, st.last.err); err != nil {
		return fmt.Errorf("%w (%s is a core operation: every provider offers it)", err, name)
	}
	if c.Core != nil && !c.Core[name] {
		return st.failf("%s works, but the capabilities do not list it as supported (%s): a client that reads them "+
			"is told not to call a core operation", name, c.Raw)
	}
	return st.alive(ctx, st.last.call)
}

// matchesVariant judges a memory snapshot or linked clone: advertised, it must work; not
// advertised, Unimplemented or the plain operation done instead.
func matchesVariant(ctx context.Context, variant string) error {
	st := current(ctx)
	c, err := st.capabilitiesAfterAttempt(ctx)
	if err != nil {
		return err
	}
	advertised := c.Snapshots && c.MemorySnapshots
	if variant == "linked-clone" {
		advertised = c.Clones && c.LinkedClones
	}
	got, ok := codeOf(st.last.err)
	switch {
	case advertised && (!ok || got != codes.OK):
		return st.failf("%s: expected OK, got %s (%s advertised: %s)", st.last.call, answer(st.last.err), variant, c.Raw)
	case !advertised && (!ok || (got != codes.OK && got != codes.Unimplemented)):
		return st.failf("%s: expected Unimplemented (or the plain operation done instead), got %s (%s not advertised: %s)",
			st.last.call, answer(st.last.err), variant, c.Raw)
	}
	return st.alive(ctx, st.last.call)
}

func sendEmptyRequest(ctx context.Context, rpc string) error {
	st := current(ctx)
	v, ok := st.d.(driver.Variants)
	if !ok {
		return st.failf("driver %s reports variants supported but has no Variants methods", st.d.Dialect())
	}
	octx, cancel := st.op(ctx)
	defer cancel()
	st.last = &attempt{call: rpc + "({})", err: v.EmptyCall(octx, rpc)}
	return nil
}

func implementedIfAdvertised(ctx context.Context, flag string) error {
	st := current(ctx)
	c, err := st.capabilitiesAfterAttempt(ctx)
	if err != nil {
		return err
	}
	advertised, known := c.Advertised[flag]
	if !known {
		return st.failf("the driver reads no capability %s", flag)
	}
	if got, ok := codeOf(st.last.err); advertised && ok && got == codes.Unimplemented {
		return st.failf("%s: answered Unimplemented, but GetCapabilities advertises %s=true (%s)", st.last.call, flag, c.Raw)
	}
	return st.alive(ctx, st.last.call)
}
