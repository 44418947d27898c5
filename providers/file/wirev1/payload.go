package wirev1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/vctsio/vcts/providers/file/domain"
	"github.com/vctsio/vcts/providers/file/quantity"
	"github.com/vctsio/vcts/providers/file/service"
)

// The JSON strings of the v1 wire protocol carry what VirtRigaud's manager marshals from its
// Go structs (keys are Go field names) or, for clone overrides, from its CRDs (camelCase keys,
// Kubernetes quantities). Keys are matched exactly, not case-insensitively as encoding/json
// would: a payload that spells CPU as "cpus" or "cpu" must fail loudly instead of leaving the
// hardware silently unchanged. Unknown keys are ignored, since the producers' structs carry
// more fields than a file provider can honour.

// maxJSONLen bounds every JSON string field of a request.
const maxJSONLen = 64 << 10

// maxBlobLen bounds user_data and meta_data, which are accepted and not interpreted.
const maxBlobLen = 256 << 10

// jsonObject is a decoded JSON object whose values are decoded on demand.
type jsonObject map[string]json.RawMessage

// parseObject decodes a JSON object; null or any other JSON type is refused.
func parseObject(field, s string) (jsonObject, error) {
	if len(s) > maxJSONLen {
		return nil, domain.InvalidArgument("%s is %d bytes long, at most %d are allowed", field, len(s), maxJSONLen)
	}
	var obj jsonObject
	if err := decodeOne([]byte(s), &obj); err != nil {
		return nil, domain.InvalidArgument("%s is not a JSON object: %s", field, jsonProblem(err))
	}
	if obj == nil {
		return nil, domain.InvalidArgument("%s is not a JSON object: null", field)
	}
	return obj, nil
}

// checkJSON accepts an empty string or any well-formed JSON value within the size limit; it
// is for payloads the file provider accepts without interpreting.
func checkJSON(field, s string) error {
	if s == "" {
		return nil
	}
	if len(s) > maxJSONLen {
		return domain.InvalidArgument("%s is %d bytes long, at most %d are allowed", field, len(s), maxJSONLen)
	}
	if !json.Valid([]byte(s)) {
		return domain.InvalidArgument("%s is not valid JSON", field)
	}
	return nil
}

// jsonProblem says what is wrong with a payload in the client's terms: encoding/json's own
// messages name Go types of this package, which mean nothing to a client.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return "it is a JSON " + te.Value
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d (%v)", se.Offset, se)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the JSON ends too early"
	}
	return err.Error()
}

