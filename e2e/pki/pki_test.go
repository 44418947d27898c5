package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vctsio/vcts/e2e/pki"
)

// handshake runs a mutual-TLS handshake on 127.0.0.1 and returns the client's and the
// server's errors.
func handshake(t *testing.T, server tls.Certificate, serverPool *x509.CertPool,
	client []tls.Certificate, clientPool *x509.CertPool, serverName string) (clientErr, serverErr error) {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{server},
		ClientCAs:    serverPool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	require.NoError(t, err)
	defer func() { _ = lis.Close() }()
	done := make(chan error, 1)
	go func() {
		conn, err := lis.Accept()
		if err != nil {
			done <- err
			return
		}
		defer func() { _ = conn.Close() }()
		err = conn.(*tls.Conn).Handshake()
		if err == nil {
			_, err = conn.Write([]byte("ok"))
		}
		done <- err
	}()
	conn, err := tls.Dial("tcp", lis.Addr().String(), &tls.Config{
		Certificates: client, RootCAs: clientPool, ServerName: serverName, MinVersion: tls.VersionTLS12,
	})
	if err == nil {
		// TLS 1.3 reports a rejected client certificate on the first read, not in Dial.
		_, err = io.ReadFull(conn, make([]byte, 2))
		_ = conn.Close()
	}
	return err, <-done
}

func TestMutualTLSWithIssuedCertificates(t *testing.T) {
	ca, err := pki.NewCA("vcts e2e CA")
	require.NoError(t, err)
	srv, err := ca.Server("provider-file.vcts.svc", "localhost")
	require.NoError(t, err)
	cli, err := ca.Client("vcts")
	require.NoError(t, err)

	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(ca.PEM))
	serverCert, err := tls.X509KeyPair(srv.Cert, srv.Key)
	require.NoError(t, err)
	clientCert, err := tls.X509KeyPair(cli.Cert, cli.Key)
	require.NoError(t, err)

	cErr, sErr := handshake(t, serverCert, pool, []tls.Certificate{clientCert}, pool, "provider-file.vcts.svc")
	require.NoError(t, cErr)
	require.NoError(t, sErr)

	// The server name is checked against the certificate's DNS names.
	cErr, _ = handshake(t, serverCert, pool, []tls.Certificate{clientCert}, pool, "other.vcts.svc")
	assert.Error(t, cErr)

	// Without a client certificate the server refuses the connection.
	_, sErr = handshake(t, serverCert, pool, nil, pool, "localhost")
	assert.Error(t, sErr)

	// A certificate of another CA is refused.
	other, err := pki.NewCA("other CA")
	require.NoError(t, err)
	foreign, err := other.Client("intruder")
	require.NoError(t, err)
	foreignCert, err := tls.X509KeyPair(foreign.Cert, foreign.Key)
	require.NoError(t, err)
	_, sErr = handshake(t, serverCert, pool, []tls.Certificate{foreignCert}, pool, "localhost")
	assert.Error(t, sErr)
}

func parse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return cert
}

func TestUsagesAreSeparate(t *testing.T) {
	ca, err := pki.NewCA("vcts e2e CA")
	require.NoError(t, err)
	srv, err := ca.Server("provider-file.vcts.svc")
	require.NoError(t, err)
	cli, err := ca.Client("vcts")
	require.NoError(t, err)

	caCert := parse(t, ca.PEM)
	assert.True(t, caCert.IsCA)
	s, c := parse(t, srv.Cert), parse(t, cli.Cert)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, s.ExtKeyUsage)
	assert.Equal(t, []string{"provider-file.vcts.svc"}, s.DNSNames)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage)
	assert.False(t, s.IsCA)
	assert.False(t, c.IsCA)
	assert.NoError(t, s.CheckSignatureFrom(caCert))
	assert.NoError(t, c.CheckSignatureFrom(caCert))

	_, err = ca.Server()
	assert.Error(t, err, "a server certificate needs a DNS name")
}
