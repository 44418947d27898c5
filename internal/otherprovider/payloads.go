package otherprovider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// Limits of a Proxmox-like node: vmids are 100..999999999, and a VM has at most 512 cores
// and 4 TiB of memory. Values outside are client mistakes, not something to clamp.
const (
	minVMID   = 100
	maxVMID   = 999999999
	maxCPU    = 512
	maxMemMiB = 4 << 20
	maxName   = 128
	maxSnap   = 40
)

// parseVMID accepts a vmid as Proxmox writes it: decimal digits, no sign, no leading zero,
// within the vmid range. Anything else is malformed (InvalidArgument), which is not the
// same as a well-formed id nobody holds (NotFound).
func (p *Provider) parseVMID(field, s string) (int, error) {
	top := maxVMID
	if p.opts.MaxVMID > 0 && p.opts.MaxVMID < maxVMID {
		top = p.opts.MaxVMID
	}
	if s == "" {
		return 0, invalid("%s is required", field)
	}
	if len(s) > 9 || s[0] == '0' || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, invalid("%s %.40q is malformed: want a numeric vmid between %d and %d", field, s, minVMID, top)
	}
	n, _ := strconv.Atoi(s) // at most 9 digits: always fits
	if n < minVMID || n > top {
		return 0, invalid("%s %s is out of range: vmids are %d to %d", field, s, minVMID, top)
	}
	return n, nil
}

// validName: VM names are DNS-like, as Proxmox requires.
var validName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

func checkName(field, name string) error {
	switch {
	case name == "":
		return invalid("%s is required", field)
	case len(name) > maxName:
		return invalid("%s is longer than %d characters", field, maxName)
	case !validName.MatchString(name):
		return invalid("%s %.64q is not a DNS name (letters, digits, '-' and '.')", field, name)
	}
	return nil
}

// fields splits a JSON object into its members, keeping keys exactly as sent: the manager's
// payloads use fixed spellings, and a provider that folds case would also accept keys the
// manager never sends.
func fields(what, doc string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &m); err != nil || m == nil {
		return nil, invalid("%s is not a JSON object: %.80q", what, doc)
	}
	return m, nil
}

// optionalInt reads m[key] as a whole number when present.
func optionalInt(what string, m map[string]json.RawMessage, key string) (v int64, present bool, err error) {
	raw, ok := m[key]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return 0, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, true, invalid("%s.%s must be a whole number, got %.40s", what, key, raw)
	}
	return v, true, nil
}

// hardware is a requested CPU count and memory size; nil fields were not requested.
type hardware struct {
	cpu *int32
	mem *int64
}

func (h *hardware) setCPU(what string, v int64) error {
	if v <= 0 || v > maxCPU {
		return invalid("%s: CPU must be between 1 and %d, got %d", what, maxCPU, v)
	}
	c := int32(v)
	h.cpu = &c
	return nil
}

func (h *hardware) setMemMiB(what string, v int64) error {
	if v <= 0 || v > maxMemMiB {
		return invalid("%s: memory must be between 1 and %d MiB, got %d", what, maxMemMiB, v)
	}
	h.mem = &v
	return nil
}

// goClass reads the manager's class shape, Go field names without json tags:
// {"CPU":2,"MemoryMiB":2048}. Other keys are ignored.
func goClass(what string, m map[string]json.RawMessage) (hardware, error) {
	var h hardware
	if v, ok, err := optionalInt(what, m, "CPU"); err != nil {
		return h, err
	} else if ok {
		if err := h.setCPU(what, v); err != nil {
			return h, err
		}
	}
	if v, ok, err := optionalInt(what, m, "MemoryMiB"); err != nil {
		return h, err
	} else if ok {
		if err := h.setMemMiB(what, v); err != nil {
			return h, err
		}
	}
	return h, nil
}

// createClass: a create needs both values; a class that names neither in the manager's
// spelling (for example {"cpus":2,"memory":2048}) is refused rather than defaulted.
func createClass(doc string) (hardware, error) {
	m, err := fields("class_json", doc)
	if err != nil {
		return hardware{}, err
	}
	h, err := goClass("class_json", m)
	if err != nil {
		return h, err
	}
	if h.cpu == nil || h.mem == nil {
		return h, invalid(`class_json needs "CPU" and "MemoryMiB", got %.80q`, doc)
	}
	return h, nil
}

// desiredClass reads the Class of a desired_json (a whole create request in Go field
// names). What it leaves out stays as it is.
func desiredClass(doc string) (hardware, error) {
	m, err := fields("desired_json", doc)
	if err != nil {
		return hardware{}, err
	}
	raw, ok := m["Class"]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return hardware{}, nil
	}
	class, err := fields("desired_json.Class", string(raw))
	if err != nil {
		return hardware{}, err
	}
	h, err := goClass("desired_json.Class", class)
	if err == nil && h.cpu == nil && h.mem == nil {
		// Answering OK to a class read as empty is how providers ignored changes they were
		// sent in another spelling.
		return h, invalid(`desired_json.Class names neither "CPU" nor "MemoryMiB": %.80s`, raw)
	}
	return h, err
}

