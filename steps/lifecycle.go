package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"sync"

	"github.com/cucumber/godog"
	"google.golang.org/grpc/codes"

	"github.com/vctsio/vcts/steps/driver"
)

var lifecycleSteps = []phrase{
	{`^a VM(?: "([^"]*)")?$`, givenVM},
	{`^a VM(?: "([^"]*)")? with (\d+) CPUs? and (\d+) MiB of memory$`, givenVMWith},
	{`^I create a VM with (\d+) CPUs? and (\d+) MiB of memory$`, createVMWith},
	{`^I create a VM with the class JSON:$`, createVMRaw},
	{`^I create a VM with the class JSON '(.*)'$`, createVMWithClass},
	{`^I create the VM again under the same name$`, recreateVM},
	{`^the provider returns a non-empty VM id$`, returnsNonEmptyID},
	{`^the VM(?: "([^"]*)")? exists$`, vmExists},
	{`^Describe's provider_raw_json is a JSON document, or empty$`, rawJSONIsJSON},
	{`^the addresses and console URL reported for the VM are well-formed$`, addressesWellFormed},
	{`^the VM list shows the VM(?: "([^"]*)")? under its name$`, listedUnderName},
	{`^the VM list shows the VM with (\d+) CPUs? and (\d+) MiB of memory$`, listShowsHardware},
	{`^the VM(?: "([^"]*)")? has (\d+) CPUs? and (\d+)(?: or (\d+))? MiB of memory in every view$`, hasHardware},
	{`^I send the same create request N times$`, repeatCreate},
	{`^P identical create requests race each other$`, raceCreates},
	{`^every repetition succeeds$`, everyRepetitionSucceeds},
	{`^every repetition returns the VM's id$`, everyRepetitionReturnsVMID},
	{`^every repetition returns the id of "([^"]*)"$`, everyRepetitionReturnsID},
	{`^the VM list shows exactly one VM under the VM's name$`, exactlyOneUnderVMName},
	{`^the VM list shows exactly one VM under the name of "([^"]*)"$`, exactlyOneUnderName},
	{`^I create P VMs with distinct names in parallel$`, createInParallel},
	{`^every create returns its own VM id$`, everyCreateOwnID},
	{`^the VM list shows all of them under their names$`, allListed},
	{`^I reconfigure the VM(?: "([^"]*)")? to (\d+) CPUs? and (\d+) MiB of memory$`, reconfigureVM},
	{`^I reconfigure the VM with the desired state JSON:$`, reconfigureRaw},
	{`^I send the reconfigure request to (\d+) CPUs? and (\d+) MiB of memory N times$`, repeatReconfigure},
	{`^I delete the VM(?: "([^"]*)")?$`, deleteVM},
	{`^I send the delete request N times$`, repeatDelete},
	{`^the VM(?: "([^"]*)")? no longer exists in any view$`, noLongerExists},
}

func aliasOr(alias string) string {
	if alias == "" {
		return "vm"
	}
	return alias
}

func (st *scenario) spec(cpu, memory int) driver.Spec {
	s := st.s.cfg.VMSpec
	s.CPU, s.MemoryMiB = int32(cpu), int64(memory)
	return s
}

func (st *scenario) vm(alias string) (*vmRef, error) {
	ref, ok := st.vms[aliasOr(alias)]
	if !ok {
		return nil, st.failf("the scenario refers to VM %q before creating it", aliasOr(alias))
	}
	return ref, nil
}

func createCall(name string, spec driver.Spec) string {
	return fmt.Sprintf("Create(name=%q, cpu=%d, memory_mib=%d)", name, spec.CPU, spec.MemoryMiB)
}

// create sends one create and registers whatever id comes back before judging anything.
func (st *scenario) create(ctx context.Context, name string, spec driver.Spec) attempt {
	octx, cancel := st.op(ctx)
	defer cancel()
	id, err := st.d.Create(octx, name, spec)
	st.res.addVM(id, name)
	return attempt{call: createCall(name, spec), err: err, id: id}
}

