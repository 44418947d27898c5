package steps

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	"github.com/vctsio/vcts/steps/driver"
)

// ruleSteps are the steps of the rules that combine the lifecycle steps with one more
// condition: a second capability, a provider-specific fallback, a count from the config.
var ruleSteps = []phrase{
	{`^I try to reboot the VM$`, tryRebootVM},
	{`^the provider answers OK and the VM is On in every view, or refuses it and the VM is Off in every view$`, rebootedOrRefused},
	{`^I try to reconfigure a VM with an unknown id to the desired state of "([^"]*)" with (\d+) CPUs? and (\d+) MiB of memory$`, tryReconfigureUnknownAs},
	{`^I create a VM with a name of (\d+) characters$`, createVMNamedLong},
	{`^I ask the gRPC health service about "([^"]*)"$`, askHealth},
	{`^it answers SERVING$`, answersServing},
	{`^I create L VMs with distinct names$`, createMany},
	{`^P (stopped )?VMs with distinct names$`, givenParallelVMs},
	{`^I try to delete a VM by an id in the VM's format that the provider never issued$`, tryDeleteNeverIssued},
	{`^I try to create a VM whose name has a dot$`, tryCreateDotted},
	{`^the provider answers OK and lists the VM under that very name, or refuses it as InvalidArgument$`, keptOrRefusedAsInvalid},
	{`^I reconfigure them in parallel, each to a size of its own$`, reconfigureGroupInParallel},
	{`^I power them (on|off) in parallel$`, powerGroupInParallel},
	{`^every call in parallel succeeds$`, everyParallelCallOK},
	{`^each of them has its own size in every view$`, groupHasOwnSize},
	{`^each of them is (On|Off) in every view$`, groupIsPowered},
	{`^I take a snapshot "([^"]*)" of the VM "([^"]*)" where the provider offers snapshots$`, takeSnapshotIfOffered},
	{`^a clone "([^"]*)" of "([^"]*)", or a new VM "([^"]*)" with (\d+) CPUs? and (\d+) MiB of memory where the provider does not clone$`, cloneOrNewVM},
	{`^the snapshots "([^"]*)" and "([^"]*)" have different ids$`, snapshotsDiffer},
	{`^I try to clone "([^"]*)" to "([^"]*)" with the class JSON '(.*)'$`, tryCloneWithClassJSON},
	{`^the provider answers OK and the VM "([^"]*)" has (\d+) CPUs? and (\d+) or (\d+) MiB of memory in every view, or answers InvalidArgument and makes no clone$`, clonedOrInvalid},
	{`^the VM list shows no VM under the name of "([^"]*)"$`, noVMUnderName},
	{`^the VM list shows no VM under the name the refused create asked for$`, noVMUnderRefusedName},
	{`^the provider answers OK and the VM has (\d+) CPUs? and (\d+) MiB of memory in every view, or refuses it and the VM has (\d+) CPUs? and (\d+) MiB of memory in every view$`, changedOrRefused},
	{`^the provider answers OK and the new VM has (\d+) CPUs? and (\d+) MiB of memory in every view, or refuses it and makes no VM$`, createdOrRefused},
}

func tryRebootVM(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	a := st.power(ctx, ref, driver.PowerReboot)
	st.last = &a
	return nil
}

// rebootedOrRefused accepts the two honest outcomes of rebooting a stopped VM.
func rebootedOrRefused(ctx context.Context) error {
	st := current(ctx)
	return st.okOrRefused(ctx,
		func(ref *vmRef) error { return st.checkPower(ctx, ref, driver.StateOn) },
		func(ref *vmRef) error { return st.checkPower(ctx, ref, driver.StateOff) },
		"OK (and the VM On), or a refusal (FailedPrecondition, InvalidArgument, Unimplemented, "+
			"or a task that ends with an error) and the VM Off")
}

// okOrRefused judges the last request of a rule that allows two honest outcomes: OK, after
// which ifOK must hold of the scenario's VM, or a refusal (see refused), after which ifRefused
// must. expected names both for the failure message.
func (st *scenario) okOrRefused(ctx context.Context, ifOK, ifRefused func(*vmRef) error, expected string) error {
	if st.last == nil {
		return st.failf("no request was sent")
	}
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	switch {
	case st.last.err == nil:
		if err := ifOK(ref); err != nil {
			return fmt.Errorf("%s answered OK: %w", st.last.call, err)
		}
		return nil
	case refused(st.last.err):
		if err := ifRefused(ref); err != nil {
			return fmt.Errorf("%s was refused (%s): %w", st.last.call, answer(st.last.err), err)
		}
		return nil
	}
	return st.failf("%s: expected %s; got %s", st.last.call, expected, answer(st.last.err))
}

