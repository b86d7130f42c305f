package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// allAttacks plants every kind and the campaign.
var allAttacks = Attacks{Kinds: AttackKinds, Campaign: true}

func TestSimColumns(t *testing.T) {
	for _, c := range payload.StandardPack() {
		got := simColumns[cmdIndex[c.ID]]
		if want := sqlColumns(t, c.Query); !slices.Equal(got, want) {
			t.Errorf("%s: the Sim prints columns %v, the SQL selects %v", c.ID, got, want)
		}
	}
}

func TestParseFamilies(t *testing.T) {
	for in, want := range map[string]Families{
		"":                  0,
		"none":              0,
		"all":               AllFamilies,
		"roles,splay":       FamilyRoles | FamilySplay,
		"-tokens":           AllFamilies &^ FamilyTokens,
		"all,-tokens,-jobs": AllFamilies &^ (FamilyTokens | FamilyJobs),
		" sizes , daemons ": FamilySizes | FamilyDaemons,
	} {
		got, err := ParseFamilies(in)
		if err != nil || got != want {
			t.Errorf("ParseFamilies(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ParseFamilies(got.String()); err != nil || back != got {
			t.Errorf("ParseFamilies(%q.String() = %q) = %v, %v", in, got.String(), back, err)
		}
	}
	if _, err := ParseFamilies("roles,nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("an unknown family gave %v", err)
	}
	if len(FamilyList()) != len(familyNames) {
		t.Errorf("FamilyList has %d families, familyNames %d", len(FamilyList()), len(familyNames))
	}
}

// simJSON returns every host's JSON.
func simJSON(s *Sim) [][]byte {
	out := make([][]byte, s.Len())
	for i := range out {
		out[i] = s.AppendJSON(nil, i)
	}
	return out
}

func TestSimDeterministic(t *testing.T) {
	cfg := SimConfig{Seed: 7, Hosts: 60, Families: AllFamilies, Attacks: allAttacks}
	a, b := simJSON(NewSim(cfg)), simJSON(NewSim(cfg))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two Sims of one config differ")
	}
	// A host is the same whatever was generated before it.
	s := NewSim(cfg)
	for _, i := range []int{59, 3, 0, 31} {
		if got := s.AppendJSON(nil, i); !bytes.Equal(got, a[i]) {
			t.Errorf("host %d generated alone differs from host %d generated in order", i, i)
		}
	}
	cfg.Seed++
	c := simJSON(NewSim(cfg))
	if bytes.Equal(a[0], c[0]) {
		t.Error("another seed gave the same first host")
	}
}

// TestSimJSON checks that AppendJSON prints what json.Marshal prints for
// the host's Results, and that Output parses back to the same rows.
func TestSimJSON(t *testing.T) {
	for _, fs := range []Families{0, AllFamilies} {
		s := NewSim(SimConfig{Seed: 11, Hosts: 40, Families: fs, Attacks: allAttacks})
		for i := 0; i < s.Len(); i++ {
			want, err := json.Marshal(s.Results(i))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.AppendJSON(nil, i); !bytes.Equal(got, want) {
				t.Fatalf("families %v host %d: AppendJSON differs from json.Marshal:\n%.300s\n%.300s", fs, i, got, want)
			}
			h := s.Host(i)
			for _, id := range commandIDs {
				out, _ := h.Output(id)
				rows, err := collect.ParseRows(out)
				if err != nil || !reflect.DeepEqual(rows, h.Rows[id]) {
					t.Fatalf("host %d %s: Output does not parse back (%v)", i, id, err)
				}
			}
		}
	}
	if got := string(appendJSONString(nil, "a<b>&\"\\\n\u00e9")); got != `"a\u003cb\u003e\u0026\"\\\n`+"\u00e9\"" {
		t.Errorf("appendJSONString of special characters = %s", got)
	}
}

