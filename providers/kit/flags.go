package kit

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Environment variables behind the standard flags (EnvInsecure is in tls.go).
const (
	EnvGRPCAddr        = "PROVIDER_GRPC_ADDR"
	EnvHTTPAddr        = "PROVIDER_HTTP_ADDR"
	EnvTLSDir          = "PROVIDER_TLS_DIR"
	EnvLogLevel        = "PROVIDER_LOG_LEVEL"
	EnvShutdownTimeout = "PROVIDER_SHUTDOWN_TIMEOUT"
)

// Flags declares flags on a flag.FlagSet that fall back to environment variables:
// a flag given on the command line beats its environment variable, which beats the default.
type Flags struct {
	fs        *flag.FlagSet
	lookupEnv func(string) (string, bool)
	// envErrs holds malformed environment values by flag name; they only matter when the
	// flag itself was not given.
	envErrs map[string]error

	grpcAddr, httpAddr, tlsDir, logLevel *string
	insecure                             *bool
	shutdownTimeout                      *time.Duration
}

// BindFlags declares the standard provider flags on fs: --grpc-addr, --http-addr, --tls-dir,
// --insecure, --log-level and --shutdown-timeout. lookupEnv is usually os.LookupEnv.
// After fs.Parse, Options returns what they describe.
func BindFlags(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) *Flags {
	f := &Flags{fs: fs, lookupEnv: lookupEnv, envErrs: map[string]error{}}
	f.grpcAddr = f.String("grpc-addr", EnvGRPCAddr, DefaultGRPCAddr, "gRPC listen address")
	f.httpAddr = f.String("http-addr", EnvHTTPAddr, DefaultHTTPAddr, "HTTP listen address for /healthz, /readyz and /metrics")
	f.tlsDir = f.String("tls-dir", EnvTLSDir, DefaultTLSDir,
		"directory with tls.crt, tls.key and ca.crt; all three present means mTLS with required client certificates")
	f.insecure = f.Bool("insecure", EnvInsecure, false, "serve plaintext gRPC when the TLS directory has none of its files")
	f.logLevel = f.String("log-level", EnvLogLevel, "info", "log level: debug, info, warn or error")
	f.shutdownTimeout = f.Duration("shutdown-timeout", EnvShutdownTimeout, DefaultShutdownTimeout,
		"how long in-flight calls may take to finish on SIGTERM before they are cancelled")
	return f
}

// String declares a string flag that falls back to the environment variable env.
func (f *Flags) String(name, env, def, usage string) *string {
	if v, ok := f.lookupEnv(env); ok {
		def = v
	}
	return f.fs.String(name, def, withEnv(usage, env))
}

// Bool declares a boolean flag that falls back to env (strconv.ParseBool syntax).
func (f *Flags) Bool(name, env string, def bool, usage string) *bool {
	if v, ok := f.lookupEnv(env); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			f.envErrs[name] = fmt.Errorf("%s=%q is not a boolean (use true or false)", env, v)
		} else {
			def = b
		}
	}
	return f.fs.Bool(name, def, withEnv(usage, env))
}

// Duration declares a duration flag that falls back to env (time.ParseDuration syntax).
func (f *Flags) Duration(name, env string, def time.Duration, usage string) *time.Duration {
	if v, ok := f.lookupEnv(env); ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			f.envErrs[name] = fmt.Errorf("%s=%q is not a duration (e.g. 500ms, 2s)", env, v)
		} else {
			def = d
		}
	}
	return f.fs.Duration(name, def, withEnv(usage, env))
}

func withEnv(usage, env string) string { return usage + " (env " + env + ")" }

// Err reports malformed environment values of flags that were not given on the command line.
// Call it after fs.Parse; Options calls it too.
func (f *Flags) Err() error {
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	var errs []error
	f.fs.VisitAll(func(fl *flag.Flag) {
		if err, bad := f.envErrs[fl.Name]; bad && !given[fl.Name] {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// Options returns the Options the parsed flags describe, with a JSON logger on logOut at the
// chosen level. name becomes Options.Name. It fails on malformed values.
func (f *Flags) Options(name string, logOut io.Writer) (Options, error) {
	if err := f.Err(); err != nil {
		return Options{}, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*f.logLevel)); err != nil {
		return Options{}, fmt.Errorf("--log-level %q (env %s): use debug, info, warn or error", *f.logLevel, EnvLogLevel)
	}
	if *f.shutdownTimeout <= 0 {
		return Options{}, fmt.Errorf("--shutdown-timeout %s (env %s): must be positive, e.g. 15s", *f.shutdownTimeout, EnvShutdownTimeout)
	}
	for flagName, addr := range map[string]string{"grpc-addr": *f.grpcAddr, "http-addr": *f.httpAddr} {
		if addr == "" {
			return Options{}, fmt.Errorf("--%s is empty: give host:port, e.g. :9443 or 127.0.0.1:0", flagName)
		}
		// The shape only; whether the port is free is a start-up matter (exit 1).
		if _, port, err := net.SplitHostPort(addr); err != nil {
			return Options{}, fmt.Errorf("--%s %q: want host:port, e.g. :9443 or 127.0.0.1:0", flagName, addr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return Options{}, fmt.Errorf("--%s %q: the port must be a number from 0 to 65535", flagName, addr)
		}
	}
	return Options{
		GRPCAddr:        *f.grpcAddr,
		HTTPAddr:        *f.httpAddr,
		TLSDir:          *f.tlsDir,
		Insecure:        *f.insecure,
		Name:            name,
		ShutdownTimeout: *f.shutdownTimeout,
		Logger:          slog.New(LogHandler(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))),
	}, nil
}
