package runner

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cucumber/godog"

	"github.com/vctsio/vcts/features"
	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/steps"
	"github.com/vctsio/vcts/steps/driver"
)

// selectionTags combines the selected profiles with the user's tag expression. godog's
// expressions are an OR (",") of ANDs ("&&"), so (p1 or p2) and (u1 or u2) is written
// out as p1&&u1, p1&&u2, p2&&u1, p2&&u2.
func selectionTags(profiles []string, user string) string {
	var ors []string
	userOrs := []string{""}
	if strings.TrimSpace(user) != "" {
		userOrs = strings.Split(user, ",")
	}
	for _, p := range profiles {
		for _, u := range userOrs {
			term := "@" + p
			if u = strings.TrimSpace(u); u != "" {
				term += " && " + u
			}
			ors = append(ors, term)
		}
	}
	return strings.Join(ors, ",")
}

// countSelected is how many scenarios (pickles: outline examples count one each) the tag
// selection matches, the number every run must account for.
func countSelected(tags string) (int, error) {
	feats, err := godog.TestSuite{Options: &godog.Options{FS: features.FS, Paths: []string{"."}, Tags: tags}}.RetrieveFeatures()
	if err != nil {
		return 0, fmt.Errorf("feature files: %w", err)
	}
	n := 0
	for _, f := range feats {
		n += len(f.Pickles)
	}
	return n, nil
}

// knownList loads a list of requirement IDs (tests.known_failing or tests.known_flaky, the
// key), adds extra, and checks that every ID names a requirement of the spec.
func knownList(key, path string, extra []string, reqs []features.Requirement) ([]string, error) {
	var ids []string
	if path != "" {
		var err error
		if ids, err = results.LoadKnownFailing(path); err != nil {
			return nil, &config.Error{Key: key, Err: err}
		}
	}
	for _, id := range extra {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	exists := map[string]bool{}
	for _, r := range reqs {
		exists[r.ID] = true
	}
	for _, id := range ids {
		if !exists[id] {
			return nil, &config.Error{Key: key, Err: fmt.Errorf("%s is not a requirement of the spec (see `vcts list`)", id)}
		}
	}
	return ids, nil
}

// requirementTag is a tag that names a requirement ID (@CORE-001).
var requirementTag = regexp.MustCompile(`@((?:CORE|SNAP|CLONE)-\d+)\b`)

// requirementTagsExist refuses a tag expression that names a requirement the spec does not
// have: it would select nothing, or (negated) exclude nothing, without saying so.
func requirementTagsExist(expr string, reqs []features.Requirement) error {
	exists := map[string]bool{}
	for _, r := range reqs {
		exists[r.ID] = true
	}
	for _, m := range requirementTag.FindAllStringSubmatch(expr, -1) {
		if !exists[m[1]] {
			return &config.Error{Key: "tests.tags", Err: fmt.Errorf("%s is not a requirement of the spec (see `vcts list`)", m[1])}
		}
	}
	return nil
}

func requirementInfos(reqs []features.Requirement) []results.RequirementInfo {
	out := make([]results.RequirementInfo, len(reqs))
	for i, r := range reqs {
		out[i] = results.RequirementInfo{ID: r.ID, Profile: r.Profile, Feature: r.Feature, Rule: r.Rule, Description: r.Description}
	}
	return out
}

// applyStepsConfig lays the configuration over the suite's defaults; zero keeps a default.
func applyStepsConfig(sc *steps.Config, f config.File) {
	t := f.Tests
	if t.IdempotentCount > 0 {
		sc.IdempotentCount = t.IdempotentCount
	}
	if t.ParallelCreates > 0 {
		sc.ParallelCreates = t.ParallelCreates
	}
	if t.ListVMs > 0 {
		sc.ListCount = t.ListVMs
	}
	if t.CallTimeout > 0 {
		sc.CallTimeout = t.CallTimeout.D()
	}
	if t.TaskTimeout > 0 {
		sc.TaskTimeout = t.TaskTimeout.D()
	}
	if specs := f.Profiles.Core.VMSpecs; len(specs) > 0 {
		s := specs[0]
		sc.VMSpec = driver.Spec{
			CPU: s.CPU, MemoryMiB: s.Memory, Image: s.Image, DiskGiB: s.DiskGiB,
			ImageJSON: string(s.ImageJSON), NetworksJSON: string(s.NetworksJSON), PlacementJSON: string(s.PlacementJSON),
		}
	}
	sc.UnknownVMID = f.Provider.UnknownVMID
	sc.UnknownTaskID = f.Provider.UnknownTaskID
}

// recordEffective writes the values the steps will use back into the configuration that
// results.json records, so a report says what actually ran.
func recordEffective(f *config.File, sc steps.Config) {
	f.Tests.IdempotentCount = sc.IdempotentCount
	f.Tests.ParallelCreates = sc.ParallelCreates
	f.Tests.ListVMs = sc.ListCount
	f.Tests.CallTimeout = config.Duration(sc.CallTimeout)
	f.Tests.TaskTimeout = config.Duration(sc.TaskTimeout)
	if len(f.Profiles.Core.VMSpecs) == 0 {
		v := sc.VMSpec
		f.Profiles.Core.VMSpecs = []config.VMSpec{{Name: "default", CPU: v.CPU, Memory: v.MemoryMiB, Image: v.Image, DiskGiB: v.DiskGiB,
			ImageJSON: config.RawJSON(v.ImageJSON), NetworksJSON: config.RawJSON(v.NetworksJSON), PlacementJSON: config.RawJSON(v.PlacementJSON)}}
	}
}

// skipReason is why a selected profile does not run, or "": snapshot and clone run only
// when the configuration enables them AND the provider offers them on the wire.
func skipReason(profile string, f config.File, caps driver.Capabilities, capErr error) string {
	if profile == config.ProfileCore {
		return ""
	}
	if !f.Enabled(profile) {
		return fmt.Sprintf("disabled in the configuration (profiles.%s.enabled: false)", profile)
	}
	if capErr != nil {
		return "GetCapabilities failed, so the provider's offer is unknown: " + firstLine(capErr.Error())
	}
	offered := (profile == config.ProfileSnapshot && caps.Snapshots) || (profile == config.ProfileClone && caps.Clones)
	if !offered {
		return fmt.Sprintf("the provider does not offer %ss (%s)", profile, caps.From(profile))
	}
	return ""
}

func anyFailed(ss []results.Scenario) bool {
	for _, s := range ss {
		if s.Status == results.Failed {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
