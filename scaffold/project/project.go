// Package project knows the layout of a provider project that `vrtg-provider init` writes
// and `vrtg-provider verify` works in: the provider name rules, where the command and the
// vcts configuration live, and how to find them again in an existing checkout.
package project

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ConfigFile is the vcts configuration at the project root (the tutorial's name).
const ConfigFile = "vcts-config.yaml"

// CommandPrefix prefixes the provider's command directory and binary: cmd/provider-NAME.
const CommandPrefix = "provider-"

// namePattern: a DNS-label-like name that also fits image, chart and catalog names.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)

// ValidateName checks a provider name: 2 to 32 characters, lower-case letters, digits and
// dashes, starting with a letter and not ending with a dash.
func ValidateName(name string) error {
	if namePattern.MatchString(name) && !strings.HasPrefix(name, CommandPrefix) {
		return nil
	}
	why := "use 2 to 32 lower-case letters, digits and dashes, starting with a letter and ending with a letter or digit"
	switch {
	case name == "":
		return errors.New("the provider name is empty: " + why)
	case strings.HasPrefix(name, CommandPrefix):
		return fmt.Errorf("provider name %q: give the name without the %q prefix (e.g. %q)", name, CommandPrefix, strings.TrimPrefix(name, CommandPrefix))
	}
	return fmt.Errorf("provider name %q is not valid: %s", name, why)
}

// Command is the provider's command name, provider-NAME.
func Command(name string) string { return CommandPrefix + name }

// CommandDir is the provider's main package, relative to the project root.
func CommandDir(name string) string { return filepath.Join("cmd", Command(name)) }

// Project is an existing provider project on disk.
type Project struct {
	// Dir is the absolute project root (where go.mod is).
	Dir string
	// Module is the module path from go.mod.
	Module string
	// Name is the provider name, from cmd/provider-NAME.
	Name string
}

// Package is the provider's main package as a go command argument, ./cmd/provider-NAME.
func (p Project) Package() string { return "./" + filepath.ToSlash(CommandDir(p.Name)) }

// ConfigPath is the project's vcts configuration (it may not exist).
func (p Project) ConfigPath() string { return filepath.Join(p.Dir, ConfigFile) }

// Open finds the project rooted at dir: go.mod must be there and cmd/ must hold exactly
// one provider-NAME directory with a main.go, unless name picks one.
func Open(dir, name string) (Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Project{}, err
	}
	mod, err := ModulePath(filepath.Join(abs, "go.mod"))
	if err != nil {
		return Project{}, fmt.Errorf("%s is not a provider project: %w", abs, err)
	}
	p := Project{Dir: abs, Module: mod}
	if name != "" {
		if err := ValidateName(name); err != nil {
			return Project{}, err
		}
		if _, err := os.Stat(filepath.Join(abs, CommandDir(name), "main.go")); err != nil {
			return Project{}, fmt.Errorf("no provider command %s/main.go in %s", CommandDir(name), abs)
		}
		p.Name = name
		return p, nil
	}
	names, err := commandNames(abs)
	if err != nil {
		return Project{}, err
	}
	switch len(names) {
	case 0:
		return Project{}, fmt.Errorf("%s has no cmd/%sNAME/main.go: is this a provider project (vrtg-provider init writes one)?", abs, CommandPrefix)
	case 1:
		p.Name = names[0]
		return p, nil
	}
	return Project{}, fmt.Errorf("%s has several provider commands (%s): choose one with --name", abs, strings.Join(names, ", "))
}

func commandNames(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "cmd"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), CommandPrefix)
		if !e.IsDir() || !ok || ValidateName(name) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "cmd", e.Name(), "main.go")); err == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// ModulePath reads the module line of a go.mod file.
func ModulePath(goMod string) (string, error) {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			rest, _, _ = strings.Cut(rest, "//")
			mod := strings.Trim(strings.TrimSpace(rest), `"`)
			if mod != "" {
				return mod, nil
			}
		}
	}
	return "", fmt.Errorf("%s has no module line", goMod)
}

// modulePathPattern is deliberately narrower than what the go command accepts: the path
// also appears in import lines and a Dockerfile, where quotes or spaces would break things.
var modulePathPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*$`)

// ValidateModulePath checks a Go module path for the generated go.mod.
func ValidateModulePath(path string) error {
	if !modulePathPattern.MatchString(path) || strings.Contains(path, "..") {
		return fmt.Errorf("module path %q is not valid: use slash-separated elements of letters, digits, dots, dashes, underscores and tildes, e.g. github.com/acme/provider-x", path)
	}
	return nil
}

// EnclosingWorkspace returns the go.work file in a folder above dir (not in dir itself), or
// "": the go command would use that workspace for dir, whose modules do not include a
// project made in it (say, inside a vcts checkout).
func EnclosingWorkspace(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, "go.work")); err == nil && !fi.IsDir() {
			return filepath.Join(d, "go.work")
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
