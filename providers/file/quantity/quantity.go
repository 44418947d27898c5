// Package quantity parses the Kubernetes quantity strings that VirtRigaud's CRDs use for
// sizes ("8Gi", "512Mi", "1.5G", "1073741824") into bytes.
package quantity

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// maxLen bounds the input so that arithmetic on it stays cheap.
const maxLen = 64

// suffixes lists the accepted units, longest first so that "Mi" is not read as "M".
var suffixes = []struct {
	unit string
	mult int64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50}, {"Ei", 1 << 60},
	{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
}

// ErrSyntax is wrapped by every error about the shape of the input.
var ErrSyntax = errors.New("not a quantity")

// ParseBytes parses a non-negative quantity of bytes: a decimal number (digits, optionally
// a fraction) followed by an optional binary (Ki, Mi, Gi, Ti, Pi, Ei) or decimal (k or K, M,
// G, T, P, E) suffix. No sign, exponent or blanks are accepted. A fractional result is
// rounded up to whole bytes; results beyond int64 are refused.
func ParseBytes(s string) (int64, error) {
	if len(s) > maxLen {
		return 0, fmt.Errorf("%w: longer than %d characters", ErrSyntax, maxLen)
	}
	num, mult := s, int64(1)
	for _, suf := range suffixes {
		if n, ok := strings.CutSuffix(s, suf.unit); ok {
			num, mult = n, suf.mult
			break
		}
	}
	intPart, frac, hasDot := strings.Cut(num, ".")
	if intPart == "" || !allDigits(intPart) || (hasDot && (frac == "" || !allDigits(frac))) {
		return 0, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	// Ceiling of a non-negative rational: floor division plus one when a remainder is left.
	q, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if rem.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("quantity %q is too large", s)
	}
	return q.Int64(), nil
}

// ParseMiB parses a quantity of bytes and rounds it up to whole MiB, the unit providers
// allocate memory in.
func ParseMiB(s string) (int64, error) {
	b, err := ParseBytes(s)
	if err != nil {
		return 0, err
	}
	return BytesToMiB(b), nil
}

// BytesToMiB rounds a non-negative byte count up to whole MiB.
func BytesToMiB(b int64) int64 {
	const mib = 1 << 20
	return b/mib + min(b%mib, 1)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
