package fleet

import (
	"bytes"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// volatile are the columns that vary between hosts without meaning.
var volatile = map[string]bool{"pid": true, "parent": true, "start_time": true, "size": true, "address": true}

// stable returns row without its volatile columns, as a comparable string.
func stable(commandID string, row collect.Row) string {
	var keys []string
	for k := range row {
		if commandID == payload.ListeningPorts && k == "address" {
			keys = append(keys, k) // a listener's address is not volatile
			continue
		}
		if !volatile[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(commandID)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + row[k])
	}
	return b.String()
}

// sqlColumns returns the columns a standard pack query selects.
func sqlColumns(t *testing.T, sql string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?i)^SELECT (.*?) FROM `).FindStringSubmatch(sql)
	if m == nil {
		t.Fatalf("cannot read the columns of %q", sql)
	}
	var cols []string
	for _, c := range strings.Split(m[1], ",") {
		c = strings.TrimSpace(c)
		if i := strings.IndexByte(c, '.'); i >= 0 {
			c = c[i+1:]
		}
		cols = append(cols, c)
	}
	slices.Sort(cols)
	return cols
}

func TestPackOrder(t *testing.T) {
	want := []string{payload.ListeningPorts, payload.Processes, payload.Crontab, payload.KernelModules, payload.Users, payload.AuthorizedKeys}
	for i, id := range want {
		if commandIDs[i] != id {
			t.Fatalf("pack command %d is %q, the generator indexes it as %q", i, commandIDs[i], id)
		}
	}
	if len(commandIDs) != len(want) {
		t.Fatalf("pack has %d commands, the generator knows %d", len(commandIDs), len(want))
	}
}

func TestDeterministic(t *testing.T) {
	for _, name := range []string{"small", "medium", "spread"} {
		a, b := Generate(Scenario(name)), Generate(Scenario(name))
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two fleets from the same config differ", name)
		}
		cfg := Scenario(name)
		cfg.Seed++
		c := Generate(cfg)
		if c.Hosts[0].Instance.ID == a.Hosts[0].Instance.ID {
			t.Errorf("%s: another seed gave the same first instance %s", name, a.Hosts[0].Instance.ID)
		}
	}
}

func TestRowShapes(t *testing.T) {
	f := Generate(Scenario("medium"))
	want := map[string][]string{}
	for _, c := range payload.StandardPack() {
		want[c.ID] = sqlColumns(t, c.Query)
	}
	numeric := regexp.MustCompile(`^[0-9]+$`)
	total := 0
	for _, h := range f.Hosts {
		if len(h.Rows) != len(want) {
			t.Fatalf("host %s has rows for %d commands, want %d", h.Instance.ID, len(h.Rows), len(want))
		}
		for id, rows := range h.Rows {
			cols, ok := want[id]
			if !ok {
				t.Fatalf("host %s has rows for unknown command %q", h.Instance.ID, id)
			}
			if len(rows) == 0 && id != payload.AuthorizedKeys {
				t.Errorf("host %s has no %s rows", h.Instance.ID, id)
			}
			total += len(rows)
			for _, row := range rows {
				var got []string
				for k := range row {
					got = append(got, k)
				}
				slices.Sort(got)
				if !slices.Equal(got, cols) {
					t.Fatalf("host %s %s row has columns %v, the SQL selects %v", h.Instance.ID, id, got, cols)
				}
				for _, k := range []string{"pid", "port", "uid", "gid", "size", "start_time", "parent"} {
					if v, ok := row[k]; ok && !numeric.MatchString(v) {
						t.Errorf("host %s %s column %s = %q, not a number", h.Instance.ID, id, k, v)
					}
				}
			}
		}
	}
	perHost := total / len(f.Hosts)
	if perHost < 130 || perHost > 200 {
		t.Errorf("%d rows per host on average, want about 150", perHost)
	}
}

func TestCounts(t *testing.T) {
	for _, name := range Scenarios() {
		cfg := Scenario(name)
		if cfg.Hosts > 10000 {
			continue
		}
		if (testing.Short() || raceEnabled) && cfg.Hosts > 2000 {
			continue
		}
		f := Generate(cfg)
		if len(f.Hosts) != cfg.Hosts {
			t.Fatalf("%s: %d hosts, want %d", name, len(f.Hosts), cfg.Hosts)
		}
		var comp, canary, sidecar int
		roles := map[string]int{}
		for _, h := range f.Hosts {
			roles[h.Role]++
			if h.Canary {
				canary++
			}
			if h.Sidecar {
				sidecar++
			}
			if !h.Compromised {
				if len(h.Planted) != 0 {
					t.Errorf("%s: clean host %s has plants", name, h.Instance.ID)
				}
				continue
			}
			comp++
			if len(h.Planted) != cfg.PlantsPerHost {
				t.Errorf("%s: host %s has %d plants, want %d", name, h.Instance.ID, len(h.Planted), cfg.PlantsPerHost)
			}
			kinds := map[string]bool{}
			for _, p := range h.Planted {
				if kinds[p.Kind] {
					t.Errorf("%s: host %s has two %s plants", name, h.Instance.ID, p.Kind)
				}
				kinds[p.Kind] = true
			}
		}
		if want := count(cfg.CompromisedFraction, cfg.Hosts); comp != want || comp == 0 {
			t.Errorf("%s: %d compromised hosts, want %d (> 0)", name, comp, want)
		}
		if want := count(cfg.CanaryFraction, cfg.Hosts); canary != want {
			t.Errorf("%s: %d canary hosts, want %d", name, canary, want)
		}
		if want := count(cfg.SidecarFraction, cfg.Hosts); sidecar != want {
			t.Errorf("%s: %d sidecar hosts, want %d", name, sidecar, want)
		}
		if len(roles) != cfg.Roles {
			t.Errorf("%s: %d roles, want %d", name, len(roles), cfg.Roles)
		}
	}
}

// TestPlants checks that every planted row is on its host, absent from every
// clean host (volatile columns aside), distinctive between compromised hosts
// unless Spread, and the same on all of them with Spread.
func TestPlants(t *testing.T) {
	for _, name := range []string{"small", "small-2plant", "medium", "medium-3pct", "large", "spread"} {
		f := Generate(Scenario(name))
		clean := map[string]bool{}
		for _, h := range f.Hosts {
			if h.Compromised {
				continue
			}
			for id, rows := range h.Rows {
				for _, row := range rows {
					clean[stable(id, row)] = true
				}
			}
		}
		planted := map[string]int{}
		compromised := 0
		for _, h := range f.Hosts {
			if !h.Compromised {
				continue
			}
			compromised++
			for _, p := range h.Planted {
				s := stable(p.CommandID, p.Row)
				planted[s]++
				if clean[s] {
					t.Errorf("%s: planted %s row %v of %s also occurs on a clean host", name, p.Kind, p.Row, h.Instance.ID)
				}
				found := false
				for _, row := range h.Rows[p.CommandID] {
					if reflect.DeepEqual(row, p.Row) {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: planted row %v is not in host %s's %s rows", name, p.Row, h.Instance.ID, p.CommandID)
				}
			}
		}
		for s, n := range planted {
			if f.Config.Spread && n != compromised {
				t.Errorf("%s: planted row %q on %d of %d compromised hosts, want all", name, s, n, compromised)
			}
			if !f.Config.Spread && n != 1 {
				t.Errorf("%s: planted row %q on %d hosts, want 1", name, s, n)
			}
		}
	}
}

func TestInstances(t *testing.T) {
	f := Generate(Scenario("large"))
	idRE := regexp.MustCompile(`^i-0[0-9a-f]{16}$`)
	ids, ips := map[string]bool{}, map[string]bool{}
	for i, in := range f.Instances() {
		h := f.Hosts[i]
		if !idRE.MatchString(in.ID) || ids[in.ID] {
			t.Fatalf("instance ID %q is malformed or repeated", in.ID)
		}
		ids[in.ID] = true
		if ips[in.PrivateIP] || in.PrivateIP == "" {
			t.Fatalf("private IP %q is empty or repeated", in.PrivateIP)
		}
		ips[in.PrivateIP] = true
		if in.Tags["aws:autoscaling:groupName"] != f.Config.GroupName || in.Region != f.Config.Region ||
			in.Account != f.Config.Account || in.ImageID == "" || in.LaunchTime.IsZero() {
			t.Fatalf("instance %+v lacks its group tag, region, account, image or launch time", in)
		}
		in.Tags["Role"] = "changed"
		if h.Instance.Tags["Role"] == "changed" {
			t.Fatal("Instances shares the tag maps with the fleet")
		}
		// Every host carries a per-host token (ID, hostname or IP) inside
		// some value.
		found := false
		for _, rows := range h.Rows {
			for _, row := range rows {
				for _, v := range row {
					if strings.Contains(v, in.ID) || strings.Contains(v, h.Hostname) || strings.Contains(v, in.PrivateIP) {
						found = true
					}
				}
			}
		}
		if !found {
			t.Errorf("host %s (%s) carries no per-host token in its rows", in.ID, h.Role)
		}
	}
}

func TestOutputAndResults(t *testing.T) {
	f := Generate(Scenario("small"))
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	res := f.Results(at)
	if len(res) != len(f.Hosts)*len(commandIDs) {
		t.Fatalf("%d results, want %d", len(res), len(f.Hosts)*len(commandIDs))
	}
	for _, r := range res {
		if !r.OK() || !r.CollectedAt.Equal(at) || r.InstanceID == "" {
			t.Fatalf("result %+v is not a successful result collected at %v", r, at)
		}
	}
	for _, h := range f.Hosts {
		for _, id := range commandIDs {
			out, ok := h.Output(id)
			if !ok {
				t.Fatalf("no output for %s", id)
			}
			rows, err := collect.ParseRows(out)
			if err != nil {
				t.Fatalf("output of %s does not parse: %v", id, err)
			}
			if !reflect.DeepEqual(rows, h.Rows[id]) {
				t.Fatalf("output of %s parses to other rows", id)
			}
			if !bytes.HasPrefix(out, []byte("[\n")) {
				t.Fatalf("output of %s does not start like osqueryi's", id)
			}
		}
		if _, ok := h.Output("nope"); ok {
			t.Fatal("Output answered an unknown command")
		}
	}
}

func TestScenarioUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Scenario accepted an unknown name")
		}
	}()
	Scenario("no-such-scenario")
}

func BenchmarkGenerate(b *testing.B) {
	cfg := Scenario("xlarge")
	for b.Loop() {
		Generate(cfg)
	}
}
