package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

// DialectWire is the name of the VirtRigaud v1 wire dialect, the default.
const DialectWire = "v1"

// NewWire returns a driver for the VirtRigaud v1 wire protocol (service provider.v1.Provider).
//
// It sends exactly the payloads VirtRigaud's manager sends: class_json {"CPU":..,"MemoryMiB":..},
// image_json {"TemplateName":..,"URL":""} (unless Spec.ImageJSON is given), disks_json
// [{"SizeGiB":..}] when DiskGiB > 0, desired_json as a whole create request (see DesiredJSON) and, for
// clone overrides, CRD camelCase {"cpu":N,"memory":"<n>Gi"} (or "<n>Mi" when not whole GiB).
//
// Hardware is read from ListVMs (VMInfo.cpu, VMInfo.memory_mib) and, when Describe's
// provider_raw_json carries it, from Describe; see HardwareFromRawJSON for the keys accepted.
func NewWire(conn grpc.ClientConnInterface) Driver {
	return &wire{c: providerv1.NewProviderClient(conn), h: healthpb.NewHealthClient(conn)}
}

type wire struct {
	c providerv1.ProviderClient
	h healthpb.HealthClient
}

// The optional interfaces the wire dialect implements, as its Supports promises.
var (
	_ RawPayloads   = (*wire)(nil)
	_ Variants      = (*wire)(nil)
	_ HealthChecker = (*wire)(nil)
	_ Tasks         = (*wire)(nil)
)

// Health asks the standard health service, which the wire facts say every provider serves.
func (w *wire) Health(ctx context.Context, service string) (string, error) {
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := w.h.Check(cctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return "", err
	}
	return resp.GetStatus().String(), nil
}

func (w *wire) Dialect() string { return DialectWire }

// Supports: the v1 wire protocol can express every feature the suite knows.
func (w *wire) Supports(Feature) (bool, string) { return true, "" }

func (w *wire) Capabilities(ctx context.Context) (Capabilities, error) {
	cctx, cancel := callContext(ctx)
	resp, err := w.c.GetCapabilities(cctx, &providerv1.GetCapabilitiesRequest{})
	cancel()
	if err != nil {
		return Capabilities{}, err
	}
	clones, probe, err := w.probeClone(ctx)
	if err != nil {
		return Capabilities{}, err
	}
	raw, _ := protojson.MarshalOptions{EmitUnpopulated: false}.Marshal(resp)
	caps := "GetCapabilities=" + string(raw)
	probe = "clone probe: " + probe
	return Capabilities{
		Snapshots:         resp.GetSupportsSnapshots(),
		Clones:            clones,
		ReconfigureOnline: resp.GetSupportsReconfigureOnline(),
		MemorySnapshots:   resp.GetSupportsMemorySnapshots(),
		LinkedClones:      resp.GetSupportsLinkedClones(),
		Advertised: map[string]bool{
			"supports_image_import": resp.GetSupportsImageImport(),
			"supports_disk_export":  resp.GetSupportsDiskExport(),
			"supports_disk_import":  resp.GetSupportsDiskImport(),
		},
		Lists: map[string][]string{
			"supported_disk_types":      resp.GetSupportedDiskTypes(),
			"supported_network_types":   resp.GetSupportedNetworkTypes(),
			"supported_export_formats":  resp.GetSupportedExportFormats(),
			"supported_import_formats":  resp.GetSupportedImportFormats(),
			"supported_export_backends": resp.GetSupportedExportBackends(),
			"supported_import_backends": resp.GetSupportedImportBackends(),
			"supported_transfer_modes":  resp.GetSupportedTransferModes(),
		},
		Raw:           caps + "; " + probe,
		SnapshotsFrom: caps,
		ClonesFrom:    probe,
	}, nil
}

