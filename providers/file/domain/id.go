package domain

import (
	"github.com/google/uuid"
)

// IDLen is the length of every id the provider issues (VMs, snapshots, tasks): a UUID in its
// canonical lowercase text form.
const IDLen = 36

// NewID returns a fresh random id.
func NewID() string { return uuid.NewString() }

// ValidateID accepts exactly the ids the provider issues: a lowercase canonical UUID
// (8-4-4-4-12 hex digits). Ids become file names, so the check is deliberately a whitelist of
// shape rather than a blacklist of dangerous characters: nothing that passes can contain a
// separator, a dot, a NUL byte or be longer than IDLen. Uppercase is refused rather than
// folded so that one VM never has two spellings on a case-sensitive file system.
func ValidateID(kind, id string) error {
	if id == "" {
		return InvalidArgument("%s id is required", kind)
	}
	if len(id) != IDLen {
		return InvalidArgument("%s id %s is malformed: want a lowercase UUID", kind, quoteShort(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return InvalidArgument("%s id %s is malformed: want a lowercase UUID", kind, quoteShort(id))
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return InvalidArgument("%s id %s is malformed: want a lowercase UUID", kind, quoteShort(id))
			}
		}
	}
	return nil
}

// quoteShort quotes client input for an error message without echoing megabytes back.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		return quote(s[:max]) + "…"
	}
	return quote(s)
}