// templateName reads image_json {"TemplateName":"...","URL":""}: like vSphere or Proxmox, a
// VM is made from a template of the inventory.
func templateName(doc string) (string, error) {
	if strings.TrimSpace(doc) == "" {
		return "", invalid(`image_json is required: {"TemplateName":"<template>"}`)
	}
	m, err := fields("image_json", doc)
	if err != nil {
		return "", err
	}
	var name string
	if raw, ok := m["TemplateName"]; ok {
		if err := json.Unmarshal(raw, &name); err != nil {
			return "", invalid("image_json.TemplateName must be a string, got %.40s", raw)
		}
	}
	if name == "" {
		return "", invalid(`image_json needs a "TemplateName" (a template of this node)`)
	}
	return name, nil
}

// diskGiB reads the first disk of disks_json [{"SizeGiB":20}]; 0 when none is given.
func diskGiB(doc string) (int64, error) {
	if strings.TrimSpace(doc) == "" {
		return 0, nil
	}
	var disks []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &disks); err != nil {
		return 0, invalid("disks_json is not a JSON list of objects: %.80q", doc)
	}
	if len(disks) == 0 {
		return 0, nil
	}
	v, _, err := optionalInt("disks_json[0]", disks[0], "SizeGiB")
	if err != nil {
		return 0, err
	}
	if v < 0 || v > 64<<10 {
		return 0, invalid("disks_json[0].SizeGiB must be between 0 and %d, got %d", 64<<10, v)
	}
	return v, nil
}

// cloneClass reads a clone override as the Kubernetes resource has it: camelCase keys and a
// quantity for memory, {"cpu":4,"memory":"8Gi"}. Empty means no override.
func cloneClass(doc string) (hardware, error) {
	if strings.TrimSpace(doc) == "" {
		return hardware{}, nil
	}
	m, err := fields("class_json", doc)
	if err != nil {
		return hardware{}, err
	}
	var h hardware
	if v, ok, err := optionalInt("class_json", m, "cpu"); err != nil {
		return h, err
	} else if ok {
		if err := h.setCPU("class_json", v); err != nil {
			return h, err
		}
	}
	if raw, ok := m["memory"]; ok && !bytes.Equal(raw, []byte("null")) {
		mib, err := quantityMiB(raw)
		if err != nil {
			return h, invalid("class_json.memory: %v", err)
		}
		if err := h.setMemMiB("class_json", mib); err != nil {
			return h, err
		}
	}
	return h, nil
}

// quantitySuffixes are the Kubernetes resource.Quantity suffixes for sizes, with the factor
// each stands for; the binary ones come first so that "Mi" is not read as "M".
var quantitySuffixes = []struct {
	suffix string
	factor int64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50},
	{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15},
}

var quantityNumber = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,9})?$`)

// quantityMiB converts a memory quantity ("8Gi", "1536Mi", "1.5Gi", "2G", or a plain number
// of bytes, as a string or a JSON number) to MiB. A size that is not a whole number of MiB
// is refused: rounding would create a VM of another size than the one asked for.
func quantityMiB(raw json.RawMessage) (int64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, fmt.Errorf("want a quantity such as \"8Gi\", got %.40s", raw)
		}
		s = n.String()
	}
	num, factor := s, int64(1)
	for _, q := range quantitySuffixes {
		if strings.HasSuffix(s, q.suffix) {
			num, factor = strings.TrimSuffix(s, q.suffix), q.factor
			break
		}
	}
	if !quantityNumber.MatchString(num) {
		return 0, fmt.Errorf("want a quantity such as \"8Gi\" or \"1536Mi\", got %.40q", s)
	}
	v, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("want a quantity such as \"8Gi\", got %.40q", s)
	}
	mib := v.Mul(v, big.NewRat(factor, 1<<20))
	if !mib.IsInt() || !mib.Num().IsInt64() {
		return 0, fmt.Errorf("%q is not a whole number of MiB", s)
	}
	return mib.Num().Int64(), nil
}

// snapName turns a name hint into a Proxmox snapshot name: letters, digits, '-' and '_',
// starting with a letter, at most 40 characters.
func snapName(hint string) string {
	var b strings.Builder
	for _, r := range hint {
		switch {
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	n := b.String()
	if n == "" || !isLetter(n[0]) {
		n = "s" + n
	}
	if len(n) > maxSnap {
		n = n[:maxSnap]
	}
	return n
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

var validSnap = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,39}$`)

// checkSnapID: snapshot ids are the names snapName makes; anything else is malformed.
func checkSnapID(id string) error {
	switch {
	case id == "":
		return invalid("snapshot_id is required")
	case !validSnap.MatchString(id):
		return invalid("snapshot_id %.60q is malformed: want a snapshot name (a letter, then letters, digits, '-' or '_', at most %d)", id, maxSnap)
	}
	return nil
}

// uniqueSnapName makes name unique among taken by suffixing -2, -3, ... within the length
// limit.
func uniqueSnapName(name string, taken func(string) bool) string {
	if !taken(name) {
		return name
	}
	for i := 2; ; i++ {
		suffix := "-" + strconv.Itoa(i)
		base := name
		if len(base)+len(suffix) > maxSnap {
			base = base[:maxSnap-len(suffix)]
		}
		if c := base + suffix; !taken(c) {
			return c
		}
	}
}