// createVM creates a VM that the rest of the scenario relies on: it must succeed with an id.
func (st *scenario) createVM(ctx context.Context, alias string, spec driver.Spec) (*vmRef, error) {
	alias = aliasOr(alias)
	name := st.vmName(alias)
	a := st.create(ctx, name, spec)
	if a.err != nil {
		if raw, ok := st.d.(driver.RawPayloads); ok {
			a.call = fmt.Sprintf("%s [sent %s]", a.call, raw.CreatePayload(spec))
		}
	}
	if err := st.expectOK(a.call, a.err); err != nil {
		if !runEnded(ctx) {
			code, _ := codeOf(a.err)
			st.s.createRefused(code, err.Error())
		}
		return nil, err
	}
	if a.id == "" {
		return nil, st.failf("%s: answered OK with an empty VM id", a.call)
	}
	ref := &vmRef{alias: alias, name: name, id: a.id, spec: spec}
	st.vms[alias] = ref
	return ref, nil
}

func givenVM(ctx context.Context, alias string) error {
	st := current(ctx)
	_, err := st.createVM(ctx, alias, st.s.cfg.VMSpec)
	return err
}

func givenVMWith(ctx context.Context, alias string, cpu, memory int) error {
	st := current(ctx)
	_, err := st.createVM(ctx, alias, st.spec(cpu, memory))
	return err
}

// createVMWith keeps an empty id for the Then step to judge, so the failure names the rule.
func createVMWith(ctx context.Context, cpu, memory int) error {
	st := current(ctx)
	spec := st.spec(cpu, memory)
	name := st.vmName("vm")
	a := st.create(ctx, name, spec)
	if err := st.expectOK(a.call, a.err); err != nil {
		return err
	}
	st.vms["vm"] = &vmRef{alias: "vm", name: name, id: a.id, spec: spec}
	return nil
}

func createVMRaw(ctx context.Context, doc *godog.DocString) error {
	return createVMWithClass(ctx, doc.Content)
}

// createVMWithClass creates a VM with class sent verbatim as the class JSON; it must succeed.
func createVMWithClass(ctx context.Context, class string) error {
	st := current(ctx)
	raw, err := st.rawPayloads()
	if err != nil {
		return err
	}
	name := st.vmName("vm")
	octx, cancel := st.op(ctx)
	defer cancel()
	id, err := raw.CreateRaw(octx, name, st.s.cfg.VMSpec, class)
	st.res.addVM(id, name)
	call := fmt.Sprintf("Create(name=%q, class_json=%s)", name, class)
	if err := st.expectOK(call, err); err != nil {
		return err
	}
	if id == "" {
		return st.failf("%s: answered OK with an empty VM id", call)
	}
	st.vms["vm"] = &vmRef{alias: "vm", name: name, id: id, spec: st.s.cfg.VMSpec}
	return nil
}

func recreateVM(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	a := st.create(ctx, ref.name, ref.spec)
	if err := st.expectOK(a.call, a.err); err != nil {
		return err
	}
	if a.id == "" {
		return st.failf("%s: answered OK with an empty VM id", a.call)
	}
	ref.id = a.id
	return nil
}

func (st *scenario) rawPayloads() (driver.RawPayloads, error) {
	raw, ok := st.d.(driver.RawPayloads)
	if !ok {
		return nil, st.failf("driver %s reports raw payloads supported but has no RawPayloads methods", st.d.Dialect())
	}
	return raw, nil
}

func returnsNonEmptyID(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	if ref.id == "" {
		return st.failf("%s: answered OK with an empty VM id", createCall(ref.name, ref.spec))
	}
	return nil
}

// views is what Describe and the VM list say about one VM.
type views struct {
	desc    driver.Description
	descErr error
	all     []driver.VM
	listed  *driver.VM
	listErr error
}