// TestSimRowShapes checks every row of hosts of several configurations:
// the pack's columns, numbers where numbers go, unique pids whose parents
// exist, sockets owned by a process with the same name, path and command
// line, start times between boot and collection, kernel threads shaped
// as the kernel's.
func TestSimRowShapes(t *testing.T) {
	numeric := regexp.MustCompile(`^(0|[1-9][0-9]*)$`)
	for _, cfg := range []SimConfig{
		{Seed: 1, Hosts: 50},
		{Seed: 2, Hosts: 200, Families: AllFamilies, Attacks: allAttacks},
		{Seed: 3, Hosts: 120, Families: AllFamilies, Attacks: allAttacks, WeekEarlier: true},
		{Seed: 4, Hosts: 80, Families: AllFamilies &^ FamilyTokens, Attacks: Attacks{Kinds: AttackKinds, Share: 0.3, PerHost: 2}},
	} {
		s := NewSim(cfg)
		at := s.CollectedAt().Unix()
		perHost := 0
		for i, h := range s.All() {
			for c, id := range commandIDs {
				rows := h.Rows[id]
				perHost += len(rows)
				if len(rows) == 0 {
					t.Errorf("seed %d host %d has no %s rows", cfg.Seed, i, id)
				}
				for _, row := range rows {
					if len(row) != len(simColumns[c]) {
						t.Fatalf("host %d %s row %v has %d columns, want %v", i, id, row, len(row), simColumns[c])
					}
					for _, k := range []string{"pid", "port", "uid", "gid", "size", "start_time", "parent"} {
						if v, ok := row[k]; ok && !numeric.MatchString(v) {
							t.Fatalf("host %d %s column %s = %q, not a number", i, id, k, v)
						}
					}
					if p, ok := row["port"]; ok {
						if n, _ := strconv.Atoi(p); n < 1 || n > 65535 {
							t.Errorf("host %d port %s out of range", i, p)
						}
					}
				}
			}
			procs := map[string]collect.Row{}
			for _, p := range h.Rows[payload.Processes] {
				if procs[p["pid"]] != nil {
					t.Fatalf("host %d has pid %s twice", i, p["pid"])
				}
				procs[p["pid"]] = p
				st, _ := strconv.ParseInt(p["start_time"], 10, 64)
				if st > at || st < h.Instance.LaunchTime.Unix() {
					t.Errorf("host %d process %v started at %d, outside [launch %d, collection %d]", i, p, st, h.Instance.LaunchTime.Unix(), at)
				}
				if p["parent"] == "2" && (p["path"] != "" || p["cmdline"] != "" || p["uid"] != "0") {
					t.Errorf("host %d kernel thread %v has a path, command line or user", i, p)
				}
			}
			for _, p := range h.Rows[payload.Processes] {
				pp := procs[p["parent"]]
				if p["parent"] != "0" && pp == nil {
					t.Errorf("host %d process %v has no parent process", i, p)
				}
				if pp != nil && atoiOr(p["start_time"]) < atoiOr(pp["start_time"]) {
					t.Errorf("host %d process %v started before its parent %v", i, p, pp)
				}
			}
			for _, l := range h.Rows[payload.ListeningPorts] {
				p := procs[l["pid"]]
				if p == nil || p["name"] != l["name"] || p["path"] != l["path"] || p["cmdline"] != l["cmdline"] {
					t.Errorf("host %d socket %v is not its process's %v", i, l, p)
				}
			}
			uids := map[string]bool{}
			for _, u := range h.Rows[payload.Users] {
				uids[u["username"]] = true
			}
			for _, k := range h.Rows[payload.AuthorizedKeys] {
				if !uids[k["username"]] {
					t.Errorf("host %d key of unknown user %v", i, k)
				}
			}
		}
		perHost /= s.Len()
		if perHost < 150 || perHost > 600 {
			t.Errorf("seed %d: %d rows per host on average, want 150 to 600", cfg.Seed, perHost)
		}
	}
}

