package kit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

// testCA is a throwaway certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func randomSerial(t *testing.T) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	require.NoError(t, err)
	return n
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf certificate for usage; server certificates are valid for 127.0.0.1.
func (ca *testCA) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(t),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// tlsDir writes a server's tls.crt, tls.key and ca.crt (the CA that verifies clients).
func tlsDir(t *testing.T, ca *testCA) string {
	t.Helper()
	dir := t.TempDir()
	crt, key := ca.issue(t, "provider", x509.ExtKeyUsageServerAuth)
	writeFile(t, filepath.Join(dir, TLSCertFile), crt)
	writeFile(t, filepath.Join(dir, TLSKeyFile), key)
	writeFile(t, filepath.Join(dir, TLSCAFile), ca.pem)
	return dir
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// dialTLS connects trusting serverCA, presenting a client certificate from clientCA (none when nil).
func dialTLS(t *testing.T, addr string, serverCA, clientCA *testCA) providerv1.ProviderClient {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(serverCA.cert)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if clientCA != nil {
		crt, key := clientCA.issue(t, "manager", x509.ExtKeyUsageClientAuth)
		pair, err := tls.X509KeyPair(crt, key)
		require.NoError(t, err)
		cfg.Certificates = []tls.Certificate{pair}
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return providerv1.NewProviderClient(cc)
}

func mtlsServer(t *testing.T, ca *testCA) (*running, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	opts := plaintextOptions(t, logs)
	opts.Insecure = false
	opts.TLSDir = tlsDir(t, ca)
	return start(t, opts, newFakeProvider()), logs
}

func TestMutualTLSClientWithCertificateWorks(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	r, logs := mtlsServer(t, ca)
	client := dialTLS(t, r.srv.GRPCAddr().String(), ca, ca)

	resp, err := client.Validate(t.Context(), &providerv1.ValidateRequest{})
	require.NoError(t, err)
	assert.True(t, resp.GetOk())
	assert.Len(t, logs.records(t, "transport security: mTLS, client certificate required"), 1)
}

func TestMutualTLSRefusesClientWithoutCertificate(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	r, _ := mtlsServer(t, ca)
	client := dialTLS(t, r.srv.GRPCAddr().String(), ca, nil)

	_, err := client.Validate(t.Context(), &providerv1.ValidateRequest{})
	require.Error(t, err)
	assert.Equal(t, codes.Unavailable, status.Code(err), "the handshake fails: %v", err)
}

func TestMutualTLSRefusesClientCertificateFromAnotherCA(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	rogue := newTestCA(t, "rogue CA")
	r, _ := mtlsServer(t, ca)
	client := dialTLS(t, r.srv.GRPCAddr().String(), ca, rogue)

	_, err := client.Validate(t.Context(), &providerv1.ValidateRequest{})
	require.Error(t, err)
	assert.Equal(t, codes.Unavailable, status.Code(err), "the handshake fails: %v", err)
}

func TestPlaintextClientRefusedByMutualTLSServer(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	r, _ := mtlsServer(t, ca)
	client := providerv1.NewProviderClient(dialPlain(t, r.srv.GRPCAddr().String()))

	_, err := client.Validate(t.Context(), &providerv1.ValidateRequest{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
}

func TestInsecureWithoutFilesServesPlaintextWithWarning(t *testing.T) {
	var logs syncBuffer
	r := start(t, plaintextOptions(t, &logs), newFakeProvider())
	client := providerv1.NewProviderClient(dialPlain(t, r.srv.GRPCAddr().String()))

	_, err := client.Validate(t.Context(), &providerv1.ValidateRequest{})
	require.NoError(t, err)
	var warned bool
	for _, line := range logs.recordsAll(t) {
		if line["level"] == "WARN" && assert.ObjectsAreEqual(line["tls_dir"], r.srv.opts.TLSDir) {
			warned = true
		}
	}
	assert.True(t, warned, "plaintext is announced with a warning")
}

func TestTransportSecurityRefusesToStart(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	full := tlsDir(t, ca)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(full, name))
		require.NoError(t, err)
		return b
	}

	cases := []struct {
		name     string
		files    map[string][]byte
		insecure bool
		wantAll  []string // substrings the error must contain
	}{
		{"none and not insecure", nil, false,
			[]string{"no TLS files", TLSCertFile, TLSKeyFile, TLSCAFile, EnvInsecure + "=true"}},
		{"cert only", map[string][]byte{TLSCertFile: read(TLSCertFile)}, false,
			[]string{"has tls.crt but not tls.key, ca.crt", "mount all three"}},
		{"cert and key without CA", map[string][]byte{TLSCertFile: read(TLSCertFile), TLSKeyFile: read(TLSKeyFile)}, true,
			[]string{"has tls.crt, tls.key but not ca.crt"}},
		{"CA only, even when insecure", map[string][]byte{TLSCAFile: read(TLSCAFile)}, true,
			[]string{"has ca.crt but not tls.crt, tls.key"}},
		{"key and CA without cert", map[string][]byte{TLSKeyFile: read(TLSKeyFile), TLSCAFile: read(TLSCAFile)}, false,
			[]string{"has tls.key, ca.crt but not tls.crt"}},
		{"garbage certificate", map[string][]byte{TLSCertFile: []byte("not a cert"), TLSKeyFile: read(TLSKeyFile), TLSCAFile: read(TLSCAFile)}, false,
			[]string{TLSCertFile, TLSKeyFile, "PEM certificate"}},
		{"key of another certificate", map[string][]byte{TLSCertFile: read(TLSCertFile), TLSKeyFile: otherKey(t, ca), TLSCAFile: read(TLSCAFile)}, false,
			[]string{"matching PEM private key"}},
		{"CA file without PEM", map[string][]byte{TLSCertFile: read(TLSCertFile), TLSKeyFile: read(TLSKeyFile), TLSCAFile: []byte("junk")}, false,
			[]string{TLSCAFile, "holds no PEM certificate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				writeFile(t, filepath.Join(dir, name), data)
			}
			var logs syncBuffer
			opts := plaintextOptions(t, &logs)
			opts.TLSDir = dir
			opts.Insecure = tc.insecure
			srv, err := Listen(opts, nil)
			require.Error(t, err)
			assert.Nil(t, srv)
			for _, want := range tc.wantAll {
				assert.Contains(t, err.Error(), want)
			}
			assert.Contains(t, err.Error(), dir, "the error names the directory")
		})
	}
}

func TestTransportSecurityRefusesUnreadableFiles(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files regardless of their mode")
	}
	ca := newTestCA(t, "cluster CA")
	dir := tlsDir(t, ca)
	require.NoError(t, os.Chmod(filepath.Join(dir, TLSKeyFile), 0))
	var logs syncBuffer
	opts := plaintextOptions(t, &logs)
	opts.TLSDir = dir
	_, err := Listen(opts, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot read "+filepath.Join(dir, TLSKeyFile)+": permission denied")
	assert.Contains(t, err.Error(), "readable by the provider's user")
}

func TestTransportSecurityRefusesUnsearchableDirectory(t *testing.T) {
	// A regular file where the directory should be: stat of its children fails with ENOTDIR,
	// which is neither "present" nor "missing".
	notDir := filepath.Join(t.TempDir(), "tls")
	writeFile(t, notDir, []byte("x"))
	var logs syncBuffer
	opts := plaintextOptions(t, &logs)
	opts.TLSDir = notDir
	_, err := Listen(opts, nil)
	assert.ErrorContains(t, err, "cannot check "+filepath.Join(notDir, TLSCertFile))
}

func TestTLSFilesWinOverInsecure(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	var logs syncBuffer
	opts := plaintextOptions(t, &logs)
	opts.TLSDir = tlsDir(t, ca)
	opts.Insecure = true
	r := start(t, opts, newFakeProvider())

	_, err := dialTLS(t, r.srv.GRPCAddr().String(), ca, ca).Validate(t.Context(), &providerv1.ValidateRequest{})
	require.NoError(t, err)
	_, err = providerv1.NewProviderClient(dialPlain(t, r.srv.GRPCAddr().String())).
		Validate(t.Context(), &providerv1.ValidateRequest{})
	assert.Equal(t, codes.Unavailable, status.Code(err), "no plaintext once certificates are mounted")
}

// otherKey is a valid PEM key that does not belong to the server certificate.
func otherKey(t *testing.T, ca *testCA) []byte {
	_, key := ca.issue(t, "other", x509.ExtKeyUsageServerAuth)
	return key
}

func TestTransportSecurityRefusesKeyThatCannotBeRead(t *testing.T) {
	// A directory in place of tls.key exists but cannot be read, even by root.
	ca := newTestCA(t, "cluster CA")
	dir := tlsDir(t, ca)
	require.NoError(t, os.Remove(filepath.Join(dir, TLSKeyFile)))
	require.NoError(t, os.Mkdir(filepath.Join(dir, TLSKeyFile), 0o700))
	var logs syncBuffer
	opts := plaintextOptions(t, &logs)
	opts.TLSDir = dir
	_, err := Listen(opts, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, TLSKeyFile))
}