func (st *scenario) look(ctx context.Context, ref *vmRef) views {
	var v views
	rctx, cancel := st.read(ctx)
	v.desc, v.descErr = st.d.Describe(rctx, ref.id)
	cancel()
	if l := st.sharedList; l != nil {
		v.all, v.listErr = l.vms, l.err // one list read for a whole group (groupCheck)
	} else {
		rctx, cancel = st.read(ctx)
		v.all, v.listErr = st.d.List(rctx)
		cancel()
	}
	for i := range v.all {
		if v.all[i].ID == ref.id {
			v.listed = &v.all[i]
			break
		}
	}
	return v
}

// present collects why a VM that should exist is missing from a view.
func (st *scenario) present(ref *vmRef, v views) []string {
	var f []string
	switch {
	case v.descErr != nil:
		f = append(f, fmt.Sprintf("Describe(id=%q): expected OK, got %s", ref.id, answer(v.descErr)))
	case !v.desc.Exists:
		f = append(f, fmt.Sprintf("Describe(id=%q): exists=false for VM %q", ref.id, ref.name))
	}
	switch {
	case v.listErr != nil:
		f = append(f, fmt.Sprintf("ListVMs: expected OK, got %s", answer(v.listErr)))
	case v.listed == nil:
		f = append(f, fmt.Sprintf("ListVMs: VM %q (id %q) is not listed among %d VMs", ref.name, ref.id, len(v.all)))
	}
	return f
}

func vmExists(ctx context.Context, alias string) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	v := st.look(ctx, ref)
	var f []string
	switch {
	case v.descErr != nil:
		f = append(f, fmt.Sprintf("Describe(id=%q): expected OK, got %s", ref.id, answer(v.descErr)))
	case !v.desc.Exists:
		f = append(f, fmt.Sprintf("Describe(id=%q): exists=false for VM %q", ref.id, ref.name))
	case v.desc.Name != "" && v.desc.Name != ref.name && st.d.Dialect() == driver.DialectTutorial:
		// GetVM.name is the VM's name, a typed field: it must be the one asked for. (A "name"
		// in the wire's free-form provider_raw_json may be the hypervisor's own, prefixed
		// name; the VM list carries the name the manager reads.)
		f = append(f, fmt.Sprintf("GetVM(vm_id=%q) names the VM %q", ref.id, v.desc.Name))
	}
	return joinFailures(st, "VM "+ref.name+" should exist", f)
}

// rawJSONIsJSON: the wire protocol's *_json fields carry JSON; a provider that prints a Go
// value there (map[cpu:2 ...]) gives the manager nothing it can read.
func rawJSONIsJSON(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	rctx, cancel := st.read(ctx)
	d, err := st.d.Describe(rctx, ref.id)
	cancel()
	if err := st.expectOK(fmt.Sprintf("Describe(id=%q)", ref.id), err); err != nil {
		return err
	}
	if d.Raw != "" && !json.Valid([]byte(d.Raw)) {
		raw := d.Raw
		if len(raw) > 200 {
			raw = raw[:200] + "…"
		}
		return st.failf("Describe(id=%q): provider_raw_json is not JSON: %q", ref.id, raw)
	}
	return nil
}

// addressesWellFormed: every IP address Describe and the VM list report parses as an address
// (IPv4 or IPv6, with a zone or a prefix length allowed), and a console URL, when reported,
// is absolute with a host. Both are optional; what is reported must be readable.
func addressesWellFormed(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	v := st.look(ctx, ref)
	f := st.present(ref, v)
	if len(f) > 0 {
		return joinFailures(st, fmt.Sprintf("VM %q should exist", ref.name), f)
	}
	badIPs := func(view string, ips []string) {
		for _, ip := range ips {
			if !isIPAddress(ip) {
				f = append(f, fmt.Sprintf("%s reports ips %q: %q is no IP address", view, ips, ip))
				return
			}
		}
	}
	badIPs(fmt.Sprintf("Describe(id=%q)", ref.id), v.desc.IPs)
	badIPs(fmt.Sprintf("ListVMs (id %q)", ref.id), v.listed.IPs)
	if why := consoleURLProblem(v.desc.ConsoleURL); why != "" {
		f = append(f, fmt.Sprintf("Describe(id=%q) reports console_url %q: %s", ref.id, v.desc.ConsoleURL, why))
	}
	return joinFailures(st, "reported addresses must be addresses, leave them out when there are none", f)
}