func tryReconfigureUnknownAs(ctx context.Context, alias string, cpu, memory int) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	id, err := st.s.unknownVMID(ctx)
	if err != nil {
		return st.noUnknownID(err)
	}
	spec := ref.spec
	spec.CPU, spec.MemoryMiB = int32(cpu), int64(memory)
	octx, cancel := st.op(ctx)
	defer cancel()
	st.last = &attempt{call: st.reconfigureCall(id, ref.name, spec), err: st.d.Reconfigure(octx, id, ref.name, spec)}
	return nil
}

// createVMNamedLong creates a VM whose name, run prefix included, is exactly n characters.
func createVMNamedLong(ctx context.Context, n int) error {
	st := current(ctx)
	name := st.vmName(strings.Repeat("n", n))
	if len(name) != n {
		return st.failf("cannot build a name of %d characters (got %d): VM names are at most 63", n, len(name))
	}
	a := st.create(ctx, name, st.s.cfg.VMSpec)
	if err := st.expectOK(a.call, a.err); err != nil {
		return err
	}
	if a.id == "" {
		return st.failf("%s: answered OK with an empty VM id", a.call)
	}
	st.vms["vm"] = &vmRef{alias: "vm", name: name, id: a.id, spec: st.s.cfg.VMSpec}
	return nil
}

func askHealth(ctx context.Context, service string) error {
	st := current(ctx)
	h, ok := st.d.(driver.HealthChecker)
	if !ok {
		return st.failf("driver %s has no health check", st.d.Dialect())
	}
	rctx, cancel := st.read(ctx)
	defer cancel()
	state, err := h.Health(rctx, service)
	st.health = &healthAnswer{service: service, state: state, err: err}
	return nil
}

func answersServing(ctx context.Context) error {
	st := current(ctx)
	if st.health == nil {
		return st.failf("the health service was not asked")
	}
	call := fmt.Sprintf("grpc.health.v1.Health/Check(service=%q)", st.health.service)
	if err := st.expectOK(call, st.health.err); err != nil {
		return err
	}
	if st.health.state != "SERVING" {
		return st.failf("%s: expected status SERVING, got %s", call, st.health.state)
	}
	return nil
}

// createMany creates L VMs, at most P at a time, each of which must succeed.
func createMany(ctx context.Context) error {
	st := current(ctx)
	return st.createBatch(ctx, st.s.cfg.ListCount, "l%03d")
}

// givenParallelVMs creates P VMs at once, the group that the parallel steps then change;
// stopped ones are powered off (at once too) before the rule starts.
func givenParallelVMs(ctx context.Context, stopped string) error {
	st := current(ctx)
	if err := st.createBatch(ctx, st.s.cfg.ParallelCreates, "g%02d"); err != nil || stopped == "" {
		return err
	}
	if err := powerGroupInParallel(ctx, "off"); err != nil {
		return err
	}
	return everyParallelCallOK(ctx)
}

// createBatch creates n VMs with the configured spec, at most P at a time, under the aliases
// alias (a format for the number from 1), each of which must succeed; they become the group.
func (st *scenario) createBatch(ctx context.Context, n int, alias string) error {
	atts := make([]attempt, n)
	names := make([]string, n)
	for i := range n {
		names[i] = st.vmName(fmt.Sprintf(alias, i+1))
	}
	sem := make(chan struct{}, max(st.s.cfg.ParallelCreates, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			atts[i] = st.create(ctx, names[i], st.s.cfg.VMSpec)
		})
	}
	wg.Wait()
	var f []string
	for i, a := range atts {
		switch {
		case a.err != nil:
			f = append(f, fmt.Sprintf("%s: expected OK, got %s", a.call, answer(a.err)))
		case a.id == "":
			f = append(f, fmt.Sprintf("%s: answered OK with an empty VM id", a.call))
		default:
			alias := fmt.Sprintf(alias, i+1)
			st.vms[alias] = &vmRef{alias: alias, name: names[i], id: a.id, spec: st.s.cfg.VMSpec}
			st.group = append(st.group, alias)
		}
	}
	return joinFailures(st, fmt.Sprintf("%d creates of distinct VMs must all succeed", n), f)
}

// ownSize is the size the parallel reconfigure gives the i-th VM of the group: one CPU more
// than configured and a memory size no other VM of the group gets, so that a change lost,
// or made to another VM, shows.
func (st *scenario) ownSize(i int) (cpu, memory int) {
	spec := st.s.cfg.VMSpec
	return int(spec.CPU) + 1, int(spec.MemoryMiB) + 256*(i+1)
}

