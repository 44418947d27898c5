package results

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCleanText(t *testing.T) {
	assert.Equal(t, "red and plain\n\tnext", CleanText("\x1b[31mred\x1b[0m and plain\n\tnext"))
	assert.Equal(t, "a\uFFFDb\uFFFDc\uFFFD", CleanText("a\x00b\xffc\x7f"))
	in := "mixed \x1b[1;32mok\x1b[m \x00 \xfe\xff é ✓"
	out := CleanText(in)
	b, _ := json.Marshal(out)
	var back string
	assert.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, out, back, "clean text survives a JSON round trip unchanged")
	assert.Equal(t, out, CleanText(out), "idempotent")
}