// familyMarks gives, for each family, the marks of its variation on a
// host, and how many distinct marks across the fleet show that the
// variation is there.
var familyMarks = map[Family]struct {
	marks func(h *Host) []string
	min   int
}{
	FamilyRoles: {func(h *Host) []string { return []string{h.Role} }, 2},
	FamilySplay: {func(h *Host) []string {
		var out []string
		for _, c := range h.Rows[payload.Crontab] {
			out = append(out, c["path"]+c["minute"]+c["hour"]+c["day_of_week"]+c["command"])
		}
		return out
	}, 41}, // a line splayed by the minute alone has 60 variants
	FamilyRollout: {func(h *Host) []string {
		if h.Canary {
			return append(traitsWith(h, "version="), "canary")
		}
		return traitsWith(h, "version=")
	}, 3},
	FamilyTokens: {func(h *Host) []string {
		if rowsContain(h, h.Instance.ID) {
			return []string{"token"}
		}
		return nil
	}, 1},
	FamilySizes:  {func(h *Host) []string { return traitsWith(h, "size=") }, 2},
	FamilyImages: {func(h *Host) []string { return []string{h.Instance.ImageID} }, 2},
	FamilyDaemons: {func(h *Host) []string {
		return slices.DeleteFunc(slices.Clone(h.Traits), func(t string) bool { return t != "jmx" && t != "statd" })
	}, 1},
	FamilyContainers: {func(h *Host) []string {
		if hasProcess(h, "containerd-shim") {
			return []string{"shim"}
		}
		return nil
	}, 1},
	FamilyJobs: {func(h *Host) []string { return traitsWith(h, "job=") }, 1},
	FamilyPackages: {func(h *Host) []string {
		var out []string
		for _, p := range h.Rows[payload.Processes] {
			if p["name"] == "amazon-ssm-agen" || strings.HasSuffix(p["path"], " (deleted)") {
				out = append(out, p["path"])
			}
		}
		return out
	}, 2},
	FamilyLogShippers: {func(h *Host) []string { return traitsWith(h, "shipper=") }, 2},
	FamilyUsers:       {func(h *Host) []string { return traitsWith(h, "ops=") }, 1},
	FamilyVolumes:     {func(h *Host) []string { return append(traitsWith(h, "efs"), traitsWith(h, "volumes=")...) }, 1},
	FamilySessions:    {func(h *Host) []string { return traitsWith(h, "session=") }, 1},
	FamilyAgents:      {func(h *Host) []string { return traitsWith(h, "agent=") }, 1},
	FamilyBoot:        {func(h *Host) []string { return traitsWith(h, "booting") }, 1},
	FamilyModules:     {func(h *Host) []string { return traitsWith(h, "modules=") }, 2},
}

// rareFamilies touch a few percent of the hosts: they are checked on more.
var rareFamilies = FamilyJobs | FamilySessions | FamilyBoot | FamilyModules

// shows reports whether f's variation shows on s's hosts, streaming them.
func shows(s *Sim, f Family) bool {
	fm := familyMarks[f]
	seen := map[string]bool{}
	for _, h := range s.All() {
		for _, m := range fm.marks(h) {
			seen[m] = true
		}
		if len(seen) >= fm.min {
			return true
		}
	}
	return false
}

func hasProcess(h *Host, name string) bool {
	return slices.ContainsFunc(h.Rows[payload.Processes], func(p collect.Row) bool { return p["name"] == name })
}

func traitsWith(h *Host, prefix string) []string {
	var out []string
	for _, t := range h.Traits {
		if strings.HasPrefix(t, prefix) {
			out = append(out, t)
		}
	}
	return out
}

func rowsContain(h *Host, s string) bool {
	for _, rows := range h.Rows {
		for _, row := range rows {
			for _, v := range row {
				if strings.Contains(v, s) {
					return true
				}
			}
		}
	}
	return false
}

func hostsOf(s *Sim) []*Host {
	var out []*Host
	for _, h := range s.All() {
		out = append(out, h)
	}
	return out
}