func (st *scenario) groupRefs() ([]*vmRef, error) {
	refs := make([]*vmRef, len(st.group))
	for i, alias := range st.group {
		ref, err := st.vm(alias)
		if err != nil {
			return nil, err
		}
		refs[i] = ref
	}
	return refs, nil
}

// inParallel runs call for every VM of the group at once; the attempts are judged by
// everyParallelCallOK.
func (st *scenario) inParallel(call func(i int, ref *vmRef) attempt) error {
	refs, err := st.groupRefs()
	if err != nil {
		return err
	}
	st.parallel = make([]attempt, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() { st.parallel[i] = call(i, ref) })
	}
	wg.Wait()
	return nil
}

func reconfigureGroupInParallel(ctx context.Context) error {
	st := current(ctx)
	specs := make([]driver.Spec, len(st.group))
	err := st.inParallel(func(i int, ref *vmRef) attempt {
		cpu, memory := st.ownSize(i)
		a, spec := st.reconfigure(ctx, ref, cpu, memory)
		specs[i] = spec
		return a
	})
	if err != nil {
		return err
	}
	for i, a := range st.parallel {
		if a.err == nil {
			st.vms[st.group[i]].spec = specs[i]
		}
	}
	return nil
}

func powerGroupInParallel(ctx context.Context, word string) error {
	st := current(ctx)
	return st.inParallel(func(_ int, ref *vmRef) attempt { return st.power(ctx, ref, powerOp(word)) })
}

func everyParallelCallOK(ctx context.Context) error {
	st := current(ctx)
	var f []string
	for _, a := range st.parallel {
		if a.err != nil {
			f = append(f, fmt.Sprintf("%s: expected OK, got %s", a.call, answer(a.err)))
		}
	}
	return joinFailures(st, fmt.Sprintf("%d calls in parallel, each to a VM of its own, must all succeed", len(st.parallel)), f)
}

// listAnswer is one answer of ListVMs.
type listAnswer struct {
	vms []driver.VM
	err error
}

// groupCheck runs check for every VM of the group (at once: they only read; one VM list
// serves them all) and reports every VM that fails it, in the group's order.
func (st *scenario) groupCheck(ctx context.Context, check func(i int, ref *vmRef) error) error {
	refs, err := st.groupRefs()
	if err != nil {
		return err
	}
	rctx, cancel := st.read(ctx)
	vms, lerr := st.d.List(rctx)
	cancel()
	st.sharedList = &listAnswer{vms: vms, err: lerr}
	defer func() { st.sharedList = nil }()
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() { errs[i] = check(i, ref) })
	}
	wg.Wait()
	var f []string
	for _, err := range errs {
		if err != nil {
			f = append(f, strings.TrimPrefix(err.Error(), st.req+": "))
		}
	}
	if len(f) == 0 {
		return nil
	}
	return st.failf("%s", strings.Join(f, "\n"))
}

func groupHasOwnSize(ctx context.Context) error {
	st := current(ctx)
	return st.groupCheck(ctx, func(i int, ref *vmRef) error {
		cpu, memory := st.ownSize(i)
		return st.checkHardware(ctx, ref, int32(cpu), int64(memory))
	})
}

func groupIsPowered(ctx context.Context, state string) error {
	st := current(ctx)
	return st.groupCheck(ctx, func(_ int, ref *vmRef) error { return st.checkPower(ctx, ref, state) })
}

// offered asks the provider whether it offers snapshots or clones, for a rule that uses
// one where it exists.
func (st *scenario) offered(ctx context.Context) (driver.Capabilities, error) {
	rctx, cancel := st.op(ctx)
	defer cancel()
	c, err := st.d.Capabilities(rctx)
	return c, st.expectOK("GetCapabilities", err)
}

func takeSnapshotIfOffered(ctx context.Context, alias, vmAlias string) error {
	st := current(ctx)
	c, err := st.offered(ctx)
	if err != nil {
		return err
	}
	if !c.Snapshots {
		return nil
	}
	return takeSnapshot(ctx, alias, vmAlias)
}

func cloneOrNewVM(ctx context.Context, target, source, alias string, cpu, memory int) error {
	st := current(ctx)
	if target != alias {
		return st.failf("the step names two VMs, %q and %q, for one", target, alias)
	}
	c, err := st.offered(ctx)
	if err != nil {
		return err
	}
	if !c.Clones {
		return givenVMWith(ctx, alias, cpu, memory)
	}
	if err := cloneVM(ctx, source, target); err != nil {
		return err
	}
	return hasHardware(ctx, target, cpu, memory, "")
}

