package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTail(t *testing.T) {
	assert.Equal(t, "b\nc", tail("a\nb\nc\n", 2))
	assert.Equal(t, "a", tail("a", 5))
}

func TestClientTLS(t *testing.T) {
	assert.Equal(t, false, variant{}.clientTLS().Enabled, "plaintext without TLS files")
	c := variant{tls: &tlsFiles{dir: "/d", serverName: "p.ns.svc"}}.clientTLS()
	assert.True(t, c.Enabled)
	assert.Equal(t, []string{"/d/ca.crt", "/d/tls.crt", "/d/tls.key", "p.ns.svc"}, []string{c.CA, c.Cert, c.Key, c.ServerName})
}
