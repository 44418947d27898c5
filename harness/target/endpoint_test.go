package target

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vctsio/vcts/harness/config"
)

func TestEndpointPlaintext(t *testing.T) {
	addr := serveHealth(t, false)
	e := NewEndpoint(addr, config.TLS{})
	require.NoError(t, e.Start(context.Background()))
	assert.Equal(t, addr, e.Endpoint())
	assert.Equal(t, Info{Kind: "endpoint", Detail: addr + " (plaintext)"}, e.Info())
	assert.Empty(t, e.Logs())
	assert.NoError(t, e.Stop(context.Background()))
}

func TestEndpointWithoutHealthIsAccepted(t *testing.T) {
	addr := serveHealth(t, true)
	e := NewEndpoint(addr, config.TLS{})
	require.NoError(t, e.Start(context.Background()))
	assert.Contains(t, e.Info().Detail, "does not serve grpc.health.v1")
}

func TestEndpointUnreachable(t *testing.T) {
	e := NewEndpoint("127.0.0.1:1", config.TLS{})
	e.StartTimeout = 300 * time.Millisecond
	err := e.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "127.0.0.1:1")
	assert.Contains(t, err.Error(), "not SERVING")
}

func TestEndpointTLS(t *testing.T) {
	pk := newPKI(t)
	addr := serveHealth(t, false, pk.serverOption(false))

	e := NewEndpoint(addr, config.TLS{Enabled: true, CA: pk.caFile})
	require.NoError(t, e.Start(context.Background()))
	assert.True(t, e.Info().TLS)
	assert.Contains(t, e.Info().Detail, "(TLS)")

	e = NewEndpoint(addr, config.TLS{Enabled: true, CA: pk.caFile, ServerName: "provider.test"})
	require.NoError(t, e.Start(context.Background()), "server name override")

	// A TLS failure will not go away: it ends the wait at once (the timeout here is long on
	// purpose), and says what to check.
	wrong := NewEndpoint(addr, config.TLS{Enabled: true, CA: pk.caFile, ServerName: "someone.else"})
	wrong.StartTimeout = 20 * time.Second
	err := wrong.Start(context.Background())
	require.Error(t, err, "the certificate's name is verified")
	assert.Contains(t, err.Error(), "TLS with the provider at "+addr+" failed")
	assert.Contains(t, err.Error(), "--tls-server-name")

	plain := NewEndpoint(addr, config.TLS{})
	plain.StartTimeout = 500 * time.Millisecond
	assert.Error(t, plain.Start(context.Background()), "plaintext to a TLS provider fails")
}

func TestEndpointMutualTLS(t *testing.T) {
	pk := newPKI(t)
	addr := serveHealth(t, false, pk.serverOption(true))

	e := NewEndpoint(addr, config.TLS{Enabled: true, CA: pk.caFile, Cert: pk.certFile, Key: pk.keyFile})
	require.NoError(t, e.Start(context.Background()))
	assert.Contains(t, e.Info().Detail, "client certificate")

	noCert := NewEndpoint(addr, config.TLS{Enabled: true, CA: pk.caFile})
	noCert.StartTimeout = 20 * time.Second
	err := noCert.Start(context.Background())
	require.Error(t, err, "the provider requires a client certificate")
	assert.Contains(t, err.Error(), "TLS with the provider at "+addr+" failed")
}

func TestTransportOptionErrors(t *testing.T) {
	pk := newPKI(t)
	_, err := TransportOption(config.TLS{Enabled: true, CA: pk.keyFile})
	assert.ErrorContains(t, err, "no PEM certificate")
	_, err = TransportOption(config.TLS{Enabled: true, Cert: pk.certFile, Key: pk.caFile})
	assert.ErrorContains(t, err, "client certificate")
	_, err = TransportOption(config.TLS{Enabled: true, CA: pk.dir + "/missing"})
	assert.ErrorContains(t, err, "tls ca")
	var ce *config.Error
	assert.ErrorAs(t, err, &ce, "a wrong TLS file is a configuration mistake (exit 2)")
}

func TestEndpointThatIsNoGRPCServerFailsFast(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	e := NewEndpoint(strings.TrimPrefix(srv.URL, "http://"), config.TLS{})
	e.StartTimeout = 30 * time.Second // far longer than the test may take: the answer must end the wait
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.Start(ctx)
	require.ErrorContains(t, err, "does not speak gRPC (HTTP/2)")
	require.NoError(t, ctx.Err(), "the wait ended on the answer, not on a timeout")
}
