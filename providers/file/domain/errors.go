package domain

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error so that every adapter can map it to its own precise status
// code without parsing messages.
type Kind int

const (
	// KindInternal is a bug or an unexpected condition; adapters should never see it for
	// anything a client can send.
	KindInternal Kind = iota
	KindInvalidArgument
	KindNotFound
	KindAlreadyExists
	// KindUnimplemented is a request for something the provider honestly does not offer.
	KindUnimplemented
	// KindResourceExhausted is a per-VM limit (e.g. the number of snapshots).
	KindResourceExhausted
	// KindUnavailable is a storage failure the client may retry (disk full, store closed).
	KindUnavailable
)

func (k Kind) String() string {
	switch k {
	case KindInvalidArgument:
		return "invalid argument"
	case KindNotFound:
		return "not found"
	case KindAlreadyExists:
		return "already exists"
	case KindUnimplemented:
		return "unimplemented"
	case KindResourceExhausted:
		return "resource exhausted"
	case KindUnavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// Error is a classified domain error.
type Error struct {
	Kind Kind
	Msg  string
	// Err is the underlying cause, if any (e.g. an I/O error for KindUnavailable).
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func newError(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// InvalidArgument reports a client input that can never succeed as sent.
func InvalidArgument(format string, args ...any) error {
	return newError(KindInvalidArgument, format, args...)
}

// NotFound reports a well-formed reference to something that does not exist.
func NotFound(format string, args ...any) error { return newError(KindNotFound, format, args...) }

// AlreadyExists reports a name held by an unrelated object.
func AlreadyExists(format string, args ...any) error {
	return newError(KindAlreadyExists, format, args...)
}

// Unimplemented reports an option the provider does not offer.
func Unimplemented(format string, args ...any) error {
	return newError(KindUnimplemented, format, args...)
}

// ResourceExhausted reports a limit that was reached.
func ResourceExhausted(format string, args ...any) error {
	return newError(KindResourceExhausted, format, args...)
}

// Unavailable wraps a storage failure the client may retry.
func Unavailable(err error, format string, args ...any) error {
	e := newError(KindUnavailable, format, args...)
	e.Err = err
	return e
}

// KindOf returns the kind of err; errors that are not domain errors are KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsNotFound reports whether err is a NotFound domain error.
func IsNotFound(err error) bool { return err != nil && KindOf(err) == KindNotFound }
