package steps

import (
	"context"
	"fmt"

	"github.com/vctsio/vcts/steps/driver"
)

var cloneSteps = []phrase{
	{`^I clone "([^"]*)" to "([^"]*)"$`, cloneVM},
	{`^I clone "([^"]*)" to "([^"]*)" with (\d+) CPUs? and (\d+) MiB of memory$`, cloneWithOverride},
	{`^I clone "([^"]*)" to "([^"]*)" with the class JSON '(.*)'$`, cloneWithClassJSON},
	{`^I try to clone "([^"]*)" to an empty name$`, tryCloneToEmptyName},
	{`^I try to clone "([^"]*)" to the name of "([^"]*)"$`, tryCloneToNameOf},
	{`^I send the same clone of "([^"]*)" to "([^"]*)" N times$`, repeatClone},
	{`^"([^"]*)" has a non-empty id different from the id of "([^"]*)"$`, cloneIDDiffers},
}

func cloneCall(sourceID, target string) string {
	return fmt.Sprintf("Clone(source_vm_id=%q, target_name=%q)", sourceID, target)
}

// clone registers the clone the moment its id is known, then requires success and an id.
func (st *scenario) clone(ctx context.Context, source, target string, spec driver.Spec, send func(ctx context.Context, sourceID, name string) (string, error)) error {
	src, err := st.vm(source)
	if err != nil {
		return err
	}
	name := st.vmName(target)
	octx, cancel := st.op(ctx)
	defer cancel()
	id, err := send(octx, src.id, name)
	st.res.addVM(id, name)
	call := cloneCall(src.id, name)
	if err := st.expectOK(call, err); err != nil {
		return err
	}
	if id == "" {
		return st.failf("%s: answered OK with an empty target VM id", call)
	}
	st.vms[target] = &vmRef{alias: target, name: name, id: id, spec: spec}
	return nil
}

func cloneVM(ctx context.Context, source, target string) error {
	st := current(ctx)
	src, err := st.vm(source)
	if err != nil {
		return err
	}
	return st.clone(ctx, source, target, src.spec, func(ctx context.Context, id, name string) (string, error) {
		return st.d.Clone(ctx, id, name, nil)
	})
}

func cloneWithOverride(ctx context.Context, source, target string, cpu, memory int) error {
	st := current(ctx)
	src, err := st.vm(source)
	if err != nil {
		return err
	}
	spec := src.spec
	spec.CPU, spec.MemoryMiB = int32(cpu), int64(memory)
	return st.clone(ctx, source, target, spec, func(ctx context.Context, id, name string) (string, error) {
		return st.d.Clone(ctx, id, name, &spec)
	})
}

func cloneWithClassJSON(ctx context.Context, source, target, class string) error {
	st := current(ctx)
	src, err := st.vm(source)
	if err != nil {
		return err
	}
	raw, err := st.rawPayloads()
	if err != nil {
		return err
	}
	return st.clone(ctx, source, target, src.spec, func(ctx context.Context, id, name string) (string, error) {
		return raw.CloneRaw(ctx, id, name, class)
	})
}

func tryCloneToEmptyName(ctx context.Context, source string) error {
	st := current(ctx)
	src, err := st.vm(source)
	if err != nil {
		return err
	}
	octx, cancel := st.op(ctx)
	defer cancel()
	id, err := st.d.Clone(octx, src.id, "", nil)
	st.res.addVM(id, "")
	st.last = &attempt{call: cloneCall(src.id, ""), err: err, id: id}
	return nil
}

// tryCloneToNameOf clones source to the name another VM (or source itself) already holds.
// Whatever the provider answers with is registered, so a VM it wrongly made is cleaned up.
func tryCloneToNameOf(ctx context.Context, source, holder string) error {
	st := current(ctx)
	src, err := st.vm(source)
	if err != nil {
		return err
	}
	h, err := st.vm(holder)
	if err != nil {
		return err
	}
	octx, cancel := st.op(ctx)
	defer cancel()
	id, err := st.d.Clone(octx, src.id, h.name, nil)
	if id != h.id {
		st.res.addVM(id, h.name)
	}
	st.last = &attempt{call: cloneCall(src.id, h.name), err: err, id: id}
	return nil
}

func cloneIDDiffers(ctx context.Context, target, source string) error {
	st := current(ctx)
	t, err := st.vm(target)
	if err != nil {
		return err
	}
	s, err := st.vm(source)
	if err != nil {
		return err
	}
	switch t.id {
	case "":
		return st.failf("%s returned an empty target id", cloneCall(s.id, t.name))
	case s.id:
		return st.failf("%s returned the source's own id %q as the clone's id", cloneCall(s.id, t.name), t.id)
	}
	return nil
}

// repeatClone sends the clone that made target again, as the manager does when it lost the
// answer; each answer is registered, so duplicates a provider makes are cleaned up too.
func repeatClone(ctx context.Context, source, target string) error {
	st := current(ctx)
	src, err := st.vm(source)
	if err != nil {
		return err
	}
	t, err := st.vm(target)
	if err != nil {
		return err
	}
	st.reps = nil
	for range st.s.cfg.IdempotentCount {
		octx, cancel := st.op(ctx)
		id, err := st.d.Clone(octx, src.id, t.name, nil)
		cancel()
		st.res.addVM(id, t.name)
		st.reps = append(st.reps, attempt{call: cloneCall(src.id, t.name), err: err, id: id})
	}
	return nil
}