// consoleURLProblem says what is wrong with a reported console URL: it must be absolute, with
// a host and, if given, a port in range. Empty (not reported) is fine.
func consoleURLProblem(u string) string {
	if u == "" {
		return ""
	}
	parsed, err := url.Parse(u)
	switch {
	case err != nil:
		return "not a URL (" + err.Error() + ")"
	case !parsed.IsAbs() || parsed.Hostname() == "":
		return "not an absolute URL with a host"
	}
	if p := parsed.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "port " + p + " is out of range"
		}
	}
	return ""
}

// isIPAddress accepts an address (a zone allowed) or an address with a prefix length.
func isIPAddress(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(s)
	return err == nil
}

func listedUnderName(ctx context.Context, alias string) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	vms, err := st.listVMs(ctx)
	if err != nil {
		return err
	}
	for _, vm := range vms {
		if vm.ID != ref.id {
			continue
		}
		if vm.Name != ref.name {
			return st.failf("ListVMs lists id %q under name %q, expected %q", ref.id, vm.Name, ref.name)
		}
		return nil
	}
	return st.failf("ListVMs: VM %q (id %q) is not listed among %d VMs", ref.name, ref.id, len(vms))
}

func listShowsHardware(ctx context.Context, cpu, memory int) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	v := st.look(ctx, ref)
	switch {
	case v.listErr != nil:
		return st.failf("ListVMs: expected OK, got %s", answer(v.listErr))
	case v.listed == nil:
		return st.failf("ListVMs: VM %q (id %q) is not listed", ref.name, ref.id)
	case !v.listed.HasHardware:
		return st.failf("ListVMs reports no CPU and memory for %q", ref.name)
	case v.listed.CPU != int32(cpu) || v.listed.MemoryMiB != int64(memory):
		return st.failf("ListVMs lists %q with cpu=%d memory_mib=%d, expected cpu=%d memory_mib=%d",
			ref.name, v.listed.CPU, v.listed.MemoryMiB, cpu, memory)
	}
	return nil
}

// hasHardware checks read-your-writes through every view: each view that reports CPU and
// memory must report the expected values, and at least one must report them.
// hasHardware: "N or M MiB" is a size that is no whole number of MiB (a decimal quantity),
// which a provider may round either way; every view must still agree.
func hasHardware(ctx context.Context, alias string, cpu, memory int, memoryOr string) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	if memoryOr == "" {
		return st.checkHardware(ctx, ref, int32(cpu), int64(memory))
	}
	or, err := strconv.ParseInt(memoryOr, 10, 64)
	if err != nil {
		return st.failf("memory %q: %v", memoryOr, err)
	}
	return st.checkHardwareIn(ctx, ref, int32(cpu), int64(memory), or)
}

func (st *scenario) checkHardware(ctx context.Context, ref *vmRef, cpu int32, memory int64) error {
	return st.checkHardwareIn(ctx, ref, cpu, memory, memory)
}

