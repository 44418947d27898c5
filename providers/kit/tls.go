package kit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

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
		cfg, err := mutualTLSConfig(dir)
		if err != nil {
			return nil, err
		}
		log.Info("transport security: mTLS, client certificate required", "tls_dir", dir)
		return credentials.NewTLS(cfg), nil
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

func mutualTLSConfig(dir string) (*tls.Config, error) {
	contents := map[string][]byte{}
	for _, name := range []string{TLSCertFile, TLSKeyFile, TLSCAFile} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("transport security: cannot read %s: permission denied; the TLS files must be "+
				"readable by the provider's user (uid %d), e.g. Secret defaultMode 0440 with the pod's fsGroup", path, os.Getuid())
		}
		if err != nil {
			return nil, fmt.Errorf("transport security: cannot read %s: %w", path, err)
		}
		contents[name] = data
	}

	cert, err := tls.X509KeyPair(contents[TLSCertFile], contents[TLSKeyFile])
	if err != nil {
		return nil, fmt.Errorf("transport security: %s and %s: %w; they must be a PEM certificate and its "+
			"matching PEM private key", filepath.Join(dir, TLSCertFile), filepath.Join(dir, TLSKeyFile), err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(contents[TLSCAFile]) {
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
