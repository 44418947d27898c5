package kit

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func parse(t *testing.T, env map[string]string, args ...string) (*Flags, *flag.FlagSet) {
	t.Helper()
	fs := flag.NewFlagSet("provider-test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := BindFlags(fs, envOf(env))
	require.NoError(t, fs.Parse(args))
	return f, fs
}

func TestFlagsDefaults(t *testing.T) {
	f, _ := parse(t, nil)
	opts, err := f.Options("file", io.Discard)
	require.NoError(t, err)
	assert.Equal(t, DefaultGRPCAddr, opts.GRPCAddr)
	assert.Equal(t, DefaultHTTPAddr, opts.HTTPAddr)
	assert.Equal(t, DefaultTLSDir, opts.TLSDir)
	assert.False(t, opts.Insecure)
	assert.Equal(t, DefaultShutdownTimeout, opts.ShutdownTimeout)
	assert.Equal(t, "file", opts.Name)
	assert.True(t, opts.Logger.Enabled(t.Context(), slog.LevelInfo))
	assert.False(t, opts.Logger.Enabled(t.Context(), slog.LevelDebug))
}

func TestFlagsEnvBeatsDefaultAndFlagBeatsEnv(t *testing.T) {
	env := map[string]string{
		EnvGRPCAddr:        "127.0.0.1:1001",
		EnvHTTPAddr:        "127.0.0.1:1002",
		EnvTLSDir:          "/env/tls",
		EnvInsecure:        "true",
		EnvLogLevel:        "debug",
		EnvShutdownTimeout: "3s",
	}
	f, _ := parse(t, env)
	opts, err := f.Options("file", io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1001", opts.GRPCAddr)
	assert.Equal(t, "127.0.0.1:1002", opts.HTTPAddr)
	assert.Equal(t, "/env/tls", opts.TLSDir)
	assert.True(t, opts.Insecure)
	assert.Equal(t, 3*time.Second, opts.ShutdownTimeout)
	assert.True(t, opts.Logger.Enabled(t.Context(), slog.LevelDebug))

	f, _ = parse(t, env, "--grpc-addr", "127.0.0.1:2001", "--http-addr=127.0.0.1:2002", "--tls-dir", "/flag/tls",
		"--insecure=false", "--log-level", "error", "--shutdown-timeout", "9s")
	opts, err = f.Options("file", io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:2001", opts.GRPCAddr)
	assert.Equal(t, "127.0.0.1:2002", opts.HTTPAddr)
	assert.Equal(t, "/flag/tls", opts.TLSDir)
	assert.False(t, opts.Insecure)
	assert.Equal(t, 9*time.Second, opts.ShutdownTimeout)
	assert.False(t, opts.Logger.Enabled(t.Context(), slog.LevelWarn))
}

func TestFlagsMalformedEnvironment(t *testing.T) {
	env := map[string]string{EnvInsecure: "yes please", EnvShutdownTimeout: "soon"}
	f, _ := parse(t, env)
	_, err := f.Options("file", io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvInsecure+`="yes please" is not a boolean`)
	assert.Contains(t, err.Error(), EnvShutdownTimeout+`="soon" is not a duration`)

	// A flag given on the command line makes its malformed variable irrelevant.
	f, _ = parse(t, env, "--insecure", "--shutdown-timeout=1s")
	_, err = f.Options("file", io.Discard)
	assert.NoError(t, err)
}

func TestFlagsRejectBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--log-level", "loud"}, `--log-level "loud" (env PROVIDER_LOG_LEVEL)`},
		{[]string{"--shutdown-timeout", "0s"}, "--shutdown-timeout 0s (env PROVIDER_SHUTDOWN_TIMEOUT): must be positive"},
		{[]string{"--grpc-addr", ""}, "--grpc-addr is empty"},
		{[]string{"--http-addr", ""}, "--http-addr is empty"},
		{[]string{"--grpc-addr", "nope"}, `--grpc-addr "nope": want host:port`},
		{[]string{"--http-addr", "127.0.0.1:http"}, "the port must be a number"},
		{[]string{"--http-addr", "127.0.0.1:70000"}, "the port must be a number from 0 to 65535"},
	} {
		f, _ := parse(t, nil, tc.args...)
		_, err := f.Options("file", io.Discard)
		assert.ErrorContains(t, err, tc.want, "args %v", tc.args)
	}
}

func TestFlagsProviderSpecificFlagsShareThePrecedence(t *testing.T) {
	fs := flag.NewFlagSet("provider-test", flag.ContinueOnError)
	f := BindFlags(fs, envOf(map[string]string{"PROVIDER_STORAGE_DIR": "/env/vms", "PROVIDER_DELAY": "250ms"}))
	dir := f.String("storage-dir", "PROVIDER_STORAGE_DIR", "/default/vms", "where VMs live")
	delay := f.Duration("transition-delay", "PROVIDER_DELAY", 0, "transition time")
	require.NoError(t, fs.Parse([]string{"--storage-dir", "/flag/vms"}))
	require.NoError(t, f.Err())
	assert.Equal(t, "/flag/vms", *dir)
	assert.Equal(t, 250*time.Millisecond, *delay)

	var usage bytes.Buffer
	fs.SetOutput(&usage)
	fs.PrintDefaults()
	assert.Contains(t, usage.String(), "(env PROVIDER_STORAGE_DIR)", "help names the variable")
	assert.Contains(t, usage.String(), "(env "+EnvInsecure+")")
}

func TestFlagsLoggerWritesJSON(t *testing.T) {
	f, _ := parse(t, nil)
	var out bytes.Buffer
	opts, err := f.Options("file", &out)
	require.NoError(t, err)
	opts.Logger.Info("hello", "k", "v")
	assert.JSONEq(t, `{"level":"INFO","msg":"hello","k":"v"}`, removeTime(t, out.Bytes()))
}

func removeTime(t *testing.T, line []byte) string {
	t.Helper()
	var rec map[string]any
	require.NoError(t, json.Unmarshal(line, &rec))
	require.Contains(t, rec, "time")
	delete(rec, "time")
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	return string(b)
}
