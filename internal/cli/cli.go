// Package cli holds what the project's commands (vcts, vrtg-provider) share about running a
// cobra command tree: exit codes carried in errors, and printing an error once, with the
// usage hint for usage mistakes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vctsio/vcts/harness/config"
)

// Exit codes shared by every command.
const (
	CodeOK      = 0
	CodeFailure = 1
	CodeUsage   = 2
	CodePartial = 3
)

// ExitError carries a process exit code out of a command; a nil Err prints nothing more.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exit wraps err with an exit code.
func Exit(code int, err error) error { return &ExitError{Code: code, Err: err} }

// Usage marks err as a usage mistake (exit 2).
func Usage(err error) error { return &ExitError{Code: CodeUsage, Err: err} }

// Code maps an error to the exit status: an ExitError's own code, configuration mistakes
// are usage errors, and any other error gets fallback (a command whose commands return plain
// errors for failures says CodeFailure; one whose plain errors are cobra's own, such as an
// unknown command, says CodeUsage).
func Code(err error, fallback int) int {
	var ee *ExitError
	var ce *config.Error
	switch {
	case err == nil:
		return CodeOK
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &ce):
		return CodeUsage
	}
	return fallback
}

// Execute runs root with args and returns the exit status (see Code for fallback), printing
// the error (if any) once on stderr, prefixed with the command's name, plus a usage hint for
// usage mistakes.
func Execute(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer, fallback int) int {
	root.SetArgs(args)
	root.SilenceUsage, root.SilenceErrors = true, true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return Usage(err) })
	cmd, err := root.ExecuteContextC(ctx)
	code := Code(err, fallback)
	var ee *ExitError
	if err != nil && (!errors.As(err, &ee) || ee.Err != nil) {
		fmt.Fprintf(stderr, "%s: %v\n", root.Name(), err)
		if code == CodeUsage {
			path := root.Name()
			if cmd != nil {
				path = cmd.CommandPath() // the subcommand that was run: its flags are the ones to read
			}
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", path)
		}
	}
	return code
}
