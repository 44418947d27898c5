// Package compat proves that our provider.v1 proto is wire-compatible with the published facts
// of VirtRigaud's protocol, and that the committed generated code matches the .proto sources.
package compat

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

// field is one row of the facts page: number, wire type (proto kind or message name), repeated/map.
type field struct {
	name   string
	number protoreflect.FieldNumber
	kind   string // proto kind name ("string", "bool", ...) or full message/enum name
	label  string // "", "repeated" or "map<string,string>"
}

// wireFacts is transcribed from the facts page (shared/spec/virtrigaud-wire-v1.md).
var wireFacts = map[string][]field{
	"TaskRef":          {{"id", 1, "string", ""}},
	"Empty":            {},
	"TaskResponse":     {{"task", 1, "provider.v1.TaskRef", ""}},
	"ValidateRequest":  {},
	"ValidateResponse": {{"ok", 1, "bool", ""}, {"message", 2, "string", ""}},
	"CreateRequest": {
		{"name", 1, "string", ""}, {"user_data", 2, "bytes", ""}, {"class_json", 3, "string", ""},
		{"image_json", 4, "string", ""}, {"networks_json", 5, "string", ""}, {"disks_json", 6, "string", ""},
		{"placement_json", 7, "string", ""}, {"tags", 8, "string", "repeated"}, {"meta_data", 9, "bytes", ""},
	},
	"CreateResponse": {{"id", 1, "string", ""}, {"task", 2, "provider.v1.TaskRef", ""}},
	"DeleteRequest":  {{"id", 1, "string", ""}},
	"PowerRequest": {
		{"id", 1, "string", ""}, {"op", 2, "provider.v1.PowerOp", ""}, {"graceful_timeout_seconds", 3, "int32", ""},
	},
	"ReconfigureRequest":     {{"id", 1, "string", ""}, {"desired_json", 2, "string", ""}},
	"HardwareUpgradeRequest": {{"id", 1, "string", ""}, {"target_version", 2, "int32", ""}},
	"DescribeRequest":        {{"id", 1, "string", ""}},
	"DescribeResponse": {
		{"exists", 1, "bool", ""}, {"power_state", 2, "string", ""}, {"ips", 3, "string", "repeated"},
		{"console_url", 4, "string", ""}, {"provider_raw_json", 5, "string", ""},
	},
	"TaskStatusRequest":  {{"task", 1, "provider.v1.TaskRef", ""}},
	"TaskStatusResponse": {{"done", 1, "bool", ""}, {"error", 2, "string", ""}},
	"SnapshotCreateRequest": {
		{"vm_id", 1, "string", ""}, {"name_hint", 2, "string", ""}, {"include_memory", 3, "bool", ""},
		{"description", 4, "string", ""},
	},
	"SnapshotCreateResponse": {{"snapshot_id", 1, "string", ""}, {"task", 2, "provider.v1.TaskRef", ""}},
	"SnapshotDeleteRequest":  {{"vm_id", 1, "string", ""}, {"snapshot_id", 2, "string", ""}},
	"SnapshotRevertRequest":  {{"vm_id", 1, "string", ""}, {"snapshot_id", 2, "string", ""}},
	"CloneRequest": {
		{"source_vm_id", 1, "string", ""}, {"target_name", 2, "string", ""}, {"linked", 3, "bool", ""},
		{"class_json", 4, "string", ""}, {"placement_json", 5, "string", ""}, {"customize_json", 6, "string", ""},
	},
	"CloneResponse": {{"target_vm_id", 1, "string", ""}, {"task", 2, "provider.v1.TaskRef", ""}},
	"ImagePrepareRequest": {
		{"image_json", 1, "string", ""}, {"target_name", 2, "string", ""}, {"storage_hint", 3, "string", ""},
	},
	"ImagePrepareResponse": {
		{"task", 1, "provider.v1.TaskRef", ""}, {"prepared_image_id", 2, "string", ""},
		{"prepared_image_path", 3, "string", ""},
	},
	"ExportDiskRequest": {
		{"vm_id", 1, "string", ""}, {"disk_id", 2, "string", ""}, {"snapshot_id", 3, "string", ""},
		{"destination_url", 4, "string", ""}, {"format", 5, "string", ""}, {"compress", 6, "bool", ""},
		{"credentials", 7, "string", "map<string,string>"}, {"backend_type", 8, "string", ""},
		{"transfer_mode", 9, "string", ""}, {"storage_options_json", 10, "string", ""},
	},
	"ExportDiskResponse": {
		{"export_id", 1, "string", ""}, {"task", 2, "provider.v1.TaskRef", ""},
		{"estimated_size_bytes", 3, "int64", ""}, {"checksum", 4, "string", ""},
	},
	"ImportDiskRequest": {
		{"source_url", 1, "string", ""}, {"storage_hint", 2, "string", ""}, {"format", 3, "string", ""},
		{"target_name", 4, "string", ""}, {"verify_checksum", 5, "bool", ""}, {"expected_checksum", 6, "string", ""},
		{"credentials", 7, "string", "map<string,string>"}, {"backend_type", 8, "string", ""},
		{"transfer_mode", 9, "string", ""}, {"storage_options_json", 10, "string", ""},
	},
	"ImportDiskResponse": {
		{"disk_id", 1, "string", ""}, {"path", 2, "string", ""}, {"task", 3, "provider.v1.TaskRef", ""},
		{"actual_size_bytes", 4, "int64", ""}, {"checksum", 5, "string", ""},
	},
	"GetDiskInfoRequest": {{"vm_id", 1, "string", ""}, {"disk_id", 2, "string", ""}, {"snapshot_id", 3, "string", ""}},
	"GetDiskInfoResponse": {
		{"disk_id", 1, "string", ""}, {"format", 2, "string", ""}, {"virtual_size_bytes", 3, "int64", ""},
		{"actual_size_bytes", 4, "int64", ""}, {"path", 5, "string", ""}, {"is_bootable", 6, "bool", ""},
		{"snapshots", 7, "string", "repeated"}, {"backing_file", 8, "string", ""},
		{"metadata", 9, "string", "map<string,string>"},
	},
	"ListVMsRequest":  {},
	"ListVMsResponse": {{"vms", 1, "provider.v1.VMInfo", "repeated"}},
	"VMInfo": {
		{"id", 1, "string", ""}, {"name", 2, "string", ""}, {"power_state", 3, "string", ""},
		{"ips", 4, "string", "repeated"}, {"cpu", 5, "int32", ""}, {"memory_mib", 6, "int64", ""},
		{"disks", 7, "provider.v1.DiskInfo", "repeated"}, {"networks", 8, "provider.v1.NetworkInfo", "repeated"},
		{"provider_raw", 9, "string", "map<string,string>"},
	},
	"DiskInfo":               {{"id", 1, "string", ""}, {"path", 2, "string", ""}, {"size_gib", 3, "int32", ""}, {"format", 4, "string", ""}},
	"NetworkInfo":            {{"name", 1, "string", ""}, {"mac", 2, "string", ""}, {"ip_address", 3, "string", ""}},
	"GetCapabilitiesRequest": {},
	"GetCapabilitiesResponse": {
		{"supports_reconfigure_online", 1, "bool", ""}, {"supports_disk_expansion_online", 2, "bool", ""},
		{"supports_snapshots", 3, "bool", ""}, {"supports_memory_snapshots", 4, "bool", ""},
		{"supports_linked_clones", 5, "bool", ""}, {"supports_image_import", 6, "bool", ""},
		{"supported_disk_types", 7, "string", "repeated"}, {"supported_network_types", 8, "string", "repeated"},
		{"supports_disk_export", 9, "bool", ""}, {"supports_disk_import", 10, "bool", ""},
		{"supported_export_formats", 11, "string", "repeated"}, {"supported_import_formats", 12, "string", "repeated"},
		{"supports_export_compression", 13, "bool", ""}, {"supported_export_backends", 14, "string", "repeated"},
		{"supported_import_backends", 15, "string", "repeated"}, {"supported_transfer_modes", 16, "string", "repeated"},
	},
}

