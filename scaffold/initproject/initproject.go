// Package initproject writes a new VirtRigaud provider project (`vrtg-provider init NAME`):
// a small in-memory provider that implements the v1 wire protocol and passes vcts core
// conformance as generated, its unit tests, a Dockerfile, a Helm chart, a CI workflow with a
// conformance job, a Makefile and a vcts-config.yaml.
//
// The files come from the embedded templates/ tree (text/template with [[ ]] delimiters, so
// Helm's and GitHub Actions' {{ }} pass through untouched). A path element __name__ is the
// provider name; the .tmpl suffix keeps the go command from treating templates as code.
package initproject

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"unicode"

	"github.com/vctsio/vcts/internal/atomicfile"
	"github.com/vctsio/vcts/internal/version"
	"github.com/vctsio/vcts/scaffold/project"
)

//go:embed all:templates
var templates embed.FS

const (
	templateRoot = "templates"
	nameToken    = "__name__"
	tmplSuffix   = ".tmpl"
)

// VCTSModule is the module the generated project depends on (kit and generated protocol).
const VCTSModule = "github.com/vctsio/vcts"

// GoVersion is the go directive of the generated go.mod: the one vcts itself needs.
const GoVersion = "1.26.0"

// GRPCVersion is the grpc release vcts is built with; the generated go.mod asks for it so
// that the generated project and its vcts dependency agree.
const GRPCVersion = "v1.85.0"

// DevVersion is the module version written for a vcts that has no release version (a
// development build): it only resolves through a replace directive (--vcts-path).
const DevVersion = "v0.0.0-00010101000000-000000000000"

// DefaultEndpoint is where `make run` serves and vcts-config.yaml points.
const DefaultEndpoint = "127.0.0.1:9443"

// Options describe the project to write.
type Options struct {
	// Name is the provider name (project.ValidateName): cmd/provider-NAME, chart
	// provider-NAME, catalog name NAME.
	Name string
	// Dir is where the project goes (default: the current directory).
	Dir string
	// Module is the Go module path (default github.com/example/provider-NAME).
	Module string
	// Image is the container image repository, without a tag (default: DefaultImage). It
	// becomes catalog.image in vcts-config.yaml.
	Image string
	// Force overwrites files that exist. Without it nothing is written when any exists.
	Force bool
	// VCTSPath, when set, is a local vcts checkout written as a replace directive.
	VCTSPath string
	// VCTSVersion is the vcts module version to require (default: this build's version
	// when it is a release, else DevVersion, which needs VCTSPath).
	VCTSVersion string
}

// Result is what Generate wrote.
type Result struct {
	// Dir is the absolute project directory.
	Dir string
	// Files are the written paths, relative to Dir, sorted.
	Files []string
	// Overwritten lists the files that existed and were replaced (Force).
	Overwritten []string
	// Warnings are things the author must fix before the project builds elsewhere.
	Warnings []string
	// InWorkspace is the go.work file of a folder above the project, if any.
	InWorkspace string
}

// ExistsError is the refusal to overwrite: Files exist and Force was not given.
type ExistsError struct {
	Dir   string
	Files []string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("refusing to overwrite %d existing file(s) in %s (use --force to replace them):\n  %s",
		len(e.Files), e.Dir, strings.Join(e.Files, "\n  "))
}

// UsageError is a bad option (name, module, image, path); the CLI exits 2 on it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// templateData is what the templates see.
type templateData struct {
	Name, Title, Command, Module, Image, Endpoint string
	VCTSModule, VCTSVersion                       string
	VCTSReplace                                   string
	GoVersion, GoMinor, GRPCVersion               string
}