func snapshotsDiffer(ctx context.Context, a, b string) error {
	st := current(ctx)
	sa, err := st.snapshot(a)
	if err != nil {
		return err
	}
	sb, err := st.snapshot(b)
	if err != nil {
		return err
	}
	if sa.id == "" || sb.id == "" {
		return st.failf("snapshots %q and %q must have non-empty ids, got %q and %q", a, b, sa.id, sb.id)
	}
	if sa.id == sb.id {
		return st.failf("snapshot %q got the id %q, which snapshot %q still holds", b, sb.id, a)
	}
	return nil
}

// tryCloneWithClassJSON clones with a verbatim override the provider should refuse; a clone
// it makes anyway is registered for cleanup under the target name.
func tryCloneWithClassJSON(ctx context.Context, source, target, class string) error {
	st := current(ctx)
	src, err := st.vm(source)
	if err != nil {
		return err
	}
	raw, err := st.rawPayloads()
	if err != nil {
		return err
	}
	name := st.vmName(target)
	octx, cancel := st.op(ctx)
	defer cancel()
	id, err := raw.CloneRaw(octx, src.id, name, class)
	st.res.addVM(id, name)
	st.vms[target] = &vmRef{alias: target, name: name, id: id, spec: src.spec}
	st.last = &attempt{call: fmt.Sprintf("Clone(source_vm_id=%q, target_name=%q, class_json=%s)", src.id, name, class), err: err, id: id}
	return nil
}

// clonedOrInvalid judges "I try to clone ... with the class JSON": a clone of the size asked
// for (memory rounded to either neighbour), or InvalidArgument and no clone.
func clonedOrInvalid(ctx context.Context, alias string, cpu, low, high int) error {
	st := current(ctx)
	if st.last == nil {
		return st.failf("no clone was sent")
	}
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	if code, known := codeOf(st.last.err); known && code == codes.InvalidArgument {
		return st.noVMNamed(ctx, ref.name)
	}
	if err := st.expectOK(st.last.call, st.last.err); err != nil {
		return fmt.Errorf("%w (expected OK, or InvalidArgument for a size that is no whole number of MiB)", err)
	}
	return st.checkHardwareIn(ctx, ref, int32(cpu), int64(low), int64(high))
}

func noVMUnderName(ctx context.Context, alias string) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	return st.noVMNamed(ctx, ref.name)
}

// noVMUnderRefusedName looks for the name "I try to create a VM with ..." sends.
func noVMUnderRefusedName(ctx context.Context) error {
	st := current(ctx)
	return st.noVMNamed(ctx, st.vmName("vm"))
}

func (st *scenario) noVMNamed(ctx context.Context, name string) error {
	vms, err := st.listVMs(ctx)
	if err != nil {
		return err
	}
	for _, vm := range vms {
		if vm.Name == name {
			return st.failf("ListVMs lists %q (id %q): the refused request made a VM anyway", name, vm.ID)
		}
	}
	return nil
}

// refused reports whether an answer is an honest refusal of a change the provider cannot
// make: FailedPrecondition, InvalidArgument, Unimplemented, or a task that ended with an error.
func refused(err error) bool {
	var task *driver.TaskError
	if errors.As(err, &task) {
		return !task.TimedOut
	}
	switch c, _ := codeOf(err); c {
	case codes.FailedPrecondition, codes.InvalidArgument, codes.Unimplemented:
		return true
	}
	return false
}

// changedOrRefused accepts the two honest outcomes of a change a provider may not support.
func changedOrRefused(ctx context.Context, cpu, memory, oldCPU, oldMemory int) error {
	st := current(ctx)
	return st.okOrRefused(ctx,
		func(ref *vmRef) error { return st.checkHardware(ctx, ref, int32(cpu), int64(memory)) },
		func(ref *vmRef) error { return st.checkHardware(ctx, ref, int32(oldCPU), int64(oldMemory)) },
		"OK (and the change visible), or a refusal (FailedPrecondition, InvalidArgument, Unimplemented, "+
			"or a task that ends with an error) that changes nothing")
}

