package driver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"

	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// DialectTutorial is the name of the typed tutorial API dialect.
const DialectTutorial = "tutorial"

// Tutorial VM states. Running and Stopped are final and map to On and Off; Creating and
// Rebooting are transitional and reported unchanged.
const (
	tutorialRunning   = "Running"
	tutorialStopped   = "Stopped"
	tutorialCreating  = "Creating"
	tutorialRebooting = "Rebooting"
)

// NewTutorial returns a driver for the tutorial's typed API (service
// virtrigaud.tutorial.v1.ProviderService).
//
// The API has no task references: a transitional state (Creating, Rebooting) is its task, so
// Create, Power and Clone wait, bounded by the task timeout, until the VM leaves it. It has
// no Validate, no graceful shutdown, no snapshot revert or delete, no clone override and no
// JSON payloads; ListVMs reports no hardware; GetVM of an unknown id is NotFound rather than
// exists=false. Supports reports each of these with its reason. It has no online-reconfigure
// flag either: Capabilities never reports ReconfigureOnline.
func NewTutorial(conn grpc.ClientConnInterface) Driver {
	return &tutorial{c: tutorialv1.NewProviderServiceClient(conn)}
}

type tutorial struct {
	c tutorialv1.ProviderServiceClient
}

var tutorialUnsupported = map[Feature]string{
	FeatureRawPayload:       "the tutorial API is typed (VMSpec); it carries no JSON payloads",
	FeatureTasks:            "the tutorial API has no task references or TaskStatus call",
	FeatureValidate:         "the tutorial API has no Validate call",
	FeatureGracefulShutdown: "the tutorial API's PowerOp has no graceful shutdown",
	FeatureSnapshotRevert:   "the tutorial API has no snapshot revert call",
	FeatureSnapshotDelete:   "the tutorial API has no snapshot delete call",
	FeatureCloneOverride:    "the tutorial API's CloneVM takes no hardware override",
	FeatureListHardware:     "the tutorial API's ListVMs (VMSummary) reports no CPU or memory",
	FeatureDescribeExists:   "the tutorial API's GetVM answers NotFound for an unknown id; it has no exists flag",
	FeatureVariants:         "the tutorial API has no memory snapshots or linked clones",
	FeatureHealth:           "the tutorial API does not promise the gRPC health service",
	FeatureAddresses:        "the tutorial API's GetVM and ListVMs report no IP addresses or console URL",
}

func (t *tutorial) Dialect() string { return DialectTutorial }

func (t *tutorial) Supports(f Feature) (bool, string) {
	if reason, ok := tutorialUnsupported[f]; ok {
		return false, reason
	}
	return true, ""
}

func (t *tutorial) Capabilities(ctx context.Context) (Capabilities, error) {
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := t.c.GetCapabilities(cctx, &tutorialv1.GetCapabilitiesRequest{})
	if err != nil {
		return Capabilities{}, err
	}
	var c Capabilities
	var parts, names []string
	for _, capa := range resp.GetCapabilities() {
		parts = append(parts, fmt.Sprintf("%s=%t", capa.GetName(), capa.GetSupported()))
		names = append(names, capa.GetName())
		switch capa.GetName() {
		case "vm.snapshot":
			c.Snapshots = capa.GetSupported()
		case "vm.clone":
			c.Clones = capa.GetSupported()
		}
		if slices.Contains(CoreCapabilities, capa.GetName()) {
			if c.Core == nil {
				c.Core = map[string]bool{}
			}
			// A name listed twice counts as offered only if every entry says so (CORE-069
			// judges the repetition itself).
			offered, seen := c.Core[capa.GetName()]
			c.Core[capa.GetName()] = capa.GetSupported() && (offered || !seen)
		}
	}
	if c.Core == nil {
		c.Core = map[string]bool{}
	}
	c.Lists = map[string][]string{"capabilities.name": names}
	c.Raw = fmt.Sprintf("provider_id=%q %s", resp.GetProviderId(), strings.Join(parts, " "))
	c.answer = prototext.Format(resp)
	return c, nil
}

func (t *tutorial) Validate(context.Context) (bool, string, error) {
	return false, "", fmt.Errorf("Validate: %w", ErrNotExpressible)
}

func (t *tutorial) Create(ctx context.Context, name string, spec Spec) (string, error) {
	cctx, cancel := callContext(ctx)
	resp, err := t.c.CreateVM(cctx, &tutorialv1.CreateVMRequest{Name: name, Spec: tutorialSpec(spec)})
	cancel()
	if err != nil {
		return "", err
	}
	id := resp.GetVmId()
	if !transitional(resp.GetStatus().GetState()) {
		return id, nil
	}
	return id, t.settle(ctx, fmt.Sprintf("CreateVM(name=%q)", name), id)
}

func (t *tutorial) Describe(ctx context.Context, id string) (Description, error) {
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := t.c.GetVM(cctx, &tutorialv1.GetVMRequest{VmId: id})
	if err != nil {
		return Description{}, err
	}
	d := Description{Exists: true, VM: VM{
		ID: resp.GetVmId(), Name: resp.GetName(), Power: tutorialPower(resp.GetStatus().GetState()),
	}}
	if s := resp.GetSpec(); s != nil {
		d.CPU, d.MemoryMiB, d.HasHardware = s.GetCpu(), s.GetMemory(), true
	}
	return d, nil
}