// cloneProbes are the Clone requests that find out whether clones are offered: the v1
// capabilities have no field for them. None can create anything: the first names no source,
// the others a source that does not exist, in the id formats providers commonly use (a name,
// a Proxmox-style number, a UUID), for a provider that checks its arguments before it answers
// Unimplemented.
var cloneProbes = []*providerv1.CloneRequest{
	{},
	{SourceVmId: "vcts-clone-probe", TargetName: "vcts-clone-probe"},
	{SourceVmId: "999999999", TargetName: "vcts-clone-probe"},
	{SourceVmId: "00000000-0000-4000-8000-000000000000", TargetName: "vcts-clone-probe"},
}

// probeClone finds out whether clones are offered. Unimplemented means they are not;
// InvalidArgument says nothing (the provider refused the arguments before anything else), so
// the next probe is sent; any other answer means clones exist. When every probe is refused as
// invalid, clones are taken to be offered and the clone scenarios tell the rest.
func (w *wire) probeClone(ctx context.Context) (offered bool, answer string, err error) {
	var answers []string
	for _, req := range cloneProbes {
		cctx, cancel := callContext(ctx)
		resp, perr := w.c.Clone(cctx, req)
		cancel()
		code := status.Code(perr)
		call := fmt.Sprintf("Clone(source_vm_id=%q) answered %s", req.GetSourceVmId(), code)
		switch code {
		case codes.DeadlineExceeded, codes.Unavailable, codes.Canceled:
			return false, "", fmt.Errorf("clone capability probe: %w", perr)
		case codes.InvalidArgument:
			answers = append(answers, call)
			continue
		case codes.OK:
			// A clone of a source that does not exist: the clone scenarios fail it. Whatever
			// it made is deleted, best effort.
			if id := resp.GetTargetVmId(); id != "" {
				dctx, cancel := callContext(ctx)
				_, _ = w.c.Delete(dctx, &providerv1.DeleteRequest{Id: id})
				cancel()
			}
		}
		return code != codes.Unimplemented, strings.Join(append(answers, call), ", "), nil
	}
	return true, strings.Join(answers, ", ") + ": every probe was refused as invalid, clones are taken to be offered", nil
}

func (w *wire) Validate(ctx context.Context) (bool, string, error) {
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := w.c.Validate(cctx, &providerv1.ValidateRequest{})
	if err != nil {
		return false, "", err
	}
	return resp.GetOk(), resp.GetMessage(), nil
}

func (w *wire) Create(ctx context.Context, name string, spec Spec) (string, error) {
	return w.CreateRaw(ctx, name, spec, classJSON(spec))
}

func (w *wire) CreateRaw(ctx context.Context, name string, spec Spec, class string) (string, error) {
	req := &providerv1.CreateRequest{
		Name:          name,
		ClassJson:     class,
		ImageJson:     imageJSON(spec),
		NetworksJson:  spec.NetworksJSON,
		DisksJson:     disksJSON(spec),
		PlacementJson: spec.PlacementJSON,
	}
	cctx, cancel := callContext(ctx)
	resp, err := w.c.Create(cctx, req)
	cancel()
	if err != nil {
		return "", err
	}
	return resp.GetId(), w.await(ctx, fmt.Sprintf("Create(name=%q)", name), resp.GetTask())
}

func (w *wire) Describe(ctx context.Context, id string) (Description, error) {
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := w.c.Describe(cctx, &providerv1.DescribeRequest{Id: id})
	if err != nil {
		return Description{}, err
	}
	d := Description{
		Exists: resp.GetExists(), VM: VM{ID: id, Power: resp.GetPowerState(), IPs: resp.GetIps()},
		Raw: resp.GetProviderRawJson(), ConsoleURL: resp.GetConsoleUrl(),
	}
	if hw, ok := HardwareFromRawJSON(resp.GetProviderRawJson()); ok {
		d.CPU, d.MemoryMiB, d.HasHardware = hw.CPU, hw.MemoryMiB, true
	}
	if n := nameFromRawJSON(resp.GetProviderRawJson()); n != "" {
		d.Name = n
	}
	return d, nil
}

