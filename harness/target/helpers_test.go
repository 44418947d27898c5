package target

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vctsio/vcts/internal/grpctest"
)

// serveHealth runs a gRPC server on 127.0.0.1 with the health service (SERVING) unless
// noHealth, with the given server options (TLS). It stops with the test.
func serveHealth(t *testing.T, noHealth bool, opts ...grpc.ServerOption) string {
	t.Helper()
	s := grpc.NewServer(opts...)
	if noHealth {
		return grpctest.ServeBare(t, s)
	}
	healthpb.RegisterHealthServer(s, health.NewServer())
	return grpctest.Serve(t, s)
}

// pki is a throw-away CA with a server certificate for 127.0.0.1 / "provider.test" and a
// client certificate, written as PEM files.
type pki struct {
	dir                       string
	caFile, certFile, keyFile string // client
	serverCert                tls.Certificate
	pool                      *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vcts test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "provider.test"},
			DNSNames: []string{"provider.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		return der, key
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600))
		return p
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		b, err := x509.MarshalECPrivateKey(k)
		require.NoError(t, err)
		return b
	}
	srvDER, srvKey := issue(2, x509.ExtKeyUsageServerAuth)
	cliDER, cliKey := issue(3, x509.ExtKeyUsageClientAuth)
	p := &pki{dir: dir, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = write("ca.crt", "CERTIFICATE", caDER)
	p.certFile = write("tls.crt", "CERTIFICATE", cliDER)
	p.keyFile = write("tls.key", "EC PRIVATE KEY", keyDER(cliKey))
	p.serverCert, err = tls.X509KeyPair(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER(srvKey)}))
	require.NoError(t, err)
	return p
}

func (p *pki) serverOption(requireClient bool) grpc.ServerOption {
	c := &tls.Config{Certificates: []tls.Certificate{p.serverCert}, MinVersion: tls.VersionTLS12}
	if requireClient {
		c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, p.pool
	}
	return grpc.Creds(credentials.NewTLS(c))
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// providerBinary builds providers/file/cmd/provider-file once per test binary with the
// process target's own build path (the "go build" fallback).
func providerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "vcts-target-test-")
		if err != nil {
			buildErr = err
			return
		}
		p := &Process{tmp: dir, Log: discard()}
		builtBin, buildErr = p.build(context.Background(), root)
	})
	require.NoError(t, buildErr)
	return builtBin
}

// alive reports whether a process with this pid exists (signal 0 probes without sending).
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
