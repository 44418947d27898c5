package steps

import (
	"context"
	"fmt"
	"slices"

	"github.com/vctsio/vcts/steps/driver"
)

var powerSteps = []phrase{
	{`^a (running|stopped) VM(?: "([^"]*)")?$`, givenPoweredVM},
	{`^I power the VM(?: "([^"]*)")? (on|off)$`, powerVM},
	{`^I reboot the VM$`, rebootVM},
	{`^I shut the VM down gracefully$`, shutdownVM},
	{`^the VM(?: "([^"]*)")? is (On|Off) in every view$`, isPowered},
	{`^the VM is On or Off in every view$`, isOnOrOff},
	{`^the VM is On in every view if the provider advertises online reconfigure, else On or Off$`, isOnIfOnlineReconfigure},
	{`^I send the power (on|off|reboot|graceful shutdown) request N times$`, repeatPower},
	{`^I try to power the VM with operation (-?\d+)$`, tryPowerOp},
}

func powerOp(word string) driver.PowerOp {
	switch word {
	case "on":
		return driver.PowerOn
	case "reboot":
		return driver.PowerReboot
	case "graceful shutdown":
		return driver.PowerShutdownGraceful
	}
	return driver.PowerOff
}

func powerCall(id string, op driver.PowerOp) string {
	return fmt.Sprintf("Power(id=%q, op=%s)", id, op)
}

func (st *scenario) power(ctx context.Context, ref *vmRef, op driver.PowerOp) attempt {
	octx, cancel := st.op(ctx)
	defer cancel()
	return attempt{call: powerCall(ref.id, op), err: st.d.Power(octx, ref.id, op)}
}

// givenPoweredVM establishes the starting state and checks it, so that a later failure is
// about the rule under test and not about the precondition.
func givenPoweredVM(ctx context.Context, state, alias string) error {
	st := current(ctx)
	ref, err := st.createVM(ctx, alias, st.s.cfg.VMSpec)
	if err != nil {
		return err
	}
	op, want := driver.PowerOn, driver.StateOn
	if state == "stopped" {
		op, want = driver.PowerOff, driver.StateOff
	}
	a := st.power(ctx, ref, op)
	if err := st.expectOK(a.call, a.err); err != nil {
		return err
	}
	return st.checkPower(ctx, ref, want)
}

func powerVM(ctx context.Context, alias, word string) error {
	return powerWith(ctx, alias, powerOp(word))
}

func rebootVM(ctx context.Context) error { return powerWith(ctx, "", driver.PowerReboot) }

func shutdownVM(ctx context.Context) error { return powerWith(ctx, "", driver.PowerShutdownGraceful) }

func powerWith(ctx context.Context, alias string, op driver.PowerOp) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	a := st.power(ctx, ref, op)
	return st.expectOK(a.call, a.err)
}

func isPowered(ctx context.Context, alias, state string) error {
	st := current(ctx)
	ref, err := st.vm(alias)
	if err != nil {
		return err
	}
	return st.checkPower(ctx, ref, state)
}

func isOnOrOff(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	return st.checkPower(ctx, ref, driver.StateOn, driver.StateOff)
}

// isOnIfOnlineReconfigure holds a provider to keeping a VM running through a reconfigure only
// when it advertises online reconfigure; otherwise any power state the manager understands
// passes, as long as every view agrees.
func isOnIfOnlineReconfigure(ctx context.Context) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	rctx, cancel := st.op(ctx)
	defer cancel()
	c, err := st.d.Capabilities(rctx)
	if err := st.expectOK("GetCapabilities", err); err != nil {
		return err
	}
	if c.ReconfigureOnline {
		return st.checkPower(ctx, ref, driver.StateOn)
	}
	return st.checkPower(ctx, ref, driver.StateOn, driver.StateOff)
}

// checkPower: Describe reports a power state that is one of want; the VM list, where it
// reports one, agrees.
func (st *scenario) checkPower(ctx context.Context, ref *vmRef, want ...string) error {
	v := st.look(ctx, ref)
	f := st.present(ref, v)
	if len(f) == 0 {
		if !slices.Contains(want, v.desc.Power) {
			f = append(f, fmt.Sprintf("Describe(id=%q) reports power state %q, expected %s", ref.id, v.desc.Power, oneOf(want)))
		}
		// A VM list without power states reports none (as with hardware): Describe must. A
		// list that reports them for other VMs but not for this one hides its state.
		if v.listed.Power == "" {
			for _, o := range v.all {
				if o.Power != "" {
					f = append(f, fmt.Sprintf("ListVMs lists %q with no power state, though it reports one for other VMs (%q is %q)", ref.name, o.Name, o.Power))
					break
				}
			}
		}
		if v.listed.Power != "" && !slices.Contains(want, v.listed.Power) {
			f = append(f, fmt.Sprintf("ListVMs lists %q with power state %q, expected %s", ref.name, v.listed.Power, oneOf(want)))
		}
		if len(f) == 0 && v.listed.Power != "" && v.desc.Power != v.listed.Power {
			f = append(f, fmt.Sprintf("Describe says %q but ListVMs says %q", v.desc.Power, v.listed.Power))
		}
	}
	return joinFailures(st, fmt.Sprintf("VM %q should be %s in every view", ref.name, oneOf(want)), f)
}

func oneOf(want []string) string {
	if len(want) == 1 {
		return fmt.Sprintf("%q", want[0])
	}
	return fmt.Sprintf("one of %q", want)
}

func repeatPower(ctx context.Context, word string) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	st.reps = nil
	for range st.s.cfg.IdempotentCount {
		st.reps = append(st.reps, st.power(ctx, ref, powerOp(word)))
	}
	return nil
}

func tryPowerOp(ctx context.Context, op int) error {
	st := current(ctx)
	ref, err := st.vm("")
	if err != nil {
		return err
	}
	a := st.power(ctx, ref, driver.PowerOp(int32(op)))
	st.last = &a
	return nil
}