func (w *wire) List(ctx context.Context) ([]VM, error) {
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := w.c.ListVMs(cctx, &providerv1.ListVMsRequest{})
	if err != nil {
		return nil, err
	}
	vms := make([]VM, 0, len(resp.GetVms()))
	for _, v := range resp.GetVms() {
		vms = append(vms, VM{
			ID: v.GetId(), Name: v.GetName(), Power: v.GetPowerState(),
			CPU: v.GetCpu(), MemoryMiB: v.GetMemoryMib(), HasHardware: true, IPs: v.GetIps(),
		})
	}
	return vms, nil
}

func (w *wire) Power(ctx context.Context, id string, op PowerOp) error {
	task, err := w.StartPower(ctx, id, op)
	if err != nil {
		return err
	}
	return w.AwaitTask(ctx, fmt.Sprintf("Power(id=%q, op=%s)", id, op), task)
}

func (w *wire) StartPower(ctx context.Context, id string, op PowerOp) (string, error) {
	req := &providerv1.PowerRequest{Id: id, Op: providerv1.PowerOp(op)}
	if op == PowerShutdownGraceful {
		// The manager sends a bound for the guest to shut down; without one a provider may
		// wait forever.
		req.GracefulTimeoutSeconds = 60
	}
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := w.c.Power(cctx, req)
	if err != nil {
		return "", err
	}
	return resp.GetTask().GetId(), nil
}

func (w *wire) Reconfigure(ctx context.Context, id, name string, spec Spec) error {
	return w.ReconfigureRaw(ctx, id, w.DesiredJSON(name, spec))
}

func (w *wire) ReconfigureRaw(ctx context.Context, id, desired string) error {
	cctx, cancel := callContext(ctx)
	resp, err := w.c.Reconfigure(cctx, &providerv1.ReconfigureRequest{Id: id, DesiredJson: desired})
	cancel()
	if err != nil {
		return err
	}
	return w.await(ctx, fmt.Sprintf("Reconfigure(id=%q)", id), resp.GetTask())
}

func (w *wire) Delete(ctx context.Context, id string) error {
	task, err := w.StartDelete(ctx, id)
	if err != nil {
		return err
	}
	return w.AwaitTask(ctx, fmt.Sprintf("Delete(id=%q)", id), task)
}

func (w *wire) StartDelete(ctx context.Context, id string) (string, error) {
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := w.c.Delete(cctx, &providerv1.DeleteRequest{Id: id})
	if err != nil {
		return "", err
	}
	return resp.GetTask().GetId(), nil
}

func (w *wire) AwaitTask(ctx context.Context, call, taskID string) error {
	var ref *providerv1.TaskRef
	if taskID != "" {
		ref = &providerv1.TaskRef{Id: taskID}
	}
	return w.await(ctx, call, ref)
}

func (w *wire) SnapshotCreate(ctx context.Context, vmID, name string) (string, error) {
	return w.snapshotCreate(ctx, vmID, name, false)
}

func (w *wire) SnapshotCreateWithMemory(ctx context.Context, vmID, name string) (string, error) {
	return w.snapshotCreate(ctx, vmID, name, true)
}

func (w *wire) snapshotCreate(ctx context.Context, vmID, name string, memory bool) (string, error) {
	cctx, cancel := callContext(ctx)
	resp, err := w.c.SnapshotCreate(cctx, &providerv1.SnapshotCreateRequest{
		VmId: vmID, NameHint: name, Description: "taken by the vcts conformance suite", IncludeMemory: memory,
	})
	cancel()
	if err != nil {
		return "", err
	}
	return resp.GetSnapshotId(), w.await(ctx, fmt.Sprintf("SnapshotCreate(vm_id=%q)", vmID), resp.GetTask())
}