// wireRPCs is the RPC table of the facts page: name → request, response.
var wireRPCs = map[string][2]string{
	"Validate":        {"ValidateRequest", "ValidateResponse"},
	"Create":          {"CreateRequest", "CreateResponse"},
	"Delete":          {"DeleteRequest", "TaskResponse"},
	"Power":           {"PowerRequest", "TaskResponse"},
	"Reconfigure":     {"ReconfigureRequest", "TaskResponse"},
	"HardwareUpgrade": {"HardwareUpgradeRequest", "TaskResponse"},
	"Describe":        {"DescribeRequest", "DescribeResponse"},
	"TaskStatus":      {"TaskStatusRequest", "TaskStatusResponse"},
	"SnapshotCreate":  {"SnapshotCreateRequest", "SnapshotCreateResponse"},
	"SnapshotDelete":  {"SnapshotDeleteRequest", "TaskResponse"},
	"SnapshotRevert":  {"SnapshotRevertRequest", "TaskResponse"},
	"Clone":           {"CloneRequest", "CloneResponse"},
	"ImagePrepare":    {"ImagePrepareRequest", "ImagePrepareResponse"},
	"GetCapabilities": {"GetCapabilitiesRequest", "GetCapabilitiesResponse"},
	"ExportDisk":      {"ExportDiskRequest", "ExportDiskResponse"},
	"ImportDisk":      {"ImportDiskRequest", "ImportDiskResponse"},
	"GetDiskInfo":     {"GetDiskInfoRequest", "GetDiskInfoResponse"},
	"ListVMs":         {"ListVMsRequest", "ListVMsResponse"},
}

func wireFile() protoreflect.FileDescriptor { return providerv1.File_provider_v1_provider_proto }

