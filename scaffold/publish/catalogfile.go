package publish

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/vctsio/vcts/harness/catalog"
	"github.com/vctsio/vcts/harness/config"
)

// catalogHeader starts a catalog file that publish creates.
const catalogHeader = "# VirtRigaud provider catalog. Entries are added and updated by `vrtg-provider publish`\n" +
	"# from a conformance run's results.json; the file validates against vcts's catalog schema.\n"

// upsertEntry returns the catalog file existing (empty: none yet) with e in it: an entry of
// the same name is replaced in place, otherwise e is appended to providers.
// metadata.lastUpdated, when the file has it, becomes now. Everything else stays as it was,
// byte for byte when the layout allows a text splice (so the pull request shows only the
// real change), else with comments and order kept but blank lines normalised.
func upsertEntry(existing []byte, e catalog.Entry, now time.Time) (out []byte, updated bool, err error) {
	stamp := now.UTC().Format(time.RFC3339)
	entryNode, err := entryToNode(e)
	if err != nil {
		return nil, false, err
	}
	if len(bytes.TrimSpace(existing)) == 0 {
		providers := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{entryNode}}
		doc := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		meta, err := toNode(catalog.Metadata{Version: "v1", LastUpdated: stamp, Description: "VirtRigaud provider catalog"})
		if err != nil {
			return nil, false, err
		}
		doc.Content = []*yaml.Node{scalar("metadata"), meta, scalar("providers"), providers}
		b, err := encode(doc)
		if err != nil {
			return nil, false, err
		}
		return append([]byte(catalogHeader), b...), false, nil
	}

	var root yaml.Node
	if err := yaml.Unmarshal(existing, &root); err != nil {
		return nil, false, fmt.Errorf("the catalog is not valid YAML: %w", err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, false, errors.New("the catalog is not a YAML mapping with a providers list")
	}
	top := root.Content[0]
	providers := mappingValue(top, "providers")
	var at []int
	if providers != nil && providers.Kind == yaml.SequenceNode {
		for i, item := range providers.Content {
			if name := mappingValue(item, "name"); name != nil && name.Kind == yaml.ScalarNode && name.Value == e.Name {
				at = append(at, i)
			}
		}
	}
	if len(at) > 1 {
		return nil, false, fmt.Errorf("the catalog already lists %d providers named %q; fix it by hand first", len(at), e.Name)
	}
	updated = len(at) == 1
	if b, ok := splice(existing, top, providers, at, e, stamp); ok {
		return b, updated, nil
	}

	// The node route: always possible, loses blank lines.
	switch {
	case providers == nil:
		providers = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		top.Content = append(top.Content, scalar("providers"), providers)
	case providers.Kind == yaml.ScalarNode && providers.Tag == "!!null":
		*providers = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	case providers.Kind != yaml.SequenceNode:
		return nil, false, errors.New("the catalog's providers is not a list")
	}
	if updated {
		old := providers.Content[at[0]]
		entryNode.HeadComment, entryNode.LineComment, entryNode.FootComment = old.HeadComment, old.LineComment, old.FootComment
		providers.Content[at[0]] = entryNode
	} else {
		providers.Content = append(providers.Content, entryNode)
	}
	if meta := mappingValue(top, "metadata"); meta != nil && meta.Kind == yaml.MappingNode {
		setScalar(meta, "lastUpdated", stamp)
	}
	b, err := encode(&root)
	return b, updated, err
}

