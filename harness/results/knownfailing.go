package results

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

var requirementID = regexp.MustCompile(`^[A-Z][A-Z0-9]*-[0-9]+$`)

// ParseKnownFailing reads a known-failing list: one requirement ID per line; blank lines
// and everything after '#' are ignored. Duplicates are an error (a sign of a bad merge).
func ParseKnownFailing(rd io.Reader) ([]string, error) {
	var ids []string
	seen := map[string]int{}
	sc := bufio.NewScanner(rd)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !requirementID.MatchString(line) {
			return nil, fmt.Errorf("line %d: %q is not a requirement ID (e.g. CORE-012)", n, line)
		}
		if prev, dup := seen[line]; dup {
			return nil, fmt.Errorf("line %d: %s is already listed on line %d", n, line, prev)
		}
		seen[line] = n
		ids = append(ids, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ids, nil
}

// LoadKnownFailing reads a known-failing file.
func LoadKnownFailing(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ids, err := ParseKnownFailing(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}
