package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/spf13/cobra"
)

func TestCode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		fallback int
		want     int
	}{
		{"nil", nil, CodeFailure, CodeOK},
		{"exit code kept through wrapping", fmt.Errorf("ctx: %w", Exit(CodePartial, nil)), CodeUsage, CodePartial},
		{"usage", Usage(errors.New("bad")), CodeFailure, CodeUsage},
		{"plain error takes the fallback", errors.New("refused"), CodeFailure, CodeFailure},
	} {
		if got := Code(tc.err, tc.fallback); got != tc.want {
			t.Errorf("%s: Code = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestExecutePrintsOnceWithUsageHint(t *testing.T) {
	root := &cobra.Command{Use: "tool", RunE: func(*cobra.Command, []string) error { return nil }}
	root.Flags().Int("n", 0, "")
	var stderr bytes.Buffer
	if code := Execute(context.Background(), root, []string{"--n=x"}, &stderr, CodeFailure); code != CodeUsage {
		t.Fatalf("bad flag: exit %d, want %d", code, CodeUsage)
	}
	if got := stderr.String(); !bytes.Contains([]byte(got), []byte("Run 'tool --help' for usage.")) {
		t.Errorf("stderr %q lacks the usage hint", got)
	}

	silent := &cobra.Command{Use: "tool", RunE: func(*cobra.Command, []string) error { return Exit(CodePartial, nil) }}
	stderr.Reset()
	if code := Execute(context.Background(), silent, nil, &stderr, CodeFailure); code != CodePartial || stderr.Len() != 0 {
		t.Errorf("exit %d with stderr %q, want %d and nothing printed", code, stderr.String(), CodePartial)
	}
}
