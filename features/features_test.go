package features

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vctsio/vcts/internal/version"
)

var update = flag.Bool("update", false, "rewrite docs/spec.md from the feature files")

const specPath = "../docs/spec.md"

func TestSpecUpToDate(t *testing.T) {
	reqs, err := Requirements()
	if err != nil {
		t.Fatal(err)
	}
	want := Markdown(reqs, version.SpecVersion)
	if *update {
		if err := os.MkdirAll(filepath.Dir(specPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(specPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatalf("%v; generate it with: %s", err, RegenerateCommand)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/spec.md is out of date with the feature files; regenerate it with: %s", RegenerateCommand)
	}
}

func TestRequirementsAreWellFormed(t *testing.T) {
	reqs, err := Requirements()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for i, r := range reqs {
		counts[r.Profile]++
		if i > 0 && profileRank(reqs[i-1].Profile) == profileRank(r.Profile) && reqs[i-1].ID >= r.ID ||
			i > 0 && profileRank(reqs[i-1].Profile) > profileRank(r.Profile) {
			t.Errorf("requirements not in the contract's order (core, snapshot, clone; then by ID): %s before %s", reqs[i-1].ID, r.ID)
		}
		if r.Rule == "" || r.Feature == "" || len(r.Steps) == 0 {
			t.Errorf("%s: incomplete requirement %+v", r.ID, r)
		}
	}
	// The brief sizes each profile; a large drop means scenarios were lost.
	for prof, min := range map[string]int{ProfileCore: 30, ProfileSnapshot: 8, ProfileClone: 8} {
		if counts[prof] < min {
			t.Errorf("profile %s has %d requirements, want at least %d", prof, counts[prof], min)
		}
	}
}

func TestRequirementsRejectMalformedTags(t *testing.T) {
	const header = "# Retired IDs: CORE-099\nFeature: F\n"
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"no ID": {
			map[string]string{"a.feature": header + "  @core\n  Scenario: r\n    Given x\n"},
			"exactly one requirement ID tag",
		},
		"two IDs": {
			map[string]string{"a.feature": header + "  @core @CORE-001 @CORE-002\n  Scenario: r\n    Given x\n"},
			"exactly one requirement ID tag",
		},
		"no profile": {
			map[string]string{"a.feature": header + "  @CORE-001\n  Scenario: r\n    Given x\n"},
			"exactly one profile tag",
		},
		"two profiles": {
			map[string]string{"a.feature": header + "  @core @clone @CORE-001\n  Scenario: r\n    Given x\n"},
			"exactly one profile tag",
		},
		"ID of another profile": {
			map[string]string{"a.feature": header + "  @snapshot @CORE-001\n  Scenario: r\n    Given x\n"},
			"does not belong to profile",
		},
		"unknown needs": {
			map[string]string{"a.feature": header + "  @core @CORE-001 @needs-teleport\n  Scenario: r\n    Given x\n"},
			"unknown tags [@needs-teleport]",
		},
		"duplicate ID across files": {
			map[string]string{
				"a.feature": header + "  @core @CORE-001\n  Scenario: r\n    Given x\n",
				"b.feature": header + "  @core @CORE-001\n  Scenario: s\n    Given x\n",
			},
			"CORE-001 is already used at a.feature:4",
		},
		"retired ID reused": {
			map[string]string{"a.feature": header + "  @core @CORE-099\n  Scenario: r\n    Given x\n"},
			"CORE-099 is retired in a.feature",
		},
		"no retired header": {
			map[string]string{"a.feature": "Feature: F\n  @core @CORE-001\n  Scenario: r\n    Given x\n"},
			"missing the header comment",
		},
		"tags on examples": {
			map[string]string{"a.feature": header + "  @core @CORE-001\n  Scenario Outline: r\n    Given <x>\n    @needs-tasks\n    Examples:\n      | x |\n      | 1 |\n"},
			"tags on Examples",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for f, src := range tc.files {
				fsys[f] = &fstest.MapFile{Data: []byte(src)}
			}
			_, err := parse(fsys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parse: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestRequirementsKeepOutlineExamplesAndNeeds(t *testing.T) {
	src := "# Retired IDs: none\nFeature: F\n  Described.\n\n  @core @CORE-007 @needs-tasks\n  Scenario Outline: rule <x>\n    Why.\n\n    When I send <x>\n      \"\"\"\n      {\"CPU\":1}\n      \"\"\"\n\n    Examples:\n      | x |\n      | 1 |\n      | 2 |\n"
	reqs, err := parse(fstest.MapFS{"a.feature": &fstest.MapFile{Data: []byte(src)}})
	if err != nil {
		t.Fatal(err)
	}
	r := reqs[0]
	if r.ID != "CORE-007" || r.Profile != "core" || r.Rule != "rule <x>" || r.Description != "Why." ||
		r.FeatureDescription != "Described." || len(r.Needs) != 1 || r.Needs[0] != "tasks" {
		t.Fatalf("unexpected requirement %+v", r)
	}
	if len(r.Examples) != 1 || len(r.Examples[0].Rows) != 2 || r.Examples[0].Header[0] != "x" {
		t.Fatalf("examples not kept: %+v", r.Examples)
	}
	if want := "When I send <x>\n\"\"\"\n{\"CPU\":1}\n\"\"\""; r.Steps[0] != want {
		t.Fatalf("step rendered as %q, want %q", r.Steps[0], want)
	}
	md := string(Markdown(reqs, "9.9.9"))
	for _, want := range []string{"version **9.9.9**", "### CORE-007: rule <x>", "| `1` |", "Needs: `tasks`."} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestExampleValuesNamesTheRow(t *testing.T) {
	reqs, err := Requirements()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if r.ID != "CORE-025" {
			continue
		}
		got := r.ExampleValues([]string{
			"a VM with 2 CPUs and 2048 MiB of memory",
			"I reconfigure the VM to 2 CPUs and 4096 MiB of memory",
			"the VM has 2 CPUs and 4096 MiB of memory in every view",
		})
		if want := "change=memory only, cpu=2, memory=4096"; got != want {
			t.Fatalf("ExampleValues = %q, want %q", got, want)
		}
		if got := r.ExampleValues([]string{"something else"}); got != "" {
			t.Fatalf("ExampleValues of unknown steps = %q, want empty", got)
		}
		return
	}
	t.Fatal("CORE-025 not found")
}