// TestSimFamilies checks that each family, alone, shows its variation,
// that without it the variation is gone, and that switching it off leaves
// the other families' draws as they were.
func TestSimFamilies(t *testing.T) {
	seeds, hosts := int64(2), 200
	if testing.Short() || raceEnabled {
		seeds, hosts = 1, 100
	}
	if len(familyMarks) != len(FamilyList()) {
		t.Fatalf("%d families have marks, %d families exist", len(familyMarks), len(FamilyList()))
	}
	for f := range familyMarks {
		n := hosts
		if rareFamilies.Has(f) {
			n = 3 * hosts
		}
		for seed := int64(1); seed <= seeds; seed++ {
			cfg := SimConfig{Seed: seed, Hosts: n, Families: f}
			if !shows(NewSim(cfg), f) {
				t.Errorf("%v alone (seed %d): its variation is not there", f, seed)
			}
			cfg.Families = AllFamilies &^ f
			if shows(NewSim(cfg), f) {
				t.Errorf("all but %v (seed %d): its variation is still there", f, seed)
			}
		}
	}
	// Leave one out: the other families' traits stay.
	all := hostsOf(NewSim(SimConfig{Seed: 5, Hosts: hosts / 2, Families: AllFamilies}))
	for _, f := range FamilyList() {
		without := hostsOf(NewSim(SimConfig{Seed: 5, Hosts: hosts / 2, Families: AllFamilies &^ f}))
		for i := range all {
			a, b := otherTraits(all[i], f), otherTraits(without[i], f)
			// A host's role decides which services it has; a booting host
			// has none yet.
			if f != FamilyRoles && f != FamilyBoot && !slices.Equal(a, b) {
				t.Errorf("without %v, host %d's other traits changed: %v, then %v", f, i, a, b)
				break
			}
			if all[i].Instance.ID != without[i].Instance.ID {
				t.Errorf("without %v, host %d is another instance", f, i)
				break
			}
		}
	}
}

// traitPrefix names the traits of each family.
var traitPrefix = map[Family][]string{
	FamilySizes: {"size="}, FamilyRollout: {"version="}, FamilyDaemons: {"jmx", "statd", "service=", "installed="}, FamilyContainers: {"containers="},
	FamilyJobs: {"job="}, FamilyPackages: {"upgraded="}, FamilyLogShippers: {"shipper="}, FamilyUsers: {"ops=", "ssm-user"},
	FamilyVolumes: {"volumes=", "efs"}, FamilySessions: {"session=", "ssm-user"}, FamilyAgents: {"agent="}, FamilyBoot: {"booting"},
	FamilyModules: {"modules="},
}

func otherTraits(h *Host, f Family) []string {
	var out []string
	for _, t := range h.Traits {
		if !slices.ContainsFunc(traitPrefix[f], func(p string) bool { return strings.HasPrefix(t, p) }) {
			out = append(out, t)
		}
	}
	return out
}