// checkHardwareIn: every view that reports hardware reports cpu and a memory size of lo or hi
// MiB, the same in every view.
func (st *scenario) checkHardwareIn(ctx context.Context, ref *vmRef, cpu int32, lo, hi int64) error {
	want := fmt.Sprintf("cpu=%d memory_mib=%d", cpu, lo)
	if hi != lo {
		want = fmt.Sprintf("cpu=%d memory_mib=%d or %d", cpu, lo, hi)
	}
	fits := func(c int32, m int64) bool { return c == cpu && (m == lo || m == hi) }
	v := st.look(ctx, ref)
	f := st.present(ref, v)
	reporting := 0
	if v.descErr == nil && v.desc.Exists && v.desc.HasHardware {
		reporting++
		if !fits(v.desc.CPU, v.desc.MemoryMiB) {
			f = append(f, fmt.Sprintf("Describe(id=%q) reports cpu=%d memory_mib=%d, expected %s",
				ref.id, v.desc.CPU, v.desc.MemoryMiB, want))
		}
	}
	if v.listed != nil && v.listed.HasHardware {
		reporting++
		switch {
		case !fits(v.listed.CPU, v.listed.MemoryMiB):
			f = append(f, fmt.Sprintf("ListVMs lists %q with cpu=%d memory_mib=%d, expected %s",
				ref.name, v.listed.CPU, v.listed.MemoryMiB, want))
		case reporting == 2 && len(f) == 0 && v.listed.MemoryMiB != v.desc.MemoryMiB:
			f = append(f, fmt.Sprintf("Describe(id=%q) reports memory_mib=%d, ListVMs %d: the views disagree",
				ref.id, v.desc.MemoryMiB, v.listed.MemoryMiB))
		}
	}
	if len(f) == 0 && reporting == 0 {
		f = append(f, fmt.Sprintf("no view reports CPU and memory of %q (Describe carries none in a form the %s driver reads, the VM list none at all)", ref.name, st.d.Dialect()))
	}
	size := fmt.Sprintf("%d MiB", lo)
	if hi != lo {
		size = fmt.Sprintf("%d or %d MiB", lo, hi)
	}
	return joinFailures(st, fmt.Sprintf("VM %q should have %d CPUs and %s in every view", ref.name, cpu, size), f)
}

func repeatCreate(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	st.reps = nil
	for range st.s.cfg.IdempotentCount {
		st.reps = append(st.reps, st.create(ctx, ref.name, ref.spec))
	}
	return nil
}

func raceCreates(ctx context.Context) error {
	st := current(ctx)
	name, spec := st.vmName("vm"), st.s.cfg.VMSpec
	st.reps = make([]attempt, st.s.cfg.ParallelCreates)
	var wg sync.WaitGroup
	for i := range st.reps {
		wg.Go(func() { st.reps[i] = st.create(ctx, name, spec) })
	}
	wg.Wait()
	ref := &vmRef{alias: "vm", name: name, spec: spec}
	for _, a := range st.reps {
		if a.id != "" {
			ref.id = a.id
			break
		}
	}
	st.vms["vm"] = ref
	return nil
}

func everyRepetitionSucceeds(ctx context.Context) error {
	st := current(ctx)
	if len(st.reps) == 0 {
		return st.failf("no repetition was sent")
	}
	var f []string
	for i, a := range st.reps {
		if a.err != nil {
			f = append(f, fmt.Sprintf("repetition %d of %d: %s: expected OK, got %s", i+1, len(st.reps), a.call, answer(a.err)))
		}
	}
	return joinFailures(st, "repeating a request must be safe", f)
}

func everyRepetitionReturnsVMID(ctx context.Context) error { return everyRepetitionReturnsID(ctx, "") }

// everyRepetitionReturnsID: each repetition that succeeded answered with the id the VM got
// first (a create of its name, or a clone to its name).
func everyRepetitionReturnsID(ctx context.Context, alias string) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	if ref.id == "" {
		return st.failf("no request returned an id for VM %q", ref.name)
	}
	var f []string
	for i, a := range st.reps {
		if a.err == nil && a.id != ref.id {
			f = append(f, fmt.Sprintf("repetition %d of %d: %s returned id %q, expected %q", i+1, len(st.reps), a.call, a.id, ref.id))
		}
	}
	return joinFailures(st, fmt.Sprintf("requests for the name %q must return one id", ref.name), f)
}

func exactlyOneUnderVMName(ctx context.Context) error { return exactlyOneUnderName(ctx, "") }

func exactlyOneUnderName(ctx context.Context, alias string) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	vms, err := st.listVMs(ctx)
	if err != nil {
		return err
	}
	var ids []string
	for _, vm := range vms {
		if vm.Name == ref.name {
			ids = append(ids, vm.ID)
		}
	}
	if len(ids) != 1 {
		return st.failf("ListVMs lists %d VMs named %q (ids %v), expected exactly 1", len(ids), ref.name, ids)
	}
	return nil
}