func TestWireIdentity(t *testing.T) {
	fd := wireFile()
	if got := fd.Package(); got != "provider.v1" {
		t.Fatalf("package = %q, want provider.v1", got)
	}
	if fd.Syntax() != protoreflect.Proto3 {
		t.Fatalf("syntax = %v, want proto3", fd.Syntax())
	}
	if fd.Services().Len() != 1 {
		t.Fatalf("want exactly one service, got %d", fd.Services().Len())
	}
	if got := fd.Services().Get(0).FullName(); got != "provider.v1.Provider" {
		t.Fatalf("service = %q, want provider.v1.Provider", got)
	}
	if got := providerv1.Provider_Create_FullMethodName; got != "/provider.v1.Provider/Create" {
		t.Fatalf("full method name = %q", got)
	}
}

func TestWireRPCs(t *testing.T) {
	svc := wireFile().Services().ByName("Provider")
	if svc.Methods().Len() != len(wireRPCs) {
		t.Errorf("service has %d methods, the facts page lists %d", svc.Methods().Len(), len(wireRPCs))
	}
	for name, io := range wireRPCs {
		m := svc.Methods().ByName(protoreflect.Name(name))
		if m == nil {
			t.Errorf("RPC %s missing", name)
			continue
		}
		if m.IsStreamingClient() || m.IsStreamingServer() {
			t.Errorf("RPC %s must be unary", name)
		}
		if got := string(m.Input().FullName()); got != "provider.v1."+io[0] {
			t.Errorf("RPC %s request = %s, want provider.v1.%s", name, got, io[0])
		}
		if got := string(m.Output().FullName()); got != "provider.v1."+io[1] {
			t.Errorf("RPC %s response = %s, want provider.v1.%s", name, got, io[1])
		}
	}
}

func TestWirePowerOp(t *testing.T) {
	want := map[string]protoreflect.EnumNumber{
		"POWER_OP_UNSPECIFIED": 0, "POWER_OP_ON": 1, "POWER_OP_OFF": 2, "POWER_OP_REBOOT": 3,
		"POWER_OP_SHUTDOWN_GRACEFUL": 4,
	}
	e := wireFile().Enums().ByName("PowerOp")
	if e == nil {
		t.Fatal("enum PowerOp missing")
	}
	if e.Values().Len() != len(want) {
		t.Errorf("PowerOp has %d values, want %d", e.Values().Len(), len(want))
	}
	for name, num := range want {
		v := e.Values().ByName(protoreflect.Name(name))
		if v == nil {
			t.Errorf("PowerOp.%s missing", name)
			continue
		}
		if v.Number() != num {
			t.Errorf("PowerOp.%s = %d, want %d", name, v.Number(), num)
		}
	}
}

func TestWireMessages(t *testing.T) {
	msgs := wireFile().Messages()
	if msgs.Len() != len(wireFacts) {
		t.Errorf("file declares %d messages, the facts page lists %d", msgs.Len(), len(wireFacts))
	}
	for name, fields := range wireFacts {
		md := msgs.ByName(protoreflect.Name(name))
		if md == nil {
			t.Errorf("message %s missing", name)
			continue
		}
		if md.Fields().Len() != len(fields) {
			t.Errorf("%s has %d fields, want %d", name, md.Fields().Len(), len(fields))
		}
		for _, f := range fields {
			fd := md.Fields().ByNumber(f.number)
			if fd == nil {
				t.Errorf("%s: field %d (%s) missing", name, f.number, f.name)
				continue
			}
			if got := string(fd.Name()); got != f.name {
				t.Errorf("%s: field %d is named %q, want %q", name, f.number, got, f.name)
			}
			if got := describeKind(fd); got != f.kind {
				t.Errorf("%s.%s: type %s, want %s", name, f.name, got, f.kind)
			}
			if got := describeLabel(fd); got != f.label {
				t.Errorf("%s.%s: label %q, want %q", name, f.name, got, f.label)
			}
		}
	}
}

// describeKind names a field's wire type; for maps it names the value type.
func describeKind(fd protoreflect.FieldDescriptor) string {
	if fd.IsMap() {
		return describeKind(fd.MapValue())
	}
	switch fd.Kind() {
	case protoreflect.MessageKind:
		return string(fd.Message().FullName())
	case protoreflect.EnumKind:
		return string(fd.Enum().FullName())
	default:
		return fd.Kind().String()
	}
}

func describeLabel(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.IsMap():
		return fmt.Sprintf("map<%s,%s>", describeKind(fd.MapKey()), describeKind(fd.MapValue()))
	case fd.IsList():
		return "repeated"
	default:
		return ""
	}
}

// TestWireNoWellKnownTypes: the protocol uses no well-known types (facts page, "Identity").
func TestWireNoWellKnownTypes(t *testing.T) {
	imports := wireFile().Imports()
	for i := 0; i < imports.Len(); i++ {
		if p := imports.Get(i).Path(); strings.HasPrefix(p, "google/protobuf/") {
			t.Errorf("wire proto imports %s", p)
		}
	}
}
