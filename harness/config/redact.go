package config

import (
	"encoding/json"
	"regexp"
)

// secretKey matches JSON keys whose values must never reach a report (a vSphere placement
// or image payload may carry credentials).
var secretKey = regexp.MustCompile(`(?i)pass|secret|token|credential|private|apikey|api_key`)

// Redacted returns a copy that is safe to publish in results.json: TLS file paths stay (they
// are not key material; the suite never reads key contents into the configuration), and
// secret-looking values inside the raw JSON payloads are replaced.
func (f File) Redacted() File {
	out := f
	out.Profiles.Core.VMSpecs = make([]VMSpec, len(f.Profiles.Core.VMSpecs))
	for i, s := range f.Profiles.Core.VMSpecs {
		s.ImageJSON = redactJSON(s.ImageJSON)
		s.NetworksJSON = redactJSON(s.NetworksJSON)
		s.PlacementJSON = redactJSON(s.PlacementJSON)
		out.Profiles.Core.VMSpecs[i] = s
	}
	out.Catalog.Tags = append([]string(nil), f.Catalog.Tags...)
	return out
}

func redactJSON(r RawJSON) RawJSON {
	if r == "" {
		return r
	}
	var v any
	if err := json.Unmarshal([]byte(r), &v); err != nil {
		return "REDACTED"
	}
	b, err := json.Marshal(redactValue(v))
	if err != nil {
		return "REDACTED"
	}
	return RawJSON(b)
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if secretKey.MatchString(k) {
				t[k] = "REDACTED"
				continue
			}
			t[k] = redactValue(x)
		}
	case []any:
		for i, x := range t {
			t[i] = redactValue(x)
		}
	}
	return v
}