func createInParallel(ctx context.Context) error {
	st := current(ctx)
	n := st.s.cfg.ParallelCreates
	st.parallel = make([]attempt, n)
	names := make([]string, n)
	for i := range n {
		names[i] = st.vmName(fmt.Sprintf("p%02d", i+1))
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { st.parallel[i] = st.create(ctx, names[i], st.s.cfg.VMSpec) })
	}
	wg.Wait()
	for i, a := range st.parallel {
		alias := fmt.Sprintf("p%02d", i+1)
		st.vms[alias] = &vmRef{alias: alias, name: names[i], id: a.id, spec: st.s.cfg.VMSpec}
	}
	return nil
}

func everyCreateOwnID(ctx context.Context) error {
	st := current(ctx)
	var f []string
	seen := map[string]string{}
	for _, a := range st.parallel {
		switch {
		case a.err != nil:
			f = append(f, fmt.Sprintf("%s: expected OK, got %s", a.call, answer(a.err)))
		case a.id == "":
			f = append(f, fmt.Sprintf("%s: answered OK with an empty VM id", a.call))
		case seen[a.id] != "":
			f = append(f, fmt.Sprintf("%s returned id %q, already returned by %s", a.call, a.id, seen[a.id]))
		default:
			seen[a.id] = a.call
		}
	}
	return joinFailures(st, fmt.Sprintf("%d parallel creates of distinct VMs must all succeed with distinct ids", len(st.parallel)), f)
}

func allListed(ctx context.Context) error {
	st := current(ctx)
	vms, err := st.listVMs(ctx)
	if err != nil {
		return err
	}
	byID := map[string]string{}
	for _, vm := range vms {
		byID[vm.ID] = vm.Name
	}
	var f []string
	for _, ref := range st.vms {
		name, ok := byID[ref.id]
		switch {
		case ref.id == "":
			f = append(f, fmt.Sprintf("%q has no id to look for", ref.name))
		case !ok:
			f = append(f, fmt.Sprintf("%q (id %q) is not listed", ref.name, ref.id))
		case name != ref.name:
			f = append(f, fmt.Sprintf("id %q is listed as %q, expected %q", ref.id, name, ref.name))
		}
	}
	slices.Sort(f)
	return joinFailures(st, "ListVMs must list every VM the scenario created", f)
}

func reconfigureVM(ctx context.Context, alias string, cpu, memory int) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	a, spec := st.reconfigure(ctx, ref, cpu, memory)
	if err := st.expectOK(a.call, a.err); err != nil {
		return err
	}
	ref.spec = spec
	return nil
}

// reconfigure asks for the VM's spec with new CPU and memory; it returns the attempt and
// the spec it asked for.
func (st *scenario) reconfigure(ctx context.Context, ref *vmRef, cpu, memory int) (attempt, driver.Spec) {
	spec := ref.spec
	spec.CPU, spec.MemoryMiB = int32(cpu), int64(memory)
	send := func(ctx context.Context) error {
		octx, cancel := st.op(ctx)
		defer cancel()
		return st.d.Reconfigure(octx, ref.id, ref.name, spec)
	}
	err := st.offlineRetry(ctx, ref, send(ctx), send)
	return attempt{call: st.reconfigureCall(ref.id, ref.name, spec), err: err}, spec
}

// offlineRetry: a provider that does not advertise online reconfigure may refuse to change a
// running VM with FailedPrecondition ("needs the VM stopped"). A client then stops the VM,
// sends the change again and starts the VM, and so does the suite, where a rule reconfigures
// a running VM to see the change. err is the first answer; again sends the change once more.
func (st *scenario) offlineRetry(ctx context.Context, ref *vmRef, err error, again func(context.Context) error) error {
	if code, known := codeOf(err); !known || code != codes.FailedPrecondition {
		return err
	}
	if caps, cerr := st.s.selectedCapabilities(ctx); cerr != nil || caps.ReconfigureOnline {
		return err // online reconfigure advertised: the refusal stands, and the rule judges it
	}
	rctx, cancel := st.read(ctx)
	d, derr := st.d.Describe(rctx, ref.id)
	cancel()
	if derr != nil || d.Power != driver.StateOn {
		return err
	}
	refused := answer(err)
	if a := st.power(ctx, ref, driver.PowerOff); a.err != nil {
		return fmt.Errorf("%w; stopping the VM to reconfigure it offline: %s answered %s", err, a.call, answer(a.err))
	}
	if err := again(ctx); err != nil {
		return fmt.Errorf("refused on the running VM (%s), then on the stopped VM: %w", refused, err)
	}
	if a := st.power(ctx, ref, driver.PowerOn); a.err != nil {
		return fmt.Errorf("reconfigured offline, but starting the VM again: %s answered %s", a.call, answer(a.err))
	}
	return nil
}

