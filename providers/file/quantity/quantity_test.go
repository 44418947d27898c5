package quantity

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"1073741824", 1 << 30, false},
		{"1Ki", 1 << 10, false},
		{"512Mi", 512 << 20, false},
		{"8Gi", 8 << 30, false},
		{"2Ti", 2 << 40, false},
		{"1Pi", 1 << 50, false},
		{"7Ei", 7 << 60, false},
		{"1k", 1000, false},
		{"1K", 1000, false},
		{"1M", 1_000_000, false},
		{"2G", 2_000_000_000, false},
		{"1T", 1_000_000_000_000, false},
		{"1.5Gi", 3 << 29, false},
		{"0.5Ki", 512, false},
		{"1.0001", 2, false}, // rounded up to whole bytes
		{"8Ei", 0, true},     // 2^63 does not fit in int64
		{"9223372036854775807", 9223372036854775807, false},
		{"9223372036854775808", 0, true},
		{"", 0, true},
		{"Gi", 0, true},
		{"-1Gi", 0, true},
		{"+1Gi", 0, true},
		{"1e9", 0, true},
		{"1 Gi", 0, true},
		{"1gi", 0, true},
		{"1.Gi", 0, true},
		{".5Gi", 0, true},
		{"1/2", 0, true},
		{"0x10", 0, true},
		{"1GiB", 0, true},
		{"8m", 0, true}, // milli-bytes make no sense for memory
		{strings.Repeat("9", 65), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseBytes(tt.in)
			if tt.err {
				if err == nil {
					t.Fatalf("ParseBytes(%q) = %d, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := ParseBytes("nope"); !errors.Is(err, ErrSyntax) {
		t.Fatalf("syntax errors wrap ErrSyntax, got %v", err)
	}
}

func TestParseMiB(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"8Gi", 8192},
		{"512Mi", 512},
		{"1500M", 1431}, // 1 430.51 MiB, rounded up
		{"1", 1},
		{"0", 0},
		{"1048576", 1},
		{"1048577", 2},
	}
	for _, tt := range tests {
		got, err := ParseMiB(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMiB(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"8Gi", "1.5G", "0", "1e3", "9223372036854775807", "7.99Ei"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBytes(s)
		if err != nil {
			return
		}
		if b < 0 {
			t.Fatalf("ParseBytes(%q) = %d", s, b)
		}
		// Ceiling division computed without overflow in uint64.
		if m := BytesToMiB(b); uint64(m) != (uint64(b)+(1<<20)-1)>>20 {
			t.Fatalf("BytesToMiB(%d) = %d", b, m)
		}
	})
}
