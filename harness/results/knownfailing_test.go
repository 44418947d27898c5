package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseKnownFailing(t *testing.T) {
	ids, err := ParseKnownFailing(strings.NewReader(`
# our provider cannot revert snapshots yet (issue 12)
SNAP-005
  CORE-031   # delete is not idempotent

CLONE-004`))
	require.NoError(t, err)
	assert.Equal(t, []string{"SNAP-005", "CORE-031", "CLONE-004"}, ids)

	for in, msg := range map[string]string{
		"core-001":           `line 1: "core-001" is not a requirement ID`,
		"CORE-001 CORE-002":  "is not a requirement ID",
		"CORE-001\nCORE-001": "line 2: CORE-001 is already listed on line 1",
	} {
		_, err := ParseKnownFailing(strings.NewReader(in))
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), msg)
	}

	path := filepath.Join(t.TempDir(), "known-failing.txt")
	require.NoError(t, os.WriteFile(path, []byte("bad id\n"), 0o600))
	_, err = LoadKnownFailing(path)
	assert.ErrorContains(t, err, path)
}
