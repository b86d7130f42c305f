package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// scenarioDigest hashes what a Fleet of Generate hands out: every host's
// instance, name, role, flags, planted rows and rows (as values, not
// through the JSON of types other packages own).
func scenarioDigest(t *testing.T, f *Fleet) string {
	t.Helper()
	h := sha256.New()
	for i := range f.Hosts {
		host := &f.Hosts[i]
		type plant struct {
			Kind, CommandID string
			Row             map[string]string
		}
		var ps []plant
		for _, p := range host.Planted {
			ps = append(ps, plant{p.Kind, p.CommandID, p.Row})
		}
		in := host.Instance
		for _, v := range []any{in.ID, in.Name, in.Region, in.Account, in.Tags, in.PrivateIP, in.ImageID, in.LaunchTime.Unix(),
			host.Hostname, host.Role, host.Canary, host.Sidecar, host.Compromised, ps, host.Rows} {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestScenariosPinned checks that Generate's scenarios give the fleets they
// gave when the analyzers' tests and goldens were written (the digests are
// those of 8cd8a91, before Sim came): a change here changes every figure
// measured on them. If a change is meant, say why in the commit and
// update the digests.
func TestScenariosPinned(t *testing.T) {
	want := map[string]string{
		"small":        "845c90a3b832c9916fdb3ff41e7d3ac11860ba0872171b61140172bf1a2886ba",
		"small-2plant": "5c2fe984d61c5ed8ba92ad5989f12f7382cf71db9e03a9ce1d0fabdfd6739a85",
		"medium":       "22470b070ee3413de0d675c36743bfe7c544fa1e3f04aa6e026d54f10736d695",
		"medium-3pct":  "1fab3080c550e77c50ed118363848c947d528fc68db0adc3ee1df86a0d43974b",
		"large":        "05a973ddc0e63726d909a670cc0d798b1b548562f998294bde8ee69aaec9768b",
		"spread":       "02007079b7fe8814573030172ba574ab152336ca4427d2ef7b3673ae62ff387e",
	}
	for name, digest := range want {
		if (testing.Short() || raceEnabled) && Scenario(name).Hosts > 200 {
			continue
		}
		if got := scenarioDigest(t, Generate(Scenario(name))); got != digest {
			t.Errorf("scenario %s: digest %s, want %s", name, got, digest)
		}
	}
}
