package kit

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
)

// The files of a TLS directory, as VirtRigaud's transport-security contract names them.
const (
	TLSCertFile = "tls.crt"
	TLSKeyFile  = "tls.key"
	TLSCAFile   = "ca.crt"
)

// EnvInsecure is the environment variable that allows plaintext when no TLS file is present.
const EnvInsecure = "VIRTRIGAUD_PROVIDER_INSECURE"

// transportCredentials applies the transport-security contract to dir: all three files ⇒ mTLS
// with a required, verified client certificate; none and insecure ⇒ plaintext (nil
// credentials, with a warning); anything else ⇒ an error that names the files and the fix.
// CheckTransport reports whether Listen would accept the transport security of opts (the TLS
// files, or plaintext with Insecure), without listening or logging: a provider calls it before
// it touches its storage, so that a server that cannot start leaves nothing behind.
func CheckTransport(opts Options) error {
	opts = withDefaults(opts)
	_, err := transportCredentials(opts.TLSDir, opts.Insecure, slog.New(slog.DiscardHandler))
	return err
}

func transportCredentials(dir string, insecure bool, log *slog.Logger) (credentials.TransportCredentials, error) {
	names := []string{TLSCertFile, TLSKeyFile, TLSCAFile}
	var present, missing []string
	for _, name := range names {
		_, err := os.Stat(filepath.Join(dir, name))
		switch {
		case err == nil:
			present = append(present, name)
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, name)
		default:
			return nil, fmt.Errorf("transport security: cannot check %s: %w", filepath.Join(dir, name), err)
		}
	}

	switch {
	case len(present) == len(names):
		if insecure {
			log.Info("TLS files present: serving mTLS, " + EnvInsecure + " is ignored")
		}
		reloader, err := newCertReloader(dir, log)
		if err != nil {
			return nil, err
		}
		log.Info("transport security: mTLS, client certificate required", "tls_dir", dir,
			"rotation", "changed files are used for new connections")
		return credentials.NewTLS(reloader.serverConfig()), nil
	case len(present) > 0:
		return nil, fmt.Errorf("transport security: %s has %s but not %s; mount all three of %s for mTLS, "+
			"or none of them and set %s=true for plaintext",
			dir, strings.Join(present, ", "), strings.Join(missing, ", "), strings.Join(names, ", "), EnvInsecure)
	case insecure:
		log.Warn("transport security: PLAINTEXT gRPC; no TLS files in "+dir+" and "+EnvInsecure+"=true; "+
			"do not use this outside a test setup", "tls_dir", dir)
		return nil, nil
	default:
		return nil, fmt.Errorf("transport security: no TLS files in %s; mount %s there for mTLS "+
			"(e.g. from a cert-manager Secret), or set %s=true (or --insecure) to serve plaintext",
			dir, strings.Join(names, ", "), EnvInsecure)
	}
}

// tlsReloadInterval bounds how often a handshake re-reads the TLS directory.
var tlsReloadInterval = time.Second // a variable only so that tests need not wait

// certReloader serves the TLS files of a directory and follows their rotation (cert-manager
// renews certificates in place; a Secret volume swaps all three files at once): a handshake
// re-reads them at most once per tlsReloadInterval, and a changed, valid set is used from the
// next connection on. A set that does not load (say a rotation seen half-way) is logged and
// the last good one stays in use, so a bad rotation never takes the provider off the air.
type certReloader struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	checked time.Time
	raw     [3][]byte // tls.crt, tls.key, ca.crt as last loaded
	config  *tls.Config
	failed  [3][]byte // the contents that failed last, logged once
}

func newCertReloader(dir string, log *slog.Logger) (*certReloader, error) {
	raw, err := readTLSFiles(dir)
	if err != nil {
		return nil, err
	}
	cfg, err := mutualTLSConfig(dir, raw)
	if err != nil {
		return nil, err
	}
	return &certReloader{dir: dir, log: log, checked: time.Now(), raw: raw, config: cfg}, nil
}

// serverConfig is the tls.Config the gRPC server starts with; each handshake asks the
// reloader for the current one.
func (r *certReloader) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return r.current(), nil
		},
	}
}

func (r *certReloader) current() *tls.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) < tlsReloadInterval {
		return r.config
	}
	r.checked = time.Now()
	raw, err := readTLSFiles(r.dir)
	if err == nil && sameFiles(raw, r.raw) {
		return r.config
	}
	if err == nil {
		var cfg *tls.Config
		if cfg, err = mutualTLSConfig(r.dir, raw); err == nil {
			r.raw, r.config, r.failed = raw, cfg, [3][]byte{}
			r.log.Info("transport security: reloaded the rotated TLS files", "tls_dir", r.dir)
			return r.config
		}
		if sameFiles(raw, r.failed) {
			return r.config
		}
		r.failed = raw
	}
	r.log.Warn("transport security: the TLS files changed but do not load; serving with the previous ones", "tls_dir", r.dir, "error", err)
	return r.config
}

func sameFiles(a, b [3][]byte) bool {
	return bytes.Equal(a[0], b[0]) && bytes.Equal(a[1], b[1]) && bytes.Equal(a[2], b[2])
}

// readTLSFiles reads tls.crt, tls.key and ca.crt.
func readTLSFiles(dir string) (raw [3][]byte, err error) {
	for i, name := range []string{TLSCertFile, TLSKeyFile, TLSCAFile} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrPermission) {
			return raw, fmt.Errorf("transport security: cannot read %s: permission denied; the TLS files must be "+
				"readable by the provider's user (uid %d), e.g. Secret defaultMode 0440 with the pod's fsGroup", path, os.Getuid())
		}
		if err != nil {
			return raw, fmt.Errorf("transport security: cannot read %s: %w", path, err)
		}
		raw[i] = data
	}
	return raw, nil
}

// mutualTLSConfig builds the server's mTLS configuration from the contents of tls.crt,
// tls.key and ca.crt: a verified client certificate is required.
func mutualTLSConfig(dir string, raw [3][]byte) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(raw[0], raw[1])
	if err != nil {
		return nil, fmt.Errorf("transport security: %s and %s: %w; they must be a PEM certificate and its "+
			"matching PEM private key", filepath.Join(dir, TLSCertFile), filepath.Join(dir, TLSKeyFile), err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw[2]) {
		return nil, fmt.Errorf("transport security: %s holds no PEM certificate; it must be the CA that "+
			"signs the clients' certificates", filepath.Join(dir, TLSCAFile))
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}
