package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImageValuesSplitRepositoryAndTag(t *testing.T) {
	set, err := imageValues("localhost:5000/vcts/provider-file:dev", "vcts/vcts:v1.2.3")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		"image.repository=localhost:5000/vcts/provider-file", "image.tag=dev",
		"tests.image.repository=vcts/vcts", "tests.image.tag=v1.2.3",
	}, set)

	for _, ref := range []string{"vcts/provider-file", "localhost:5000/provider-file"} {
		_, err := imageValues(ref, "vcts/vcts:dev")
		assert.Error(t, err, "%s has no tag", ref)
	}
}

func TestTail(t *testing.T) {
	assert.Equal(t, "b\nc", tail("a\nb\nc\n", 2))
	assert.Equal(t, "a", tail("a", 5))
	assert.Equal(t, "c", lastLine("a\nb\nc\n"))
}
