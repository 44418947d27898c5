// Package catalog is the VirtRigaud provider catalog entry: its type, its JSON schema
// (catalog.schema.json, embedded) and a validator. An entry is derived from a parsed
// results.json only, so `vcts report` and `vrtg-provider publish` produce the same entry as
// the run that wrote the results.
package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/santhosh-tekuri/jsonschema/v6"
	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
)

//go:embed catalog.schema.json
var schemaJSON []byte

// SchemaID is the $id of the embedded schema.
const SchemaID = "https://vcts.dev/schemas/catalog/v1/catalog.schema.json"

// Schema returns the catalog JSON schema.
func Schema() []byte { return append([]byte(nil), schemaJSON...) }

// Entry is one provider in the catalog, in the catalog's own key names.
type Entry struct {
	Name          string      `json:"name" yaml:"name"`
	DisplayName   string      `json:"displayName" yaml:"displayName"`
	Description   string      `json:"description" yaml:"description"`
	Repo          string      `json:"repo" yaml:"repo"`
	Image         string      `json:"image" yaml:"image"`
	Tag           string      `json:"tag" yaml:"tag"`
	Capabilities  []string    `json:"capabilities" yaml:"capabilities"`
	Conformance   Conformance `json:"conformance" yaml:"conformance"`
	Maintainer    string      `json:"maintainer" yaml:"maintainer"`
	License       string      `json:"license" yaml:"license"`
	Maturity      string      `json:"maturity" yaml:"maturity"`
	Tags          []string    `json:"tags,omitempty" yaml:"tags,omitempty"`
	Documentation string      `json:"documentation,omitempty" yaml:"documentation,omitempty"`
}

// Conformance is the entry's test record.
type Conformance struct {
	// Profiles maps core, snapshot, clone to pass, partial, fail or skip.
	Profiles   map[string]string `json:"profiles" yaml:"profiles"`
	ReportURL  string            `json:"report_url,omitempty" yaml:"report_url,omitempty"`
	BadgeURL   string            `json:"badge_url,omitempty" yaml:"badge_url,omitempty"`
	LastTested string            `json:"last_tested" yaml:"last_tested"`
}

// Document is a whole catalog file.
type Document struct {
	Metadata  *Metadata      `json:"metadata,omitempty" yaml:"metadata,omitempty"`
	Providers []Entry        `json:"providers" yaml:"providers"`
	Schema    map[string]any `json:"schema,omitempty" yaml:"schema,omitempty"`
}