func (w *wire) SnapshotRevert(ctx context.Context, vmID, snapshotID string) error {
	cctx, cancel := callContext(ctx)
	resp, err := w.c.SnapshotRevert(cctx, &providerv1.SnapshotRevertRequest{VmId: vmID, SnapshotId: snapshotID})
	cancel()
	if err != nil {
		return err
	}
	return w.await(ctx, fmt.Sprintf("SnapshotRevert(vm_id=%q, snapshot_id=%q)", vmID, snapshotID), resp.GetTask())
}

func (w *wire) SnapshotDelete(ctx context.Context, vmID, snapshotID string) error {
	cctx, cancel := callContext(ctx)
	resp, err := w.c.SnapshotDelete(cctx, &providerv1.SnapshotDeleteRequest{VmId: vmID, SnapshotId: snapshotID})
	cancel()
	if err != nil {
		return err
	}
	return w.await(ctx, fmt.Sprintf("SnapshotDelete(vm_id=%q, snapshot_id=%q)", vmID, snapshotID), resp.GetTask())
}

func (w *wire) Clone(ctx context.Context, sourceID, target string, override *Spec) (string, error) {
	class := ""
	if override != nil {
		class = cloneClassJSON(*override)
	}
	return w.CloneRaw(ctx, sourceID, target, class)
}

func (w *wire) CloneRaw(ctx context.Context, sourceID, target, class string) (string, error) {
	return w.clone(ctx, &providerv1.CloneRequest{SourceVmId: sourceID, TargetName: target, ClassJson: class})
}

func (w *wire) LinkedClone(ctx context.Context, sourceID, target string) (string, error) {
	return w.clone(ctx, &providerv1.CloneRequest{SourceVmId: sourceID, TargetName: target, Linked: true})
}

func (w *wire) clone(ctx context.Context, req *providerv1.CloneRequest) (string, error) {
	sourceID, target := req.GetSourceVmId(), req.GetTargetName()
	cctx, cancel := callContext(ctx)
	resp, err := w.c.Clone(cctx, req)
	cancel()
	if err != nil {
		return "", err
	}
	return resp.GetTargetVmId(), w.await(ctx, fmt.Sprintf("Clone(source_vm_id=%q, target_name=%q)", sourceID, target), resp.GetTask())
}

func (w *wire) TaskStatus(ctx context.Context, id string, withRef bool) (TaskState, error) {
	req := &providerv1.TaskStatusRequest{}
	if withRef {
		req.Task = &providerv1.TaskRef{Id: id}
	}
	cctx, cancel := callContext(ctx)
	defer cancel()
	resp, err := w.c.TaskStatus(cctx, req)
	if err != nil {
		return TaskState{}, err
	}
	return TaskState{Done: resp.GetDone(), Error: resp.GetError()}, nil
}

// await waits for a task the way the manager does: a missing reference or an empty id means
// the call finished synchronously; a non-empty error is a failure even while done is false.
func (w *wire) await(ctx context.Context, call string, ref *providerv1.TaskRef) error {
	if ref.GetId() == "" {
		logTask(ctx, TaskRecord{Call: call, Done: true})
		return nil
	}
	wctx, cancel := waitContext(ctx)
	defer cancel()
	start := time.Now()
	rec := TaskRecord{Call: call, ID: ref.GetId()}
	finish := func(err error) error {
		rec.Waited = time.Since(start)
		logTask(ctx, rec)
		return err
	}
	var b backoff
	for {
		cctx, ccancel := callContext(wctx)
		resp, err := w.c.TaskStatus(cctx, &providerv1.TaskStatusRequest{Task: &providerv1.TaskRef{Id: ref.GetId()}})
		ccancel()
		rec.Polls++
		switch {
		case err != nil && (expired(wctx) || status.Code(err) == codes.DeadlineExceeded):
			return finish(&TaskError{Call: call, ID: rec.ID, TimedOut: true, Waited: time.Since(start), Message: "last TaskStatus: " + err.Error()})
		case err != nil:
			// Reported as a task failure, not as the status error itself: a NotFound from
			// TaskStatus must not pass for the operation's own NotFound.
			return finish(&TaskError{Call: call, ID: rec.ID, Message: "TaskStatus answered " + err.Error()})
		case resp.GetError() != "":
			rec.Done, rec.Error = resp.GetDone(), resp.GetError()
			return finish(&TaskError{Call: call, ID: rec.ID, Message: fmt.Sprintf("done=%t error=%q", resp.GetDone(), resp.GetError())})
		case resp.GetDone():
			rec.Done = true
			return finish(nil)
		}
		if err := b.wait(wctx); err != nil {
			return finish(&TaskError{Call: call, ID: rec.ID, TimedOut: true, Waited: time.Since(start), Message: "still done=false"})
		}
	}
}

