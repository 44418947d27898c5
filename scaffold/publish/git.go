package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Identity used for the commit when the catalog checkout has no user configured.
const (
	FallbackAuthorName  = "vrtg-provider"
	FallbackAuthorEmail = "vrtg-provider@localhost"
)

// gitRepo runs git in a checkout of the catalog repository. Nothing here talks to a remote:
// publish prepares the branch and prints the push and pull-request commands.
type gitRepo struct {
	top string // the work tree's top directory
	env []string
}

func openRepo(ctx context.Context, dir string) (*gitRepo, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("--catalog-repo needs git: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	g := &gitRepo{top: abs, env: append(os.Environ(), "GIT_TERMINAL_PROMPT=0")}
	top, err := g.run(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("--catalog-repo %s is not a git checkout: %w", abs, err)
	}
	if g.top, err = filepath.EvalSymlinks(top); err != nil {
		return nil, err
	}
	return g, nil
}

// run runs git in the work tree and returns its trimmed standard output.
func (g *gitRepo) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.top}, args...)...)
	cmd.Env = g.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// exitCode runs git and returns its exit status (for the commands that answer with it).
func (g *gitRepo) exitCode(ctx context.Context, args ...string) (int, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.top}, args...)...)
	cmd.Env = g.env
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

// rel returns path relative to the work tree, refusing paths outside it.
func (g *gitRepo) rel(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	// The file may not exist yet: resolve symlinks of its directory only.
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	r, err := filepath.Rel(g.top, abs)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the catalog checkout %s", path, g.top)
	}
	return filepath.ToSlash(r), nil
}

// preflight checks everything that could stop the submission before anything changes: the
// branch name is valid and new, and the files publish writes carry no uncommitted edits.
func (g *gitRepo) preflight(ctx context.Context, branch string, paths ...string) (base string, err error) {
	if code, err := g.exitCode(ctx, "check-ref-format", "--branch", branch); err != nil || code != 0 {
		return "", fmt.Errorf("%q is not a valid branch name (from the provider name and --tag)", branch)
	}
	if code, err := g.exitCode(ctx, "show-ref", "--verify", "--quiet", "refs/heads/"+branch); err != nil {
		return "", err
	} else if code == 0 {
		return "", fmt.Errorf("branch %s already exists in %s: delete it (git branch -D %s) or publish another --tag", branch, g.top, branch)
	}
	dirty, err := g.run(ctx, append([]string{"status", "--porcelain", "--"}, paths...)...)
	if err != nil {
		return "", err
	}
	if dirty != "" {
		return "", fmt.Errorf("uncommitted changes in the catalog checkout would be mixed into the submission; commit or stash them first:\n%s", dirty)
	}
	base, err = g.run(ctx, "rev-parse", "--abbrev-ref", "HEAD")
	if err != nil {
		// An empty repository has no HEAD commit yet; the branch then starts the history.
		base = ""
	}
	return base, nil
}

// identityEnv supplies a fixed author when the checkout has no user configured, so the
// commit works on a fresh machine without touching anyone's git configuration.
func (g *gitRepo) identityEnv(ctx context.Context) []string {
	name, _ := g.run(ctx, "config", "user.name")
	email, _ := g.run(ctx, "config", "user.email")
	if name != "" && email != "" {
		return nil
	}
	if name == "" {
		name = FallbackAuthorName
	}
	if email == "" {
		email = FallbackAuthorEmail
	}
	return []string{
		"GIT_AUTHOR_NAME=" + name, "GIT_AUTHOR_EMAIL=" + email,
		"GIT_COMMITTER_NAME=" + name, "GIT_COMMITTER_EMAIL=" + email,
	}
}

// commit commits exactly paths (nothing else that may be staged) with the message.
func (g *gitRepo) commit(ctx context.Context, subject, body string, paths ...string) (string, error) {
	if _, err := g.run(ctx, append([]string{"add", "--"}, paths...)...); err != nil {
		return "", err
	}
	withIdentity := &gitRepo{top: g.top, env: append(append([]string(nil), g.env...), g.identityEnv(ctx)...)}
	args := append([]string{"commit", "--quiet", "-m", subject, "-m", body, "--"}, paths...)
	if _, err := withIdentity.run(ctx, args...); err != nil {
		return "", err
	}
	return g.run(ctx, "rev-parse", "HEAD")
}