// Metadata heads a catalog file.
type Metadata struct {
	Version     string `json:"version,omitempty" yaml:"version,omitempty"`
	LastUpdated string `json:"lastUpdated,omitempty" yaml:"lastUpdated,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// FromReport derives the provider's entry from a results.json. Metadata the run cannot
// know (maintainer, licence, repository, ...) comes from the catalog section of the
// configuration recorded in the report; nothing is invented, so an entry from a run
// without that section does not validate until it is filled in.
func FromReport(r *results.Report) Entry {
	c := r.Config.Catalog
	name := r.Provider.Name
	e := Entry{
		Name:          name,
		DisplayName:   c.DisplayName,
		Description:   c.Description,
		Repo:          c.Repo,
		Image:         c.Image,
		Tag:           c.Tag,
		Maintainer:    c.Maintainer,
		License:       c.License,
		Maturity:      c.Maturity,
		Tags:          append([]string(nil), c.Tags...),
		Documentation: c.Documentation,
		Capabilities:  []string{config.ProfileCore},
		Conformance: Conformance{
			Profiles:   map[string]string{},
			ReportURL:  c.ReportURL,
			BadgeURL:   c.BadgeURL,
			LastTested: r.FinishedAt.UTC().Format(time.RFC3339),
		},
	}
	if e.DisplayName == "" && name != "" {
		e.DisplayName = titleCase(name) + " Provider"
	}
	if caps := r.Provider.Capabilities; caps != nil {
		if caps.Snapshots {
			e.Capabilities = append(e.Capabilities, config.ProfileSnapshot)
		}
		if caps.Clones {
			e.Capabilities = append(e.Capabilities, config.ProfileClone)
		}
	}
	for _, p := range config.AllProfiles {
		v := results.VerdictSkip
		if pr, ok := r.Profile(p); ok {
			v = pr.Verdict
		}
		e.Conformance.Profiles[p] = string(v)
	}
	if e.Conformance.BadgeURL == "" {
		e.Conformance.BadgeURL = ShieldsURL(r.Verdict)
	}
	return e
}

// ShieldsURL is the static shields.io badge of a verdict, as existing catalogs link it.
func ShieldsURL(v results.Verdict) string {
	return "https://img.shields.io/badge/conformance-" + string(v) + "-" + verdictColourName(v)
}

func verdictColourName(v results.Verdict) string {
	switch v {
	case results.VerdictPass:
		return "green"
	case results.VerdictPartial:
		return "yellow"
	case results.VerdictFail:
		return "red"
	}
	return "lightgrey"
}

func titleCase(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == ' ' })
	for i, w := range words {
		rs := []rune(w)
		rs[0] = unicode.ToUpper(rs[0])
		words[i] = string(rs)
	}
	return strings.Join(words, " ")
}

var (
	compileOnce sync.Once
	docSchema   *jsonschema.Schema
	entrySchema *jsonschema.Schema
	compileErr  error
)

func schemas() (*jsonschema.Schema, *jsonschema.Schema, error) {
	compileOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
		if err != nil {
			compileErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if compileErr = c.AddResource(SchemaID, doc); compileErr != nil {
			return
		}
		if docSchema, compileErr = c.Compile(SchemaID); compileErr != nil {
			return
		}
		entrySchema, compileErr = c.Compile(SchemaID + "#/$defs/entry")
	})
	return docSchema, entrySchema, compileErr
}

// Validate checks one entry against the schema's entry definition.
func Validate(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return validateJSON(b, false)
}

// ValidateDocument checks a whole catalog file, YAML or JSON.
func ValidateDocument(data []byte) error {
	b, err := yaml.YAMLToJSON(data)
	if err != nil {
		return fmt.Errorf("catalog: not valid YAML: %w", err)
	}
	return validateJSON(b, true)
}

func validateJSON(b []byte, document bool) error {
	doc, entry, err := schemas()
	if err != nil {
		return fmt.Errorf("catalog schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	sch := entry
	if document {
		sch = doc
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return &ValidationError{Problems: flatten(ve)}
		}
		return err
	}
	return nil
}

// ValidationError lists every schema violation, one per line, each with its location.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "catalog entry does not match the schema:\n  " + strings.Join(e.Problems, "\n  ")
}

func flatten(ve *jsonschema.ValidationError) []string {
	var out []string
	var walk func(u jsonschema.OutputUnit)
	walk = func(u jsonschema.OutputUnit) {
		if u.Error != nil && len(u.Errors) == 0 {
			loc := u.InstanceLocation
			if loc == "" {
				loc = "/"
			}
			out = append(out, loc+": "+u.Error.String())
		}
		for _, c := range u.Errors {
			walk(c)
		}
	}
	walk(*ve.DetailedOutput())
	if len(out) == 0 {
		out = append(out, ve.Error())
	}
	sort.Strings(out)
	return out
}

// MarshalYAML renders entries as a YAML list, ready to paste under `providers:` of a
// catalog file. A header comment lists what keeps the first entry from validating.
func MarshalYAML(entries ...Entry) ([]byte, error) {
	// yaml.v2 on the struct keeps the catalog's key order (name first), which a person
	// pasting the entry into a catalog expects; sigs.k8s.io/yaml would sort the keys.
	b, err := yamlv2.Marshal(entries)
	if err != nil {
		return nil, err
	}
	var head bytes.Buffer
	head.WriteString("# VirtRigaud provider catalog entry, generated by vcts from results.json.\n")
	for _, e := range entries {
		var ve *ValidationError
		if err := Validate(e); errors.As(err, &ve) {
			fmt.Fprintf(&head, "# NOT YET VALID for %q (set the catalog section of vcts-config.yaml):\n", e.Name)
			for _, p := range ve.Problems {
				fmt.Fprintf(&head, "#   %s\n", strings.ReplaceAll(p, "\n", " "))
			}
		} else if err != nil {
			return nil, err
		}
	}
	return append(head.Bytes(), b...), nil
}