// decodeOne decodes exactly one JSON value.
func decodeOne(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// present reports whether key is set to something other than null.
func (o jsonObject) present(key string) bool {
	v, ok := o[key]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// integer decodes o[key] as a JSON integer (no fraction, no exponent).
func (o jsonObject) integer(field, key string) (int64, error) {
	raw := bytes.TrimSpace(o[key])
	var n json.Number
	// encoding/json would also take a quoted number into a json.Number; producers send bare
	// numbers, so a string is a type error.
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return 0, domain.InvalidArgument("%s: %s must be a number", field, key)
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, domain.InvalidArgument("%s: %s must be a whole number in range, got %s", field, key, shortNumber(n.String()))
	}
	return v, nil
}

// shortNumber is a number as an error message shows it: whole when short, else its first digits
// and its length, so that a client cannot have megabytes echoed back and logged.
func shortNumber(n string) string {
	const max = 24
	if len(n) <= max {
		return n
	}
	return fmt.Sprintf("%s… (%d characters)", n[:max], len(n))
}

// str decodes o[key] as a JSON string; absent or null is "".
func (o jsonObject) str(field, key string) (string, error) {
	if !o.present(key) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(o[key], &s); err != nil {
		return "", domain.InvalidArgument("%s: %s must be a string", field, key)
	}
	return s, nil
}

// Hardware is CPU and memory.
type Hardware struct {
	CPU       int32
	MemoryMiB int64
}

// DecodeClass decodes a VirtRigaud VMClass with Go field-name keys, {"CPU":2,"MemoryMiB":2048}.
// Both values are required and range-checked.
func DecodeClass(field, s string) (Hardware, error) {
	if s == "" {
		return Hardware{}, domain.InvalidArgument(`%s is required, e.g. {"CPU":2,"MemoryMiB":2048}`, field)
	}
	obj, err := parseObject(field, s)
	if err != nil {
		return Hardware{}, err
	}
	return obj.class(field)
}

func (o jsonObject) class(field string) (Hardware, error) {
	for _, key := range []string{"CPU", "MemoryMiB"} {
		if !o.present(key) {
			return Hardware{}, domain.InvalidArgument(`%s: %s is required (Go field-name keys, e.g. {"CPU":2,"MemoryMiB":2048})`, field, key)
		}
	}
	cpu, err := o.integer(field, "CPU")
	if err != nil {
		return Hardware{}, err
	}
	if err := domain.ValidateCPU(cpu); err != nil {
		return Hardware{}, domain.InvalidArgument("%s: %v", field, err)
	}
	mem, err := o.integer(field, "MemoryMiB")
	if err != nil {
		return Hardware{}, err
	}
	if err := domain.ValidateMemoryMiB(mem); err != nil {
		return Hardware{}, domain.InvalidArgument("%s: %v", field, err)
	}
	return Hardware{CPU: int32(cpu), MemoryMiB: mem}, nil
}

// DecodeImage decodes {"TemplateName":"ubuntu-22.04","URL":""}; empty means no image.
func DecodeImage(s string) (domain.Image, error) {
	const field = "image_json"
	if s == "" {
		return domain.Image{}, nil
	}
	obj, err := parseObject(field, s)
	if err != nil {
		return domain.Image{}, err
	}
	var img domain.Image
	if img.TemplateName, err = obj.str(field, "TemplateName"); err != nil {
		return domain.Image{}, err
	}
	if img.URL, err = obj.str(field, "URL"); err != nil {
		return domain.Image{}, err
	}
	return img, nil
}

// DecodeDisks decodes [{"SizeGiB":20}]; empty or null means no disks.
func DecodeDisks(field, s string) ([]domain.Disk, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxJSONLen {
		return nil, domain.InvalidArgument("%s is %d bytes long, at most %d are allowed", field, len(s), maxJSONLen)
	}
	var raw []json.RawMessage
	if err := decodeOne([]byte(s), &raw); err != nil {
		return nil, domain.InvalidArgument(`%s is not a JSON list of disks, e.g. [{"SizeGiB":20}]: %s`, field, jsonProblem(err))
	}
	return decodeDiskList(field, raw)
}

func decodeDiskList(field string, raw []json.RawMessage) ([]domain.Disk, error) {
	if len(raw) > domain.MaxDisks {
		return nil, domain.InvalidArgument("%s: %d disks given, at most %d are allowed", field, len(raw), domain.MaxDisks)
	}
	disks := make([]domain.Disk, 0, len(raw))
	for i, r := range raw {
		item := fmt.Sprintf("%s[%d]", field, i)
		var obj jsonObject
		if err := json.Unmarshal(r, &obj); err != nil || obj == nil {
			return nil, domain.InvalidArgument("%s is not a JSON object", item)
		}
		if !obj.present("SizeGiB") {
			return nil, domain.InvalidArgument("%s: SizeGiB is required", item)
		}
		gib, err := obj.integer(item, "SizeGiB")
		if err != nil {
			return nil, err
		}
		if err := domain.ValidateDiskGiB(strconv.Itoa(i), gib); err != nil {
			return nil, domain.InvalidArgument("%s: %v", field, err)
		}
		disks = append(disks, domain.Disk{SizeGiB: int32(gib)})
	}
	return disks, nil
}

// DecodeDesired decodes a Reconfigure payload: a whole create request with Go field-name
// keys, {"Class":{"CPU":4,"MemoryMiB":8192},"Disks":[{"SizeGiB":64}]}. Class and Disks are
// applied (a present Disks list replaces the disks); other keys such as Name or Image are
// ignored, since neither changes on a running VM. A payload with neither is refused: it
// would change nothing, which is how producer bugs hide.
func DecodeDesired(s string) (service.Change, error) {
	const field = "desired_json"
	if s == "" {
		return service.Change{}, domain.InvalidArgument(`%s is required, e.g. {"Class":{"CPU":4,"MemoryMiB":8192}}`, field)
	}
	obj, err := parseObject(field, s)
	if err != nil {
		return service.Change{}, err
	}
	var c service.Change
	if obj.present("Class") {
		var class jsonObject
		if err := json.Unmarshal(obj["Class"], &class); err != nil {
			return service.Change{}, domain.InvalidArgument("%s: Class is not a JSON object", field)
		}
		hw, err := class.class(field + ".Class")
		if err != nil {
			return service.Change{}, err
		}
		c.CPU, c.MemoryMiB = hw.CPU, hw.MemoryMiB
	}
	if obj.present("Disks") {
		var raw []json.RawMessage
		if err := json.Unmarshal(obj["Disks"], &raw); err != nil {
			return service.Change{}, domain.InvalidArgument("%s: Disks is not a JSON list", field)
		}
		disks, err := decodeDiskList(field+".Disks", raw)
		if err != nil {
			return service.Change{}, err
		}
		c.Disks = &disks
	}
	if c.Empty() {
		return service.Change{}, domain.InvalidArgument(`%s has neither Class nor Disks (Go field-name keys, e.g. {"Class":{"CPU":4,"MemoryMiB":8192}})`, field)
	}
	return c, nil
}

// DecodeCloneClass decodes a clone override in Kubernetes CRD shape, {"cpu":4,"memory":"8Gi"}:
// cpu is a JSON integer, memory a quantity string ("8Gi", "512Mi", "2G", "1073741824") or a
// JSON integer of bytes, rounded up to whole MiB. Either may be omitted (the source's value is
// kept) but not both. An empty string means no override.
func DecodeCloneClass(s string) (service.Change, error) {
	const field = "class_json"
	if s == "" {
		return service.Change{}, nil
	}
	obj, err := parseObject(field, s)
	if err != nil {
		return service.Change{}, err
	}
	if !obj.present("cpu") && !obj.present("memory") {
		return service.Change{}, domain.InvalidArgument(`%s has neither cpu nor memory (CRD camelCase keys, e.g. {"cpu":4,"memory":"8Gi"})`, field)
	}
	var c service.Change
	if obj.present("cpu") {
		cpu, err := obj.integer(field, "cpu")
		if err != nil {
			return service.Change{}, err
		}
		if err := domain.ValidateCPU(cpu); err != nil {
			return service.Change{}, domain.InvalidArgument("%s: %v", field, err)
		}
		c.CPU = int32(cpu)
	}
	if obj.present("memory") {
		mib, err := obj.memoryMiB(field, "memory")
		if err != nil {
			return service.Change{}, err
		}
		if err := domain.ValidateMemoryMiB(mib); err != nil {
			return service.Change{}, domain.InvalidArgument("%s: %v", field, err)
		}
		c.MemoryMiB = mib
	}
	return c, nil
}

func (o jsonObject) memoryMiB(field, key string) (int64, error) {
	var q string
	if err := json.Unmarshal(o[key], &q); err != nil {
		b, err := o.integer(field, key)
		if err != nil {
			return 0, domain.InvalidArgument(`%s: %s must be a quantity such as "8Gi" or a number of bytes`, field, key)
		}
		if b < 0 {
			return 0, domain.InvalidArgument("%s: %s must not be negative", field, key)
		}
		return quantity.BytesToMiB(b), nil
	}
	mib, err := quantity.ParseMiB(q)
	if err != nil {
		return 0, domain.InvalidArgument("%s: %s: %v", field, key, err)
	}
	return mib, nil
}