// splice edits the text: it replaces the lines of entry at[0] (or inserts after the last
// entry) with the rendered entry, and rewrites the lastUpdated value in place. It only
// reports ok when the result parses back to the intended entry at the intended position.
func splice(src []byte, top, providers *yaml.Node, at []int, e catalog.Entry, stamp string) ([]byte, bool) {
	if providers == nil || providers.Kind != yaml.SequenceNode || len(providers.Content) == 0 {
		return nil, false
	}
	lines := strings.SplitAfter(string(src), "\n")
	idx := len(providers.Content) - 1
	if len(at) == 1 {
		idx = at[0]
	}
	item := providers.Content[idx]
	// The item's mapping starts after "- ": the dash is two columns to the left.
	dash := item.Column - 3
	if item.Kind != yaml.MappingNode || dash < 0 || item.Line > len(lines) ||
		!strings.HasPrefix(lines[item.Line-1][dash:], "- ") || strings.TrimSpace(lines[item.Line-1][:dash]) != "" {
		return nil, false
	}
	first := item.Line - 1 // 0-based first line of the item
	end := len(lines)      // 0-based line after the item
	if idx+1 < len(providers.Content) {
		end = providers.Content[idx+1].Line - 1
	} else if next := nextKeyLine(top, providers); next > 0 {
		end = next - 1
	}
	// Comments and blank lines before the next item or key belong to it (yaml.v3 makes
	// them its head comment), not to this one.
	for end > first+1 && isBlankOrComment(lines[end-1]) {
		end--
	}
	entryNode, err := entryToNode(e)
	if err != nil {
		return nil, false
	}
	rendered, err := encode(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{entryNode}})
	if err != nil {
		return nil, false
	}
	prefix := strings.Repeat(" ", dash)
	var ins strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimRight(string(rendered), "\n")+"\n", "\n") {
		if l != "" {
			ins.WriteString(prefix + l)
		}
	}
	var out []string
	if len(at) == 1 {
		out = append(append(append(out, lines[:first]...), ins.String()), lines[end:]...)
	} else {
		if end > 0 && !strings.HasSuffix(lines[end-1], "\n") {
			return nil, false
		}
		out = append(append(append(out, lines[:end]...), ins.String()), lines[end:]...)
	}
	text := strings.Join(out, "")
	if meta := mappingValue(top, "metadata"); meta != nil {
		v := mappingValue(meta, "lastUpdated")
		if v != nil {
			// lastUpdated sits above providers, so the line numbers before the entry held.
			if v.Line >= item.Line || v.Kind != yaml.ScalarNode || v.LineComment != "" {
				return nil, false
			}
			ls := strings.SplitAfter(text, "\n")
			l := ls[v.Line-1]
			nl := ""
			if strings.HasSuffix(l, "\n") {
				nl = "\n"
			}
			ls[v.Line-1] = l[:v.Column-1] + `"` + stamp + `"` + nl
			text = strings.Join(ls, "")
		}
	}
	if !spliceHolds([]byte(text), e, idx, len(at) == 1, len(providers.Content), stamp, meta(top)) {
		return nil, false
	}
	return []byte(text), true
}

func meta(top *yaml.Node) bool {
	m := mappingValue(top, "metadata")
	return m != nil && mappingValue(m, "lastUpdated") != nil
}

// spliceHolds re-reads the spliced text and checks that it says what was meant.
func spliceHolds(text []byte, e catalog.Entry, idx int, replaced bool, before int, stamp string, stamped bool) bool {
	var doc catalog.Document
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return false
	}
	want := before
	if !replaced {
		want, idx = before+1, before
	}
	if len(doc.Providers) != want || !reflect.DeepEqual(doc.Providers[idx], e) {
		return false
	}
	return !stamped || (doc.Metadata != nil && doc.Metadata.LastUpdated == stamp)
}

// nextKeyLine is the line of the top-level key after providers (0 when it is the last).
func nextKeyLine(top, providers *yaml.Node) int {
	for i := 1; i+2 < len(top.Content); i += 2 {
		if top.Content[i] == providers {
			return top.Content[i+1].Line
		}
	}
	return 0
}

func isBlankOrComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "#")
}

// entryToNode renders e with its conformance profiles in report order (core, snapshot,
// clone, then any others) instead of the alphabetical order of a Go map.
func entryToNode(e catalog.Entry) (*yaml.Node, error) {
	n, err := toNode(e)
	if err != nil {
		return nil, err
	}
	profiles := mappingValue(mappingValue(n, "conformance"), "profiles")
	if profiles != nil && profiles.Kind == yaml.MappingNode {
		rank := func(k string) int {
			if i := slices.Index(config.AllProfiles, k); i >= 0 {
				return i
			}
			return len(config.AllProfiles)
		}
		type pair struct{ k, v *yaml.Node }
		var pairs []pair
		for i := 0; i+1 < len(profiles.Content); i += 2 {
			pairs = append(pairs, pair{profiles.Content[i], profiles.Content[i+1]})
		}
		sort.SliceStable(pairs, func(a, b int) bool { return rank(pairs[a].k.Value) < rank(pairs[b].k.Value) })
		profiles.Content = profiles.Content[:0]
		for _, p := range pairs {
			profiles.Content = append(profiles.Content, p.k, p.v)
		}
	}
	return n, nil
}

func toNode(v any) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return &n, nil
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// mappingValue returns the value node of key in a mapping node, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setScalar(m *yaml.Node, key, value string) {
	if v := mappingValue(m, key); v != nil {
		*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: v.Style}
		return
	}
	m.Content = append(m.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
}

func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
