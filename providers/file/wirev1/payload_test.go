package wirev1

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vctsio/vcts/providers/file/domain"
)

func TestDecodeClass(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Hardware
		ok   bool
	}{
		{"producer shape", `{"CPU":2,"MemoryMiB":2048}`, Hardware{2, 2048}, true},
		{"extra fields ignored", `{"CPU":4,"MemoryMiB":8192,"Firmware":"UEFI","ExtraConfig":{"a":"b"}}`, Hardware{4, 8192}, true},
		{"whitespace", " {\n\"CPU\" : 1 , \"MemoryMiB\" : 1 }\n", Hardware{1, 1}, true},
		{"max values", `{"CPU":1024,"MemoryMiB":16777216}`, Hardware{1024, 16777216}, true},
		{"empty", ``, Hardware{}, false},
		{"not json", `CPU=2`, Hardware{}, false},
		{"null", `null`, Hardware{}, false},
		{"list", `[2,2048]`, Hardware{}, false},
		{"trailing data", `{"CPU":2,"MemoryMiB":2048} x`, Hardware{}, false},
		{"two objects", `{"CPU":2,"MemoryMiB":2048}{}`, Hardware{}, false},
		{"CRD keys", `{"cpu":2,"memory":"2Gi"}`, Hardware{}, false},
		{"lower-case Go keys", `{"cpu":2,"memoryMiB":2048}`, Hardware{}, false},
		{"typo keys", `{"cpus":2,"MemoryMiB":2048}`, Hardware{}, false},
		{"missing memory", `{"CPU":2}`, Hardware{}, false},
		{"null cpu", `{"CPU":null,"MemoryMiB":2048}`, Hardware{}, false},
		{"zero cpu", `{"CPU":0,"MemoryMiB":2048}`, Hardware{}, false},
		{"negative memory", `{"CPU":2,"MemoryMiB":-1}`, Hardware{}, false},
		{"quoted number", `{"CPU":"2","MemoryMiB":2048}`, Hardware{}, false},
		{"fraction", `{"CPU":2.5,"MemoryMiB":2048}`, Hardware{}, false},
		{"exponent", `{"CPU":2,"MemoryMiB":2e3}`, Hardware{}, false},
		{"overflow int32", `{"CPU":4294967298,"MemoryMiB":2048}`, Hardware{}, false},
		{"overflow int64", `{"CPU":2,"MemoryMiB":99999999999999999999}`, Hardware{}, false},
		{"absurd memory", `{"CPU":2,"MemoryMiB":9223372036854775807}`, Hardware{}, false},
		{"bool", `{"CPU":true,"MemoryMiB":2048}`, Hardware{}, false},
		{"too large", `{"CPU":2,"MemoryMiB":2048,"X":"` + strings.Repeat("a", maxJSONLen) + `"}`, Hardware{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeClass("class_json", tt.in)
			if !tt.ok {
				if domain.KindOf(err) != domain.KindInvalidArgument {
					t.Fatalf("DecodeClass(%.60q) = %+v, %v; want invalid argument", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DecodeClass(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

// An error message never echoes a huge client value whole: it ends up in the log line too.
func TestDecodeClassDoesNotEchoHugeNumbers(t *testing.T) {
	huge := strings.Repeat("9", 60_000)
	_, err := DecodeClass("class_json", `{"CPU":1,"MemoryMiB":`+huge+`}`)
	require.Equal(t, domain.KindInvalidArgument, domain.KindOf(err))
	require.Less(t, len(err.Error()), 200, "the message echoes the number: %.120s…", err)
	require.Contains(t, err.Error(), "60000 characters")
}

func TestDecodeImageAndDisks(t *testing.T) {
	img, err := DecodeImage(`{"TemplateName":"ubuntu-22.04","URL":"","Checksum":"x"}`)
	if err != nil || img != (domain.Image{TemplateName: "ubuntu-22.04"}) {
		t.Fatalf("DecodeImage = %+v, %v", img, err)
	}
	if img, err := DecodeImage(""); err != nil || img != (domain.Image{}) {
		t.Fatalf("empty image = %+v, %v", img, err)
	}
	for _, bad := range []string{`{"TemplateName":3}`, `[]`, `null`, `{`} {
		if _, err := DecodeImage(bad); domain.KindOf(err) != domain.KindInvalidArgument {
			t.Errorf("DecodeImage(%q) = %v, want invalid argument", bad, err)
		}
	}

	disks, err := DecodeDisks("disks_json", `[{"SizeGiB":20},{"SizeGiB":64,"Type":"thin"}]`)
	if err != nil || len(disks) != 2 || disks[0].SizeGiB != 20 || disks[1].SizeGiB != 64 {
		t.Fatalf("DecodeDisks = %+v, %v", disks, err)
	}
	for _, ok := range []string{"", "null", "[]"} {
		if d, err := DecodeDisks("disks_json", ok); err != nil || len(d) != 0 {
			t.Errorf("DecodeDisks(%q) = %+v, %v", ok, d, err)
		}
	}
	for _, bad := range []string{`{"SizeGiB":20}`, `[{"SizeGiB":0}]`, `[{"sizeGiB":20}]`, `[{}]`, `[null]`, `[3]`,
		`[{"SizeGiB":"20"}]`, `[{"SizeGiB":65537}]`, `[` + strings.Repeat(`{"SizeGiB":1},`, 16) + `{"SizeGiB":1}]`} {
		if _, err := DecodeDisks("disks_json", bad); domain.KindOf(err) != domain.KindInvalidArgument {
			t.Errorf("DecodeDisks(%.60q) = %v, want invalid argument", bad, err)
		}
	}
}

func TestDecodeDesired(t *testing.T) {
	c, err := DecodeDesired(`{"Name":"vm","Class":{"CPU":4,"MemoryMiB":8192},"Disks":[{"SizeGiB":64}],"Image":{"TemplateName":"x"}}`)
	if err != nil || c.CPU != 4 || c.MemoryMiB != 8192 || c.Disks == nil || len(*c.Disks) != 1 || (*c.Disks)[0].SizeGiB != 64 || c.Image != nil {
		t.Fatalf("DecodeDesired = %+v, %v", c, err)
	}
	c, err = DecodeDesired(`{"Class":{"CPU":1,"MemoryMiB":512}}`)
	if err != nil || c.Disks != nil || c.CPU != 1 {
		t.Fatalf("class only = %+v, %v", c, err)
	}
	c, err = DecodeDesired(`{"Disks":[]}`)
	if err != nil || c.Disks == nil || len(*c.Disks) != 0 {
		t.Fatalf("empty disk list = %+v, %v", c, err)
	}
	for _, bad := range []string{``, `{}`, `null`, `{"Class":null}`, `{"class":{"CPU":4,"MemoryMiB":8192}}`,
		`{"Class":{"cpu":4,"memory":"8Gi"}}`, `{"Class":{"CPU":4}}`, `{"Class":[]}`, `{"Class":{"CPU":0,"MemoryMiB":1}}`,
		`{"Disks":{"SizeGiB":1}}`, `{"Disks":[{"SizeGiB":-1}]}`, `{"cpus":4}`} {
		if _, err := DecodeDesired(bad); domain.KindOf(err) != domain.KindInvalidArgument {
			t.Errorf("DecodeDesired(%q) = %v, want invalid argument", bad, err)
		}
	}
}

func TestDecodeCloneClass(t *testing.T) {
	tests := []struct {
		in     string
		cpu    int32
		memMiB int64
		ok     bool
	}{
		{``, 0, 0, true},
		{`{"cpu":4,"memory":"8Gi"}`, 4, 8192, true},
		{`{"cpu":2}`, 2, 0, true},
		{`{"memory":"512Mi"}`, 0, 512, true},
		{`{"memory":"2G"}`, 0, 1908, true}, // 1 907.35 MiB, rounded up
		{`{"memory":"1073741824"}`, 0, 1024, true},
		{`{"memory":1073741824}`, 0, 1024, true},
		{`{"cpu":4,"memory":"8Gi","firmware":"UEFI"}`, 4, 8192, true},
		{`{}`, 0, 0, false},
		{`{"CPU":4,"MemoryMiB":8192}`, 0, 0, false},
		{`{"cpu":0}`, 0, 0, false},
		{`{"cpu":"4"}`, 0, 0, false},
		{`{"memory":"0"}`, 0, 0, false},
		{`{"memory":"8GB"}`, 0, 0, false},
		{`{"memory":"-8Gi"}`, 0, 0, false},
		{`{"memory":-1}`, 0, 0, false},
		{`{"memory":"7Ei"}`, 0, 0, false},
		{`{"memory":true}`, 0, 0, false},
		{`null`, 0, 0, false},
		{`[]`, 0, 0, false},
	}
	for _, tt := range tests {
		c, err := DecodeCloneClass(tt.in)
		if !tt.ok {
			if domain.KindOf(err) != domain.KindInvalidArgument {
				t.Errorf("DecodeCloneClass(%q) = %+v, %v; want invalid argument", tt.in, c, err)
			}
			continue
		}
		if err != nil || c.CPU != tt.cpu || c.MemoryMiB != tt.memMiB || c.Image != nil || c.Disks != nil {
			t.Errorf("DecodeCloneClass(%q) = %+v, %v; want cpu %d memory %d", tt.in, c, err, tt.cpu, tt.memMiB)
		}
	}
}

func FuzzDecodeClass(f *testing.F) {
	for _, s := range []string{`{"CPU":2,"MemoryMiB":2048}`, `{"CPU":-1,"MemoryMiB":1}`, `{"CPU":2}`, `null`, `{"CPU":1e9,"MemoryMiB":"1"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hw, err := DecodeClass("class_json", s)
		if err != nil {
			if domain.KindOf(err) != domain.KindInvalidArgument {
				t.Fatalf("error of kind %v: %v", domain.KindOf(err), err)
			}
			return
		}
		if hw.CPU < 1 || hw.CPU > domain.MaxCPU || hw.MemoryMiB < 1 || hw.MemoryMiB > domain.MaxMemoryMiB {
			t.Fatalf("accepted out-of-range %+v from %q", hw, s)
		}
	})
}

func FuzzDecodeCloneClass(f *testing.F) {
	for _, s := range []string{`{"cpu":4,"memory":"8Gi"}`, `{"memory":1}`, `{"memory":"1.5Ki"}`, `{"cpu":-3}`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCloneClass(s)
		if err != nil {
			if domain.KindOf(err) != domain.KindInvalidArgument {
				t.Fatalf("error of kind %v: %v", domain.KindOf(err), err)
			}
			return
		}
		// Zero means "keep the source's value"; anything else must be in range.
		if c.CPU < 0 || c.CPU > domain.MaxCPU || c.MemoryMiB < 0 || c.MemoryMiB > domain.MaxMemoryMiB {
			t.Fatalf("accepted out-of-range %+v from %q", c, s)
		}
		if s != "" && c.Empty() {
			t.Fatalf("accepted %q as an override that changes nothing", s)
		}
	})
}

func FuzzDecodeDesired(f *testing.F) {
	for _, s := range []string{`{"Class":{"CPU":4,"MemoryMiB":8192},"Disks":[{"SizeGiB":64}]}`, `{"Disks":[]}`, `{"Class":{}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeDesired(s)
		if err != nil {
			if domain.KindOf(err) != domain.KindInvalidArgument {
				t.Fatalf("error of kind %v: %v", domain.KindOf(err), err)
			}
			return
		}
		if c.Empty() {
			t.Fatalf("accepted %q as a change of nothing", s)
		}
		if c.CPU != 0 || c.MemoryMiB != 0 {
			if domain.ValidateCPU(int64(c.CPU)) != nil || domain.ValidateMemoryMiB(c.MemoryMiB) != nil {
				t.Fatalf("accepted out-of-range %+v from %q", c, s)
			}
		}
		if c.Disks != nil && domain.ValidateDisks(*c.Disks) != nil {
			t.Fatalf("accepted invalid disks %+v from %q", *c.Disks, s)
		}
	})
}

// Messages speak JSON, not the Go types the decoder happens to use.
func TestPayloadErrorsNameNoGoTypes(t *testing.T) {
	for _, tc := range []struct {
		decode func() error
		want   string
	}{
		{func() error { _, err := DecodeClass("class_json", `[1,2]`); return err }, "class_json is not a JSON object: it is a JSON array"},
		{func() error { _, err := DecodeClass("class_json", `"x"`); return err }, "it is a JSON string"},
		{func() error { _, err := DecodeClass("class_json", `{"CPU":`); return err }, "the JSON ends too early"},
		{func() error { _, err := DecodeClass("class_json", `{CPU:2}`); return err }, "invalid JSON at byte 2"},
		{func() error { _, err := DecodeDisks("disks_json", `{"SizeGiB":20}`); return err }, "it is a JSON object"},
	} {
		err := tc.decode()
		require.Error(t, err)
		require.Contains(t, err.Error(), tc.want)
		require.NotContains(t, err.Error(), "Go value", err.Error())
	}
}