// reconfigureCall names a Reconfigure in failure messages: with the payload it sent, in a
// dialect that sends one.
func (st *scenario) reconfigureCall(id, name string, spec driver.Spec) string {
	if raw, ok := st.d.(driver.RawPayloads); ok {
		return fmt.Sprintf("Reconfigure(id=%q, desired_json=%s)", id, raw.DesiredJSON(name, spec))
	}
	return fmt.Sprintf("Reconfigure(id=%q, cpu=%d, memory_mib=%d)", id, spec.CPU, spec.MemoryMiB)
}

// reconfigureRaw is tryReconfigureRaw that must succeed.
func reconfigureRaw(ctx context.Context, doc *godog.DocString) error {
	if err := tryReconfigureRaw(ctx, doc.Content); err != nil {
		return err
	}
	st := current(ctx)
	if ref, err := st.vm(""); err == nil {
		st.last.err = st.offlineRetry(ctx, ref, st.last.err, func(ctx context.Context) error {
			if err := tryReconfigureRaw(ctx, doc.Content); err != nil {
				return err
			}
			return st.last.err
		})
	}
	return st.expectOK(st.last.call, st.last.err)
}

func repeatReconfigure(ctx context.Context, cpu, memory int) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	st.reps = nil
	for range st.s.cfg.IdempotentCount {
		a, _ := st.reconfigure(ctx, ref, cpu, memory)
		st.reps = append(st.reps, a)
	}
	return nil
}

func (st *scenario) delete(ctx context.Context, ref *vmRef) attempt {
	octx, cancel := st.op(ctx)
	defer cancel()
	err := st.d.Delete(octx, ref.id)
	if err == nil {
		st.res.vmDeleted(ref.id)
	}
	return attempt{call: fmt.Sprintf("Delete(id=%q)", ref.id), err: err}
}

func deleteVM(ctx context.Context, alias string) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	a := st.delete(ctx, ref)
	return st.expectOK(a.call, a.err)
}

func repeatDelete(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	st.reps = nil
	for range st.s.cfg.IdempotentCount {
		st.reps = append(st.reps, st.delete(ctx, ref))
	}
	return nil
}

// noLongerExists: Describe answers exists=false (or, in a dialect without that flag,
// NotFound) and the VM list no longer lists the id.
func noLongerExists(ctx context.Context, alias string) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	v := st.look(ctx, ref)
	var f []string
	describeExists, _ := st.d.Supports(driver.FeatureDescribeExists)
	code, _ := codeOf(v.descErr)
	switch {
	case v.descErr == nil && v.desc.Exists:
		f = append(f, fmt.Sprintf("Describe(id=%q): exists=true after the VM was deleted", ref.id))
	case v.descErr != nil && (describeExists || code != codes.NotFound):
		want := "OK with exists=false"
		if !describeExists {
			want = "NotFound"
		}
		f = append(f, fmt.Sprintf("Describe(id=%q) of a deleted VM: expected %s, got %s", ref.id, want, answer(v.descErr)))
	}
	switch {
	case v.listErr != nil:
		f = append(f, fmt.Sprintf("ListVMs: expected OK, got %s", answer(v.listErr)))
	case v.listed != nil:
		f = append(f, fmt.Sprintf("ListVMs still lists %q (id %q) after it was deleted", v.listed.Name, ref.id))
	}
	return joinFailures(st, fmt.Sprintf("VM %q should be gone from every view", ref.name), f)
}