var (
	releaseVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	imagePattern   = regexp.MustCompile(`^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
)

// DefaultModule is the module path used when none is given.
func DefaultModule(name string) string { return "github.com/example/" + project.Command(name) }

// DefaultImage is the image repository used when none is given: GitHub's registry under the
// module's owner and repository when the module lives on GitHub (github.com/acme/provider-x
// → ghcr.io/acme/provider-x), else ghcr.io/example/provider-NAME.
func DefaultImage(name, module string) string {
	if parts := strings.Split(module, "/"); len(parts) >= 3 && parts[0] == "github.com" {
		if img := strings.ToLower("ghcr.io/" + parts[1] + "/" + parts[2]); imagePattern.MatchString(img) {
			return img
		}
	}
	return "ghcr.io/example/" + project.Command(name)
}

// Generate writes the project. It validates everything and checks for existing files before
// writing the first one, so a refusal leaves the directory as it was.
func Generate(o Options) (*Result, error) {
	data, res, err := prepare(o)
	if err != nil {
		return nil, err
	}
	files, err := render(data)
	if err != nil {
		return nil, err
	}
	var existing []string
	for _, f := range files {
		st, err := os.Lstat(filepath.Join(res.Dir, f.path))
		switch {
		case err == nil && st.IsDir():
			return nil, fmt.Errorf("%s is a directory; the project needs a file there", filepath.Join(res.Dir, f.path))
		case err == nil:
			existing = append(existing, f.path)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	if len(existing) > 0 && !o.Force {
		return nil, &ExistsError{Dir: res.Dir, Files: existing}
	}
	res.Overwritten = existing
	for _, f := range files {
		dst := filepath.Join(res.Dir, f.path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return res, err
		}
		if err := atomicfile.WriteFile(dst, f.data); err != nil {
			return res, err
		}
		res.Files = append(res.Files, f.path)
	}
	return res, nil
}

func prepare(o Options) (templateData, *Result, error) {
	usage := func(err error) (templateData, *Result, error) { return templateData{}, nil, &UsageError{Err: err} }
	if err := project.ValidateName(o.Name); err != nil {
		return usage(err)
	}
	if o.Module == "" {
		o.Module = DefaultModule(o.Name)
	}
	if err := project.ValidateModulePath(o.Module); err != nil {
		return usage(err)
	}
	if o.Image == "" {
		o.Image = DefaultImage(o.Name, o.Module)
	}
	if !imagePattern.MatchString(o.Image) {
		return usage(fmt.Errorf("image %q is not a valid image repository (lower-case, no tag), e.g. ghcr.io/acme/%s", o.Image, project.Command(o.Name)))
	}
	if o.Dir == "" {
		o.Dir = "."
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return usage(err)
	}
	res := &Result{Dir: dir}
	if ws := project.EnclosingWorkspace(dir); ws != "" {
		res.InWorkspace = ws
		res.Warnings = append(res.Warnings, fmt.Sprintf("the project is inside the Go workspace %s, which does not build it: "+
			"its Makefile and vrtg-provider verify set GOWORK=off; do the same for go commands you type (GOWORK=off go mod tidy)", ws))
	}

	d := templateData{
		Name: o.Name, Title: title(o.Name), Command: project.Command(o.Name),
		Module: o.Module, Image: o.Image, Endpoint: DefaultEndpoint,
		VCTSModule: VCTSModule, GoVersion: GoVersion, GoMinor: goMinor(GoVersion), GRPCVersion: GRPCVersion,
	}
	if o.VCTSPath == "" && o.VCTSVersion == "" && !releaseVersion.MatchString(version.Version) {
		// A development build has no published version to require: the vcts checkout it is
		// run from (the README's quick start runs it from there) stands in.
		if found := enclosingCheckout(); found != "" {
			o.VCTSPath = found
			res.Warnings = append(res.Warnings, "this vrtg-provider is a development build: the vcts checkout it runs from, "+found+", stands in for a released vcts")
		}
	}
	if o.VCTSPath != "" {
		abs, err := filepath.Abs(o.VCTSPath)
		if err != nil {
			return usage(err)
		}
		if err := checkVCTSCheckout(abs); err != nil {
			return usage(err)
		}
		if strings.ContainsAny(abs, " \t\"\n") {
			return usage(fmt.Errorf("--vcts-path %q: a path with spaces or quotes cannot go into go.mod unquoted; move the checkout", abs))
		}
		d.VCTSReplace = abs
	}
	switch {
	case o.VCTSVersion != "":
		if !releaseVersion.MatchString(o.VCTSVersion) && o.VCTSVersion != DevVersion {
			return usage(fmt.Errorf("--vcts-version %q is not a module version such as v1.2.3", o.VCTSVersion))
		}
		d.VCTSVersion = o.VCTSVersion
	case releaseVersion.MatchString(version.Version):
		d.VCTSVersion = version.Version
	default:
		d.VCTSVersion = DevVersion
	}
	if d.VCTSVersion == DevVersion {
		if d.VCTSReplace == "" {
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"this vrtg-provider is a development build (version %q): go.mod requires %s %s, which only resolves with a replace; "+
					"pass --vcts-path to a vcts checkout or --vcts-version with a released version", version.Version, VCTSModule, DevVersion))
		}
	}
	if d.VCTSReplace != "" {
		res.Warnings = append(res.Warnings, "go.mod replaces "+VCTSModule+" with "+d.VCTSReplace+
			": fine for local work, but remove it before building the image or publishing the source")
	}
	return d, res, nil
}

// checkVCTSCheckout makes sure a replace target really is vcts, so a typo fails at init
// rather than at the first build.
// enclosingCheckout is the vcts checkout that holds the working directory, or "".
func enclosingCheckout() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if checkVCTSCheckout(dir) == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func checkVCTSCheckout(dir string) error {
	mod, err := project.ModulePath(filepath.Join(dir, "go.mod"))
	if err != nil {
		return fmt.Errorf("--vcts-path %s: %w", dir, err)
	}
	if mod != VCTSModule {
		return fmt.Errorf("--vcts-path %s holds module %s, not %s", dir, mod, VCTSModule)
	}
	return nil
}

type file struct {
	path string // slash-separated, relative to the project
	data []byte
}

// Paths lists the files a project of that name consists of, relative to its root.
func Paths(name string) ([]string, error) {
	var out []string
	err := fs.WalkDir(templates, templateRoot, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		out = append(out, outputPath(p, name))
		return nil
	})
	sort.Strings(out)
	return out, err
}

func outputPath(tmplPath, name string) string {
	rel := strings.TrimPrefix(tmplPath, templateRoot+"/")
	return strings.ReplaceAll(strings.TrimSuffix(rel, tmplSuffix), nameToken, name)
}

func render(d templateData) ([]file, error) {
	var files []file
	err := fs.WalkDir(templates, templateRoot, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		src, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(path.Base(p)).Delims("[[", "]]").Option("missingkey=error").Parse(string(src))
		if err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		files = append(files, file{path: outputPath(p, d.Name), data: b.Bytes()})
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files, err
}

// title turns "my-hv" into "My Hv" for display names.
func title(name string) string {
	words := strings.Split(name, "-")
	for i, w := range words {
		if w == "" {
			continue
		}
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	return strings.Join(words, " ")
}

// goMinor turns 1.26.0 into 1.26 (the golang image tag).
func goMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}
