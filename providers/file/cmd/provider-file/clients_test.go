package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	toolsOnce sync.Once
	toolsDir  string
	toolsErr  error
)

// clientTools builds grpcurl and grpc-health-probe at the versions pinned in tools/go.mod.
func clientTools(t *testing.T) (grpcurl, healthProbe string) {
	t.Helper()
	toolsOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			toolsErr = err
			return
		}
		toolsDir = filepath.Join(scratchDir, "tools")
		for _, pkg := range []string{
			"github.com/fullstorydev/grpcurl/cmd/grpcurl",
			"github.com/grpc-ecosystem/grpc-health-probe",
		} {
			cmd := exec.Command(goCommand(), "build", "-modfile="+filepath.Join(root, "tools", "go.mod"),
				"-o", filepath.Join(toolsDir, filepath.Base(pkg)), pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				toolsErr = errors.Join(toolsErr, errors.New("building "+pkg+": "+err.Error()+"\n"+string(out)))
			}
		}
	})
	require.NoError(t, toolsErr)
	return filepath.Join(toolsDir, "grpcurl"), filepath.Join(toolsDir, "grpc-health-probe")
}

// repoRoot is the directory that holds tools/go.mod, above the test's working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no tools/go.mod above the working directory")
		}
		dir = parent
	}
}

// tool runs a client and returns its standard output; a non-zero exit fails the test.
func tool(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %s\nstderr: %s", filepath.Base(bin), strings.Join(args, " "), stderr.String())
	return string(out)
}

// target is how grpcurl reaches the provider: its connection flags and the address.
type target struct {
	flags []string
	addr  string
}

// cmd builds grpcurl arguments: flags come before the address, the verb or method after it.
func (tg target) cmd(extra []string, after ...string) []string {
	args := append(append([]string{}, tg.flags...), extra...)
	return append(append(args, tg.addr), after...)
}

// probeStatus runs grpc-health-probe, which reports on stderr, and returns everything it printed.
func probeStatus(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	require.NoError(t, err, "grpc-health-probe %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// call invokes one RPC through grpcurl with a JSON request and decodes the JSON answer.
func call(t *testing.T, grpcurl string, tg target, method, request string) map[string]any {
	t.Helper()
	args := tg.cmd([]string{"-d", request}, method)
	out := tool(t, grpcurl, args...)
	var resp map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &resp), "grpcurl output: %s", out)
	return resp
}

func TestRealClientsPlaintext(t *testing.T) {
	if testing.Short() {
		t.Skip("builds grpcurl and grpc-health-probe")
	}
	grpcurl, probe := clientTools(t)
	p := startProvider(t, filepath.Join(t.TempDir(), "vms"))
	conn := target{flags: []string{"-plaintext"}, addr: p.grpcAddr}

	services := strings.Fields(tool(t, grpcurl, conn.cmd(nil, "list")...))
	assert.Subset(t, services, []string{
		"provider.v1.Provider",
		"virtrigaud.tutorial.v1.ProviderService",
		"grpc.health.v1.Health",
	}, "grpcurl list")

	exerciseBothAPIs(t, grpcurl, conn)

	for _, service := range []string{"", "provider"} {
		out := probeStatus(t, probe, "-addr="+p.grpcAddr, "-service="+service)
		assert.Contains(t, out, "status: SERVING", "grpc-health-probe -service=%q", service)
	}
}

func TestRealClientsMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds grpcurl and grpc-health-probe")
	}
	grpcurl, probe := clientTools(t)
	pki := newPKI(t)
	p := startProvider(t, filepath.Join(t.TempDir(), "vms"), "--tls-dir", pki.serverDir, "--insecure=false")
	require.NotEmpty(t, p.logs.withMsg("transport security: mTLS, client certificate required"))

	conn := target{flags: []string{"-cacert", pki.caFile, "-cert", pki.clientCert, "-key", pki.clientKey}, addr: p.grpcAddr}
	services := strings.Fields(tool(t, grpcurl, conn.cmd(nil, "list")...))
	assert.Contains(t, services, "provider.v1.Provider")
	exerciseBothAPIs(t, grpcurl, conn)

	out := probeStatus(t, probe, "-addr="+p.grpcAddr, "-tls", "-tls-ca-cert="+pki.caFile,
		"-tls-client-cert="+pki.clientCert, "-tls-client-key="+pki.clientKey, "-service=provider")
	assert.Contains(t, out, "status: SERVING")

	// Without a client certificate the real client is turned away.
	err := exec.Command(grpcurl, "-cacert", pki.caFile, p.grpcAddr, "list").Run()
	assert.Error(t, err, "grpcurl without a client certificate must fail")
	err = exec.Command(probe, "-addr="+p.grpcAddr, "-tls", "-tls-ca-cert="+pki.caFile).Run()
	assert.Error(t, err, "grpc-health-probe without a client certificate must fail")
}

// exerciseBothAPIs calls GetCapabilities, a create and a describe on each API, the way a
// person following the README would.
func exerciseBothAPIs(t *testing.T, grpcurl string, conn target) {
	t.Helper()
	caps := call(t, grpcurl, conn, "provider.v1.Provider/GetCapabilities", `{}`)
	assert.Equal(t, true, caps["supportsSnapshots"], "v1 capabilities: %v", caps)

	created := call(t, grpcurl, conn, "provider.v1.Provider/Create",
		`{"name":"web-1","class_json":"{\"CPU\":2,\"MemoryMiB\":2048}","image_json":"{\"TemplateName\":\"ubuntu-22.04\"}"}`)
	id, _ := created["id"].(string)
	require.NotEmpty(t, id, "v1 Create: %v", created)
	described := call(t, grpcurl, conn, "provider.v1.Provider/Describe", `{"id":"`+id+`"}`)
	assert.Equal(t, true, described["exists"], "v1 Describe: %v", described)

	tcaps := call(t, grpcurl, conn, "virtrigaud.tutorial.v1.ProviderService/GetCapabilities", `{}`)
	assert.NotEmpty(t, tcaps["capabilities"], "tutorial capabilities: %v", tcaps)

	vm := call(t, grpcurl, conn, "virtrigaud.tutorial.v1.ProviderService/CreateVM",
		`{"name":"db-1","spec":{"cpu":2,"memory":4096,"image":"ubuntu-22.04"}}`)
	vmID, _ := vm["vmId"].(string)
	require.NotEmpty(t, vmID, "tutorial CreateVM: %v", vm)
	got := call(t, grpcurl, conn, "virtrigaud.tutorial.v1.ProviderService/GetVM", `{"vm_id":"`+vmID+`"}`)
	assert.Equal(t, "db-1", got["name"], "tutorial GetVM: %v", got)
	spec, _ := got["spec"].(map[string]any)
	assert.Equal(t, float64(2), spec["cpu"], "tutorial GetVM spec: %v", got)
	assert.Equal(t, "4096", spec["memory"], "int64 travels as a JSON string: %v", got)
}

// pki is a throwaway CA with a server certificate directory and a client certificate.
type pki struct {
	serverDir                     string
	caFile, clientCert, clientKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	issue := func(serial int64, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	}
	write := func(path string, data []byte) string {
		require.NoError(t, os.WriteFile(path, data, 0o600))
		return path
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	serverDir := filepath.Join(dir, "server")
	require.NoError(t, os.Mkdir(serverDir, 0o700))
	crt, key := issue(2, x509.ExtKeyUsageServerAuth)
	write(filepath.Join(serverDir, "tls.crt"), crt)
	write(filepath.Join(serverDir, "tls.key"), key)
	write(filepath.Join(serverDir, "ca.crt"), caPEM)

	ccrt, ckey := issue(3, x509.ExtKeyUsageClientAuth)
	return pki{
		serverDir:  serverDir,
		caFile:     write(filepath.Join(dir, "ca.crt"), caPEM),
		clientCert: write(filepath.Join(dir, "client.crt"), ccrt),
		clientKey:  write(filepath.Join(dir, "client.key"), ckey),
	}
}