// createdOrRefused judges "I try to create a VM with ...": a VM of exactly the asked size, or
// an honest refusal (beyond refused's codes: ResourceExhausted, OutOfRange) that made nothing.
func createdOrRefused(ctx context.Context, cpu, memory int) error {
	st := current(ctx)
	if st.last == nil {
		return st.failf("no create was sent")
	}
	name := st.vmName("vm")
	code, _ := codeOf(st.last.err)
	switch {
	case st.last.err == nil:
		if st.last.id == "" {
			return st.failf("%s: answered OK with an empty VM id", st.last.call)
		}
		ref := &vmRef{alias: "vm", name: name, id: st.last.id, spec: st.spec(cpu, memory)}
		st.vms[ref.alias] = ref
		return st.checkHardware(ctx, ref, int32(cpu), int64(memory))
	case refused(st.last.err) || code == codes.ResourceExhausted || code == codes.OutOfRange:
		return st.noVMNamed(ctx, name)
	}
	return st.failf("%s: expected OK (and the VM as asked), or a refusal (InvalidArgument, FailedPrecondition, "+
		"ResourceExhausted, OutOfRange, Unimplemented or a task that ends with an error), got %s", st.last.call, answer(st.last.err))
}

// tryDeleteNeverIssued deletes an id in the format of the scenario's VM that names no VM and
// was never deleted by the suite: a provider that keeps tombstones of the ids it deleted
// answers NotFound to it, though the manager's delete of a VM removed by hand, or gone after
// a restart, must succeed.
func tryDeleteNeverIssued(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	vms, err := st.listVMs(ctx)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, vm := range vms {
		listed[vm.ID] = true
	}
	var id string
	for range 5 {
		c := neverIssuedLike(ref.id)
		if listed[c] {
			continue
		}
		rctx, cancel := st.read(ctx)
		d, derr := st.d.Describe(rctx, c)
		cancel()
		if derr == nil && d.Exists {
			continue
		}
		id = c
		break
	}
	if id == "" {
		return st.failf("found no id in the format of %q that names no VM in 5 tries", ref.id)
	}
	octx, cancel := st.op(ctx)
	defer cancel()
	st.last = &attempt{call: fmt.Sprintf("Delete(id=%q)", id), err: st.d.Delete(octx, id),
		hint: fmt.Sprintf("the suite derived this id from the provider's own id %q; it is listed nowhere and was never deleted", ref.id)}
	return nil
}

// neverIssuedLike keeps the format of a VM id and makes it name another VM: a UUID in it
// becomes a fresh one (in the same case); otherwise its last number grows by a random amount
// between 100000 and 199999 ("101" → "153207", a Proxmox VMID still in range); an id with
// neither gets a random suffix.
func neverIssuedLike(id string) string {
	if fresh, ok := withFreshUUID(id); ok {
		return fresh
	}
	start, end, ok := lastNumber(id)
	if !ok {
		return id + "-" + uuid.NewString()[:8]
	}
	n, err := strconv.ParseUint(id[start:end], 10, 63)
	if err != nil {
		return id[:start] + "1" + id[start:] // a number too large to add to: one digit more
	}
	return id[:start] + strconv.FormatUint(n+100000+uint64(rand.IntN(100000)), 10) + id[end:]
}

// tryCreateDotted creates a VM named like a DNS subdomain ("<prefix>-web.prod"), as a
// Kubernetes object may be.
func tryCreateDotted(ctx context.Context) error {
	st := current(ctx)
	name := st.vmName("web") + ".prod"
	if len(name) > 63 {
		return st.failf("cannot build a dotted name of at most 63 characters from %q", st.prefix)
	}
	a := st.create(ctx, name, st.s.cfg.VMSpec)
	st.last = &a
	if a.err == nil && a.id != "" {
		st.vms["vm"] = &vmRef{alias: "vm", name: name, id: a.id, spec: st.s.cfg.VMSpec}
	}
	return nil
}

// keptOrRefusedAsInvalid: a name the provider cannot hold is refused as InvalidArgument;
// one it accepts is the VM's name in every view that names it.
func keptOrRefusedAsInvalid(ctx context.Context) error {
	st := current(ctx)
	if st.last == nil {
		return st.failf("no request was sent")
	}
	var task *driver.TaskError
	got, ok := codeOf(st.last.err)
	tasks, _ := st.d.Supports(driver.FeatureTasks) // a dialect without tasks has no task to fail
	switch {
	case ok && got == codes.InvalidArgument, tasks && errors.As(st.last.err, &task) && !task.TimedOut:
		return st.alive(ctx, st.last.call) // refused, at once or by the create's task
	case !ok || got != codes.OK:
		return st.failf("%s: expected OK (the name kept), or InvalidArgument or a failed task (the name refused), got %s", st.last.call, answer(st.last.err))
	case st.last.id == "":
		return st.failf("%s: answered OK with an empty VM id", st.last.call)
	}
	if err := listedUnderName(ctx, "vm"); err != nil {
		return err
	}
	return vmExists(ctx, "vm")
}
