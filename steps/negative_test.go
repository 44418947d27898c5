package steps

import (
	"regexp"
	"testing"
)

func TestExpandDesired(t *testing.T) {
	whole := `{"Name":"vcts-ab-vm","Class":{"CPU":2,"MemoryMiB":2048},"Image":{"TemplateName":"u","URL":""},"Disks":[{"SizeGiB":10}]}`
	for _, tc := range []struct{ in, whole, want string }{
		{`{"Name":"{name}","Class":{"CPU":4},"Image":{image},"Disks":{disks}}`, whole,
			`{"Name":"vcts-ab-vm","Class":{"CPU":4},"Image":{"TemplateName":"u","URL":""},"Disks":[{"SizeGiB":10}]}`},
		{`{"Disks":{disks}}`, `{"Name":"x","Disks":null}`, `{"Disks":null}`},
		{`{"Image":{image}}`, `{"Name":"x"}`, `{"Image":null}`},
		{`{"Class":{"CPU":4,`, "not even JSON: no placeholder, so not read", `{"Class":{"CPU":4,`},
	} {
		got, err := expandDesired(tc.in, tc.whole)
		if err != nil || got != tc.want {
			t.Errorf("expandDesired(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := expandDesired(`{"Name":"{name}"}`, "not JSON"); err == nil {
		t.Error("a driver desired state that is not JSON was not reported")
	}
}

func TestUnknownTaskLikeKeepsTheFormat(t *testing.T) {
	for id, want := range map[string]*regexp.Regexp{
		"task-17": regexp.MustCompile(`^task-99999999917$`),
		"TASK-0F8C2D3A-1B2C-4D5E-8F90-A1B2C3D4E5F6":                  regexp.MustCompile(`^TASK-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`),
		"op-6ba7b810-9dad-11d1-80b4-00c04fd430c8":                    regexp.MustCompile(`^op-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`),
		"UPID:pve1:00004001:00100007:6745A3B2:qmstart:101:root@pam:": regexp.MustCompile(`^UPID:pve1:00004001:00100007:6745A3B2:qmstart:999999999101:root@pam:$`),
	} {
		got, ok := unknownTaskLike(id)
		if !ok || !want.MatchString(got) || got == id {
			t.Errorf("unknownTaskLike(%q) = %q, %t; want a match of %s", id, got, ok, want)
		}
	}
	if _, ok := unknownTaskLike("no-digits-here"); ok {
		t.Error("an id without a number or UUID has no derivable format")
	}
}

func TestNeverIssuedLikeKeepsTheFormat(t *testing.T) {
	for id, want := range map[string]*regexp.Regexp{
		"101":                                  regexp.MustCompile(`^1\d{5}$`),
		"vm-17-disk":                           regexp.MustCompile(`^vm-1\d{5}-disk$`),
		"4F1C2D3A-1B2C-4D5E-8F90-A1B2C3D4E5F6": regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`),
		"vm-4f1c2d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6": regexp.MustCompile(`^vm-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`),
		"web":                  regexp.MustCompile(`^web-[0-9a-f]{8}$`),
		"99999999999999999999": regexp.MustCompile(`^199999999999999999999$`),
	} {
		got := neverIssuedLike(id)
		if !want.MatchString(got) || got == id {
			t.Errorf("neverIssuedLike(%q) = %q; want a match of %s", id, got, want)
		}
	}
}

func TestReportedAddresses(t *testing.T) {
	for _, ip := range []string{"10.0.0.5", "2001:db8::1", "fe80::1%eth0", "192.168.1.5/24", "2001:db8::/64"} {
		if !isIPAddress(ip) {
			t.Errorf("isIPAddress(%q) = false; it is an address", ip)
		}
	}
	for _, ip := range []string{"", "<nil>", "10.0.0", "web-1.example.com", "10.0.0.5:22", " 10.0.0.5"} {
		if isIPAddress(ip) {
			t.Errorf("isIPAddress(%q) = true; it is no address", ip)
		}
	}
	for _, u := range []string{"", "vnc://10.0.0.5:5900", "https://vcenter.example.com/ui/webconsole.html?vmId=vm-42", "spice://[2001:db8::1]:5930"} {
		if why := consoleURLProblem(u); why != "" {
			t.Errorf("consoleURLProblem(%q) = %q; it is a console URL", u, why)
		}
	}
	for _, u := range []string{"vnc://:-1", "vnc://:5900", "/console/vm-42", "vm-42", "mailto:ops@example.com", "vnc://host:99999"} {
		if consoleURLProblem(u) == "" {
			t.Errorf("consoleURLProblem(%q) found nothing wrong", u)
		}
	}
}