func TestMutualTLSRefusesOldProtocolVersions(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	r, _ := mtlsServer(t, ca)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	crt, key := ca.issue(t, "manager", x509.ExtKeyUsageClientAuth)
	pair, err := tls.X509KeyPair(crt, key)
	require.NoError(t, err)

	conn, err := tls.Dial("tcp", r.srv.GRPCAddr().String(), &tls.Config{
		RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{pair},
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, NextProtos: []string{"h2"},
	})
	if err == nil {
		conn.Close()
	}
	assert.Error(t, err, "TLS 1.1 is refused")
}

// TestMutualTLSFollowsRotatedFiles: a rotation of the directory (new CA, new server
// certificate) is used for new connections without a restart; a rotation that does not load
// keeps the last good files in service.
func TestMutualTLSFollowsRotatedFiles(t *testing.T) {
	old := tlsReloadInterval
	tlsReloadInterval = 0
	t.Cleanup(func() { tlsReloadInterval = old })

	before := newTestCA(t, "CA before rotation")
	logs := &syncBuffer{}
	opts := plaintextOptions(t, logs)
	opts.Insecure = false
	opts.TLSDir = tlsDir(t, before)
	addr := start(t, opts, newFakeProvider()).srv.GRPCAddr().String()
	validate := func(serverCA, clientCA *testCA) error {
		_, err := dialTLS(t, addr, serverCA, clientCA).Validate(t.Context(), &providerv1.ValidateRequest{})
		return err
	}
	require.NoError(t, validate(before, before))

	// Rotate the way a Secret volume does: all three files replaced.
	after := newTestCA(t, "CA after rotation")
	dir := opts.TLSDir
	crt, key := after.issue(t, "provider", x509.ExtKeyUsageServerAuth)
	writeFile(t, filepath.Join(dir, TLSCertFile), crt)
	writeFile(t, filepath.Join(dir, TLSKeyFile), key)
	writeFile(t, filepath.Join(dir, TLSCAFile), after.pem)

	require.NoError(t, validate(after, after), "the rotated server certificate and client CA are in use")
	assert.Equal(t, codes.Unavailable, status.Code(validate(before, before)), "the old CA's clients are no longer trusted")
	assert.Len(t, logs.records(t, "transport security: reloaded the rotated TLS files"), 1)

	// A key that does not match the certificate: the last good files stay in service.
	_, otherKey := after.issue(t, "provider", x509.ExtKeyUsageServerAuth)
	writeFile(t, filepath.Join(dir, TLSKeyFile), otherKey)
	require.NoError(t, validate(after, after), "a broken rotation keeps the previous files")
	require.NoError(t, validate(after, after))
	warnings := logs.records(t, "transport security: the TLS files changed but do not load; serving with the previous ones")
	require.Len(t, warnings, 1, "logged once, not at every handshake")
	assert.Contains(t, warnings[0]["error"], "private key does not match public key")

	// The rotation completes: the new pair is used.
	writeFile(t, filepath.Join(dir, TLSKeyFile), key)
	require.NoError(t, validate(after, after))
}