func classJSON(s Spec) string {
	return mustJSON(struct {
		CPU       int32
		MemoryMiB int64
	}{s.CPU, s.MemoryMiB})
}

func imageJSON(s Spec) string {
	if s.ImageJSON != "" {
		return s.ImageJSON
	}
	return mustJSON(struct{ TemplateName, URL string }{s.Image, ""})
}

// DesiredJSON renders the desired state as the manager does: a whole create request with Go
// field-name keys, carrying the VM's name, class, image and disks (null when none was asked
// for, as Go encodes a nil list), and the configured networks and placement when there are
// any.
func (w *wire) CreatePayload(s Spec) string {
	parts := []string{"class_json=" + classJSON(s), "image_json=" + imageJSON(s)}
	for _, f := range []struct{ name, v string }{
		{"disks_json", disksJSON(s)}, {"networks_json", s.NetworksJSON}, {"placement_json", s.PlacementJSON},
	} {
		if f.v != "" {
			parts = append(parts, f.name+"="+f.v)
		}
	}
	return strings.Join(parts, " ")
}

func (w *wire) DesiredJSON(name string, s Spec) string {
	type class struct {
		CPU       int32
		MemoryMiB int64
	}
	return mustJSON(struct {
		Name      string
		Class     class
		Image     json.RawMessage
		Networks  json.RawMessage `json:",omitempty"`
		Disks     json.RawMessage
		Placement json.RawMessage `json:",omitempty"`
	}{name, class{s.CPU, s.MemoryMiB}, rawJSON(imageJSON(s)), rawJSON(s.NetworksJSON), rawJSON(disksJSON(s)), rawJSON(s.PlacementJSON)})
}

// disksJSON is disks_json of a create: one disk of DiskGiB, or nothing (null) when none.
func disksJSON(s Spec) string {
	if s.DiskGiB <= 0 {
		return ""
	}
	return mustJSON([]struct{ SizeGiB int32 }{{s.DiskGiB}})
}

// rawJSON embeds a JSON payload in another; empty is null, and text that is not JSON (the
// configuration checks it, a library caller may not) is embedded as a JSON string.
func rawJSON(s string) json.RawMessage {
	switch {
	case s == "":
		return nil
	case !json.Valid([]byte(s)):
		return json.RawMessage(mustJSON(s))
	}
	return json.RawMessage(s)
}

// cloneClassJSON renders an override as a Kubernetes CRD does: camelCase keys and a memory
// quantity string.
// A zero CPU or memory is left out, as a CRD leaves out an unset field.
func cloneClassJSON(s Spec) string {
	var class struct {
		CPU    int32  `json:"cpu,omitempty"`
		Memory string `json:"memory,omitempty"`
	}
	class.CPU = s.CPU
	switch {
	case s.MemoryMiB > 0 && s.MemoryMiB%1024 == 0:
		class.Memory = fmt.Sprintf("%dGi", s.MemoryMiB/1024)
	case s.MemoryMiB > 0:
		class.Memory = fmt.Sprintf("%dMi", s.MemoryMiB)
	}
	return mustJSON(class)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only fixed struct types are marshalled here; failing is a programming error.
		panic(err)
	}
	return string(b)
}

// Hardware is CPU and memory found in a provider's free-form JSON.
type Hardware struct {
	CPU       int32
	MemoryMiB int64
}

