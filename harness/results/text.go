package results

import (
	"regexp"
	"strings"
)

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// CleanText makes provider-supplied text (error messages, logs) safe for every report
// format and stable through a results.json round trip: terminal colour sequences are
// removed, invalid UTF-8 and control characters other than newline and tab become U+FFFD.
func CleanText(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, s)
}
