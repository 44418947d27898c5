package target

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vctsio/vcts/harness/config"
)

// TransportOption returns the dial option for a TLS configuration: plaintext when TLS is
// off; otherwise TLS verified against the CA file (or the system roots), with a client
// certificate (mTLS) when cert and key are given.
func TransportOption(t config.TLS) (grpc.DialOption, error) {
	if !t.Enabled {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, &config.Error{Key: "provider.tls.ca", Err: fmt.Errorf("tls ca: %w", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &config.Error{Key: "provider.tls.ca", Err: fmt.Errorf("%s holds no PEM certificate", t.CA)}
		}
		tc.RootCAs = pool
	}
	if t.Cert != "" || t.Key != "" {
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, &config.Error{Key: "provider.tls.cert", Err: fmt.Errorf("tls client certificate: %w", err)}
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(tc)), nil
}
