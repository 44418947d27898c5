package domain

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		ok   bool
	}{
		{"issued id", NewID(), true},
		{"canonical", "0b7d8a4e-6f1c-4c3e-9a57-1f2e3d4c5b6a", true},
		{"empty", "", false},
		{"uppercase", "0B7D8A4E-6F1C-4C3E-9A57-1F2E3D4C5B6A", false},
		{"no hyphens", "0b7d8a4e6f1c4c3e9a571f2e3d4c5b6a", false},
		{"braces", "{0b7d8a4e-6f1c-4c3e-9a57-1f2e3d4c5b6a}", false},
		{"urn", "urn:uuid:0b7d8a4e-6f1c-4c3e-9a57-1f2e3d4c5b6a", false},
		{"hyphen misplaced", "0b7d8a4e6-f1c-4c3e-9a57-1f2e3d4c5b6a", false},
		{"non-hex", "0b7d8a4e-6f1c-4c3e-9a57-1f2e3d4c5b6g", false},
		{"dot-dot", "../x", false},
		{"dot-dot padded", "../../../../../../../../../etc/passwd", false},
		{"absolute", "/etc/passwd", false},
		{"separator inside", "0b7d8a4e-6f1c-4c3e-9a57-1f2e3d4c5b/a", false},
		{"NUL byte", "0b7d8a4e-6f1c-4c3e-9a57-1f2e3d4c5b6\x00", false},
		{"huge", strings.Repeat("a", 1<<20), false},
		{"trailing newline", "0b7d8a4e-6f1c-4c3e-9a57-1f2e3d4c5b6a\n", false},
		{"name, not id", "vm-does-not-exist", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateID("vm", tt.id)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateID(%.40q) = %v, want ok=%v", tt.id, err, tt.ok)
			}
			if err != nil && KindOf(err) != KindInvalidArgument {
				t.Fatalf("kind = %v, want invalid argument", KindOf(err))
			}
			if err != nil && len(err.Error()) > 200 {
				t.Fatalf("error message echoes the input: %d bytes", len(err.Error()))
			}
		})
	}
}

// FuzzValidateID: an accepted id is a plain file name that stays inside any directory;
// nothing panics.
func FuzzValidateID(f *testing.F) {
	for _, seed := range []string{NewID(), "", "../x", "/abs", "a\x00b", "0b7d8a4e-6f1c-4c3e-9a57-1f2e3d4c5b6a", "0b7d8a4e-6f1c-4c3e-9a57-1f2e3d4c5b/."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateID("vm", id) != nil {
			return
		}
		if len(id) != IDLen {
			t.Fatalf("accepted %q of length %d", id, len(id))
		}
		if strings.ContainsAny(id, "/\\.\x00") || strings.TrimSpace(id) != id {
			t.Fatalf("accepted %q", id)
		}
		dir := "/var/lib/virtrigaud/vms"
		p := filepath.Join(dir, id+".json")
		if filepath.Dir(p) != dir || filepath.Base(p) != id+".json" {
			t.Fatalf("id %q escapes %s: %s", id, dir, p)
		}
	})
}

func TestNewIDIsUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if err := ValidateID("vm", id); err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}