// TestSimTruth checks the attacks: the number of compromised hosts, every
// planted row on its host, none on a clean host, the campaign's rows the
// same on every campaign host.
func TestSimTruth(t *testing.T) {
	for _, cfg := range []SimConfig{
		{Seed: 21, Hosts: 400, Families: AllFamilies, Attacks: Attacks{Kinds: AttackKinds, Share: 0.03, Campaign: true, CampaignShare: 0.07}},
		{Seed: 22, Hosts: 300, Families: AllFamilies, Attacks: Attacks{Kinds: AttackKinds, PerHost: 2}},
		{Seed: 23, Hosts: 200, Attacks: Attacks{Campaign: true}},
		{Seed: 24, Hosts: 30, Families: AllFamilies, Attacks: Attacks{Kinds: []string{AttackRelocated}}},
	} {
		s := NewSim(cfg)
		truth := s.Truth()
		if len(truth.IDs) != cfg.Hosts {
			t.Fatalf("seed %d: truth has %d hosts, want %d", cfg.Seed, len(truth.IDs), cfg.Hosts)
		}
		wantSingle := 0
		if len(cfg.Attacks.Kinds) > 0 {
			wantSingle = count(cfg.Attacks.Share, cfg.Hosts)
		}
		single, campaign := 0, 0
		compromised := map[int]TruthHost{}
		for _, h := range truth.Compromised {
			compromised[h.Index] = h
			if len(h.Planted) == 0 {
				t.Errorf("seed %d host %d is compromised (%v) with nothing planted", cfg.Seed, h.Index, h.Kinds)
			}
			if slices.Contains(h.Kinds, AttackCampaign) {
				campaign++
			} else {
				single++
			}
			if cfg.Attacks.PerHost > 0 && len(h.Kinds) != cfg.Attacks.PerHost {
				t.Errorf("seed %d host %d has %d attacks, want %d", cfg.Seed, h.Index, len(h.Kinds), cfg.Attacks.PerHost)
			}
		}
		if cfg.Attacks.Share > 0 && single != wantSingle {
			t.Errorf("seed %d: %d hosts with single-host attacks, want %d", cfg.Seed, single, wantSingle)
		}
		if cfg.Attacks.CampaignShare > 0 && campaign != count(cfg.Attacks.CampaignShare, cfg.Hosts) {
			t.Errorf("seed %d: %d campaign hosts, want %d", cfg.Seed, campaign, count(cfg.Attacks.CampaignShare, cfg.Hosts))
		}
		if cfg.Attacks.Campaign && campaign == 0 || !cfg.Attacks.Campaign && campaign > 0 {
			t.Errorf("seed %d: %d campaign hosts", cfg.Seed, campaign)
		}
		clean := map[string]bool{}
		hosts := hostsOf(s)
		for i, h := range hosts {
			_, ok := compromised[i]
			if ok != h.Compromised || s.IsCompromised(i) != ok {
				t.Fatalf("seed %d host %d: Compromised %v, in the truth %v", cfg.Seed, i, h.Compromised, ok)
			}
			if ok {
				continue
			}
			for id, rows := range h.Rows {
				for _, row := range rows {
					clean[stable(id, row)] = true
				}
			}
		}
		campaignRows := map[string]int{}
		for i, th := range compromised {
			h := hosts[i]
			if !reflect.DeepEqual(h.Planted, th.Planted) {
				t.Errorf("seed %d host %d: the truth's planted rows differ from the host's", cfg.Seed, i)
			}
			for _, p := range th.Planted {
				if !slices.ContainsFunc(h.Rows[p.CommandID], func(r collect.Row) bool { return reflect.DeepEqual(r, p.Row) }) {
					t.Errorf("seed %d host %d: planted %s row %v is not among its %s rows", cfg.Seed, i, p.Kind, p.Row, p.CommandID)
				}
				if p.Replaced != nil && slices.ContainsFunc(h.Rows[p.CommandID], func(r collect.Row) bool { return reflect.DeepEqual(r, p.Replaced) }) {
					t.Errorf("seed %d host %d: the row %v that %v replaced is still there", cfg.Seed, i, p.Replaced, p.Row)
				}
				if p.Kind == AttackOddParent {
					if p.Detail == "" {
						t.Errorf("seed %d host %d: odd parent without a detail", cfg.Seed, i)
					}
					continue // a copy of a genuine row but for its parent
				}
				if p.Detail == rootKeyAgain {
					continue // a second copy of a genuine row
				}
				st := stable(p.CommandID, p.Row)
				if clean[st] {
					t.Errorf("seed %d host %d: planted %s row %v also occurs on a clean host", cfg.Seed, i, p.Kind, p.Row)
				}
				if p.Kind == AttackCampaign {
					campaignRows[st]++
				}
			}
		}
		for st, n := range campaignRows {
			if n != campaign {
				t.Errorf("seed %d: campaign row %q on %d of %d campaign hosts", cfg.Seed, st, n, campaign)
			}
		}
		if campaign > 0 && len(campaignRows) != 3 {
			t.Errorf("seed %d: the campaign has %d distinct rows, want 3 (miner, crontab, key)", cfg.Seed, len(campaignRows))
		}
	}
}