// Keys accepted (case-insensitively) in Describe's provider_raw_json. The wire protocol leaves
// the field free-form, so the suite accepts the common spellings, at the top level or one
// level down under "class", "spec", "hardware" or "config". A bare "memory" is not accepted:
// it is ambiguous between MiB, bytes and quantity strings. A plain "cpu" comes last: some
// hypervisors (Proxmox) use it for the CPU load next to "cpus" or "maxcpu" for the count.
var (
	rawCPUKeys       = []string{"cpus", "numcpus", "numcpu", "vcpus", "vcpu", "maxcpu"}
	rawMemoryKeys    = []string{"memorymib", "memory_mib", "memmib"}
	rawHardwareNests = []string{"class", "spec", "hardware", "config"}
)

// HardwareFromRawJSON extracts CPU and memory (MiB) from Describe's provider_raw_json. ok is
// false unless both are present as whole numbers.
func HardwareFromRawJSON(raw string) (hw Hardware, ok bool) {
	var top map[string]any
	if raw == "" || json.Unmarshal([]byte(raw), &top) != nil {
		return Hardware{}, false
	}
	objects := []map[string]any{top}
	for _, k := range rawHardwareNests {
		if nested, ok := lookup(top, k).(map[string]any); ok {
			objects = append(objects, nested)
		}
	}
	for _, o := range objects {
		cpu, cok := rawCPUCount(o)
		mem, mok := wholeNumber(lookupAny(o, rawMemoryKeys))
		if cok && mok && cpu <= math.MaxInt32 && cpu >= math.MinInt32 {
			return Hardware{CPU: int32(cpu), MemoryMiB: mem}, true
		}
	}
	return Hardware{}, false
}

// rawCPUCount reads the CPU count of one object: a count key, else cores (times sockets,
// where given), else "cpu" — last, because Proxmox's "cpu" is the CPU load next to its count
// ("cpus", "maxcpu", or "cores" and "sockets"), and a stopped VM's load is a whole 0.
func rawCPUCount(o map[string]any) (int64, bool) {
	if cpu, ok := wholeNumber(lookupAny(o, rawCPUKeys)); ok {
		return cpu, true
	}
	if cores, ok := wholeNumber(lookup(o, "cores")); ok {
		if sockets, ok := wholeNumber(lookup(o, "sockets")); ok && sockets > 0 {
			return cores * sockets, true
		}
		return cores, true
	}
	return wholeNumber(lookup(o, "cpu"))
}

func nameFromRawJSON(raw string) string {
	var top map[string]any
	if raw == "" || json.Unmarshal([]byte(raw), &top) != nil {
		return ""
	}
	n, _ := lookup(top, "name").(string)
	return n
}

func lookup(o map[string]any, key string) any {
	for k, v := range o {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func lookupAny(o map[string]any, keys []string) any {
	for _, k := range keys {
		if v := lookup(o, k); v != nil {
			return v
		}
	}
	return nil
}

func wholeNumber(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func (w *wire) EmptyCall(ctx context.Context, rpc string) error {
	cctx, cancel := callContext(ctx)
	defer cancel()
	var err error
	switch rpc {
	case "ImagePrepare":
		_, err = w.c.ImagePrepare(cctx, &providerv1.ImagePrepareRequest{})
	case "ExportDisk":
		_, err = w.c.ExportDisk(cctx, &providerv1.ExportDiskRequest{})
	case "ImportDisk":
		_, err = w.c.ImportDisk(cctx, &providerv1.ImportDiskRequest{})
	case "HardwareUpgrade":
		_, err = w.c.HardwareUpgrade(cctx, &providerv1.HardwareUpgradeRequest{})
	case "GetDiskInfo":
		_, err = w.c.GetDiskInfo(cctx, &providerv1.GetDiskInfoRequest{})
	default:
		return fmt.Errorf("EmptyCall: no RPC %q: %w", rpc, ErrNotExpressible)
	}
	return err
}