func (t *tutorial) List(ctx context.Context) ([]VM, error) {
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := t.c.ListVMs(cctx, &tutorialv1.ListVMsRequest{})
	if err != nil {
		return nil, err
	}
	vms := make([]VM, 0, len(resp.GetVms()))
	for _, v := range resp.GetVms() {
		vms = append(vms, VM{ID: v.GetVmId(), Name: v.GetName(), Power: tutorialPower(v.GetStatus().GetState())})
	}
	return vms, nil
}

func (t *tutorial) Power(ctx context.Context, id string, op PowerOp) error {
	cctx, cancel := callContext(ctx)
	resp, err := t.c.PowerVM(cctx, &tutorialv1.PowerVMRequest{VmId: id, PowerOp: tutorialv1.PowerOp(op)})
	cancel()
	if err != nil {
		return err
	}
	if !transitional(resp.GetStatus().GetState()) {
		return nil
	}
	return t.settle(ctx, fmt.Sprintf("PowerVM(vm_id=%q, power_op=%s)", id, op), id)
}

func (t *tutorial) Reconfigure(ctx context.Context, id, _ string, spec Spec) error {
	cctx, cancel := callContext(ctx)
	defer cancel()
	_, err := t.c.UpdateVM(cctx, &tutorialv1.UpdateVMRequest{VmId: id, Spec: tutorialSpec(spec)})
	return err
}

func (t *tutorial) Delete(ctx context.Context, id string) error {
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := t.c.DeleteVM(cctx, &tutorialv1.DeleteVMRequest{VmId: id})
	if err != nil {
		return err
	}
	if !resp.GetSuccess() {
		return &TaskError{Call: fmt.Sprintf("DeleteVM(vm_id=%q)", id), Message: fmt.Sprintf("success=false: %q", resp.GetMessage())}
	}
	return nil
}

func (t *tutorial) SnapshotCreate(ctx context.Context, vmID, name string) (string, error) {
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := t.c.CreateSnapshot(cctx, &tutorialv1.CreateSnapshotRequest{
		VmId: vmID, Name: name, Description: "taken by the vcts conformance suite",
	})
	if err != nil {
		return "", err
	}
	// A "Running" snapshot cannot be observed further: the API has no call to poll it.
	if st := resp.GetStatus(); st.GetState() == "Failed" {
		return resp.GetSnapshotId(), &TaskError{Call: fmt.Sprintf("CreateSnapshot(vm_id=%q)", vmID), Message: st.GetMessage()}
	}
	return resp.GetSnapshotId(), nil
}

func (t *tutorial) SnapshotRevert(context.Context, string, string) error {
	return fmt.Errorf("snapshot revert: %w", ErrNotExpressible)
}

func (t *tutorial) SnapshotDelete(context.Context, string, string) error {
	return fmt.Errorf("snapshot delete: %w", ErrNotExpressible)
}

func (t *tutorial) Clone(ctx context.Context, sourceID, target string, override *Spec) (string, error) {
	if override != nil {
		return "", fmt.Errorf("clone with a hardware override: %w", ErrNotExpressible)
	}
	call := fmt.Sprintf("CloneVM(source_vm_id=%q, clone_name=%q)", sourceID, target)
	cctx, cancel := callContext(ctx)
	resp, err := t.c.CloneVM(cctx, &tutorialv1.CloneVMRequest{SourceVmId: sourceID, CloneName: target})
	cancel()
	if err != nil {
		return "", err
	}
	id := resp.GetCloneVmId()
	if st := resp.GetStatus(); st.GetState() == "Failed" {
		return id, &TaskError{Call: call, Message: st.GetMessage()}
	}
	if id == "" {
		return "", nil
	}
	return id, t.settle(ctx, call, id)
}

// settle waits until a VM leaves its transitional state. This dialect's transitional state
// plays the role of the wire protocol's task, so it is logged like one.
func (t *tutorial) settle(ctx context.Context, call, id string) error {
	wctx, cancel := waitContext(ctx)
	defer cancel()
	start := time.Now()
	rec := TaskRecord{Call: call}
	finish := func(err error) error {
		rec.Waited = time.Since(start)
		logTask(ctx, rec)
		return err
	}
	var b backoff
	state := ""
	for {
		cctx, ccancel := callContext(wctx)
		resp, err := t.c.GetVM(cctx, &tutorialv1.GetVMRequest{VmId: id})
		ccancel()
		rec.Polls++
		if err != nil {
			if expired(wctx) || status.Code(err) == codes.DeadlineExceeded {
				return finish(&TaskError{Call: call, TimedOut: true, Waited: time.Since(start), Message: "last GetVM: " + err.Error()})
			}
			return finish(&TaskError{Call: call, Message: "GetVM while waiting answered " + err.Error()})
		}
		state = resp.GetStatus().GetState()
		if !transitional(state) {
			rec.Done = true
			return finish(nil)
		}
		if err := b.wait(wctx); err != nil {
			return finish(&TaskError{Call: call, TimedOut: true, Waited: time.Since(start), Message: "VM still " + state})
		}
	}
}

func transitional(state string) bool {
	return state == tutorialCreating || state == tutorialRebooting
}

func tutorialPower(state string) string {
	switch state {
	case tutorialRunning:
		return StateOn
	case tutorialStopped:
		return StateOff
	}
	return state
}

// tutorialSpec is the VMSpec of s; a spec with neither CPU nor memory is sent as no spec at
// all, the typed API's request without hardware (the negative rules' 0 CPUs and 0 MiB).
func tutorialSpec(s Spec) *tutorialv1.VMSpec {
	if s.CPU == 0 && s.MemoryMiB == 0 {
		return nil
	}
	return &tutorialv1.VMSpec{Cpu: s.CPU, Memory: s.MemoryMiB, Image: s.Image}
}
