package steps

import "testing"

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