// TestSimWeekEarlier checks the fleet-baseline pair: the same slots, most
// instances the same, the replaced ones new, no attack in the earlier
// collection, rolling state a step behind, splay kept by surviving hosts.
func TestSimWeekEarlier(t *testing.T) {
	now := NewSim(SimConfig{Seed: 31, Hosts: 500, Families: AllFamilies, Attacks: Attacks{Campaign: true}})
	then := now.WeekEarlier()
	if !then.Config().WeekEarlier || then.CollectedAt().After(now.CollectedAt()) {
		t.Fatal("WeekEarlier is not earlier")
	}
	if len(then.Truth().Compromised) != 0 {
		t.Error("the week-earlier collection has compromised hosts")
	}
	a, b := hostsOf(now), hostsOf(then)
	replaced := 0
	for i := range a {
		if a[i].Instance.ID != b[i].Instance.ID {
			replaced++
			if !a[i].Instance.LaunchTime.After(then.CollectedAt()) {
				t.Errorf("host %d replaced but launched %v, before the earlier collection", i, a[i].Instance.LaunchTime)
			}
			continue
		}
		if !a[i].Instance.LaunchTime.Equal(b[i].Instance.LaunchTime) || a[i].Role != b[i].Role {
			t.Errorf("host %d is the same instance with another launch time or role", i)
		}
		if slices.Contains(a[i].Traits, "booting") || slices.Contains(b[i].Traits, "booting") {
			continue // configuration management has not written them yet
		}
		if ca, cb := splayed(a[i], now), splayed(b[i], then); !slices.Equal(ca, cb) {
			t.Errorf("host %d's splayed schedules changed: %v, then %v", i, cb, ca)
		}
	}
	if share := float64(replaced) / float64(len(a)); share < 0.02 || share > 0.20 {
		t.Errorf("%d of %d hosts replaced", replaced, len(a))
	}
	// Today's rolling version was a week ago's canary.
	thenCanary, nowVersions := map[string]bool{}, map[string]int{}
	for i := range a {
		for _, v := range traitsWith(a[i], "version=") {
			nowVersions[v]++
		}
		if b[i].Canary {
			for _, v := range traitsWith(b[i], "version=") {
				thenCanary[v] = true
			}
		}
	}
	found := false
	for v := range thenCanary {
		if nowVersions[v] > len(a)/20 {
			found = true
		}
	}
	if !found {
		t.Errorf("no version of a week ago's canaries (%v) is rolling out today (%v)", thenCanary, nowVersions)
	}
}

// splayed returns the host's lines of the Sim's splayed crontab files.
func splayed(h *Host, s *Sim) []string {
	var out []string
	for _, c := range h.Rows[payload.Crontab] {
		for _, l := range s.p.splay {
			if c["path"] == l.path {
				out = append(out, c["minute"]+" "+c["hour"]+" "+c["day_of_week"]+" "+c["command"])
			}
		}
	}
	return out
}

func TestSimWriteDir(t *testing.T) {
	s := NewSim(SimConfig{Seed: 41, Hosts: 25, Families: AllFamilies, Attacks: allAttacks})
	dir := t.TempDir()
	if err := s.WriteDir(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < s.Len(); i++ {
		data, err := os.ReadFile(filepath.Join(dir, s.Host(i).Instance.ID+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var rs []collect.Result
		if err := json.Unmarshal(data, &rs); err != nil {
			t.Fatalf("host %d's file does not decode: %v", i, err)
		}
		if want := s.Results(i); !reflect.DeepEqual(rs, want) {
			t.Fatalf("host %d's file decodes to other Results", i)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.WriteDir(ctx, t.TempDir()); err == nil {
		t.Error("WriteDir with a cancelled context succeeded")
	}
	if err := s.WriteDir(context.Background(), filepath.Join(dir, "missing")); err == nil {
		t.Error("WriteDir into a missing directory succeeded")
	}
}

func TestSimFleet(t *testing.T) {
	s := NewSim(SimConfig{Seed: 51, Hosts: 60, Families: AllFamilies, Attacks: allAttacks})
	f := s.Fleet()
	for i := range f.Hosts {
		if want := s.Host(i); !reflect.DeepEqual(f.Hosts[i].Rows, want.Rows) || f.Hosts[i].Instance.ID != want.Instance.ID {
			t.Fatalf("the Fleet's host %d differs from Host(%d)", i, i)
		}
	}
	if got := s.Instances(); len(got) != 60 || got[7].ID != f.Hosts[7].Instance.ID {
		t.Error("Instances differ from the hosts'")
	}
}

func TestSimUnknownAttackPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewSim accepted an unknown attack kind")
		}
	}()
	NewSim(SimConfig{Attacks: Attacks{Kinds: []string{"nope"}}})
}
