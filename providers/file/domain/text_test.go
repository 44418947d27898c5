package domain

import (
	"strings"
	"testing"
)

func TestValidateNameNamesTheWholeCharacter(t *testing.T) {
	for in, want := range map[string]string{"wéb": `contains "é"`, "x日本": `contains "日"`, "a\xffb": "the byte 0xff (not UTF-8)"} {
		err := ValidateName(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateName(%q) = %v, want it to say %s", in, err, want)
		}
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"suite name", "vcts-20240101t120000-core-001", true},
		{"dots and underscores", "web_01.prod", true},
		{"single char", "a", true},
		{"digit first", "0vm", true},
		{"max length", strings.Repeat("a", MaxNameLen), true},
		{"empty", "", false},
		{"too long", strings.Repeat("a", MaxNameLen+1), false},
		{"leading dash", "-vm", false},
		{"leading dot", ".vm", false},
		{"slash", "a/b", false},
		{"space", "a b", false},
		{"NUL", "a\x00", false},
		{"unicode", "vm-é", false},
		{"newline", "vm\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateName(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && KindOf(err) != KindInvalidArgument {
				t.Fatalf("kind = %v", KindOf(err))
			}
		})
	}
}

func TestValidateText(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"nightly backup — before upgrade", true},
		{strings.Repeat("x", 40), true},
		{strings.Repeat("x", 41), false},
		{"tab\there", false},
		{"\xff\xfe", false},
	}
	for _, tt := range tests {
		if err := ValidateText("field", tt.in, 40); (err == nil) != tt.ok {
			t.Errorf("ValidateText(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestValidateTags(t *testing.T) {
	if err := ValidateTags([]string{"env=prod", "team"}); err != nil {
		t.Fatal(err)
	}
	if err := ValidateTags([]string{""}); err == nil {
		t.Fatal("empty tag accepted")
	}
	if err := ValidateTags(make([]string, MaxTags+1)); err == nil {
		t.Fatal("too many tags accepted")
	}
}
