package driver

import (
	"fmt"

	"google.golang.org/grpc"
)

// Dialects lists the dialect names New accepts; the first is the default.
func Dialects() []string { return []string{DialectWire, DialectTutorial} }

// New returns the driver for a dialect by name; "" means the default (v1).
func New(dialect string, conn grpc.ClientConnInterface) (Driver, error) {
	if conn == nil {
		return nil, fmt.Errorf("driver %q: no connection", dialect)
	}
	switch dialect {
	case DialectWire, "":
		return NewWire(conn), nil
	case DialectTutorial:
		return NewTutorial(conn), nil
	}
	return nil, fmt.Errorf("unknown dialect %q (known: %q, %q)", dialect, DialectWire, DialectTutorial)
}
