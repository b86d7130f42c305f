package fleet

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// A Family is one kind of benign variation of a Sim: what differs between
// real hosts of one group that nobody would call a compromise. Families
// are switched on and off independently (Families is a set of them); each
// draws its shares and counts from its own seeded stream, so switching one
// off leaves every other family's draws as they were. The package doc
// describes each one.
type Family uint32

// The families of variation.
const (
	FamilyRoles       Family = 1 << iota // several roles share the group
	FamilySplay                          // cron schedules splayed per host
	FamilyRollout                        // a rolling deploy between versions, and a canary with a port of its own
	FamilyTokens                         // per-host tokens inside values
	FamilySizes                          // instance sizes: per-CPU kernel threads, kworkers, worker counts, heap sizes
	FamilyContainers                     // containers from a set of images, shims, proxy listeners
	FamilyDaemons                        // a known daemon on a random high port on a minority of hosts
	FamilyJobs                           // short-lived jobs caught at collection time
	FamilyPackages                       // package upgrades half done: snap revisions, binaries replaced under running daemons
	FamilyImages                         // hosts launched from different machine images: kernel builds, key pairs, time daemons
	FamilyLogShippers                    // a log shipper being replaced by another
	FamilyUsers                          // configuration management's users, their keys and uid drift
	FamilyVolumes                        // data volumes and network file systems: kernel threads, modules, TLS tunnels
	FamilySessions                       // operators logged in over SSH or Session Manager
	FamilyAgents                         // an agent (EDR, monitoring) being rolled out
	FamilyBoot                           // hosts still booting: cloud-init running, services not up yet
	FamilyModules                        // kernel modules loaded on demand on a few hosts: loop, iptables, NFS, WireGuard

	familyEnd
)

// AllFamilies holds every family but FamilyModules, which is switched on
// by name ("all,modules", or "every" for every family) until the analyzer has its rule for modules
// loaded on demand (docs/kernel-modules.md: with it, the precision of
// bench/detect's "all" row falls from 0.875 to 0.304 at 200 hosts).
const AllFamilies = everyFamily &^ FamilyModules

// everyFamily holds every family.
const everyFamily = familyEnd - 1

// Families is a set of families.
type Families = Family

// familyNames are the families' names, by bit.
var familyNames = []string{"roles", "splay", "rollout", "tokens", "sizes", "containers", "daemons", "jobs",
	"packages", "images", "logshippers", "users", "volumes", "sessions", "agents", "boot", "modules"}

// FamilyList returns every family, in bit order.
func FamilyList() []Family {
	out := make([]Family, 0, len(familyNames))
	for f := Family(1); f < familyEnd; f <<= 1 {
		out = append(out, f)
	}
	return out
}

// Has reports whether the set fs holds every family of f.
func (fs Family) Has(f Family) bool { return fs&f == f }

// String gives the names of the set's families, joined by commas ("none"
// for the empty set, "all" for AllFamilies).
func (fs Family) String() string {
	switch fs {
	case 0:
		return "none"
	case AllFamilies:
		return "all"
	}
	var names []string
	for fs != 0 {
		i := bits.TrailingZeros32(uint32(fs))
		if i < len(familyNames) {
			names = append(names, familyNames[i])
		} else {
			names = append(names, fmt.Sprintf("family(%d)", i))
		}
		fs &^= 1 << i
	}
	return strings.Join(names, ",")
}

// ParseFamilies reads a set of families: names separated by commas, "all"
// for AllFamilies, "every" for every family (FamilyModules too), "none"
// or "" for no family, and "all,-name" (or "-name" alone, meaning all but
// name) to leave families out.
func ParseFamilies(s string) (Families, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return 0, nil
	}
	var fs Families
	parts := strings.Split(s, ",")
	if strings.HasPrefix(strings.TrimSpace(parts[0]), "-") {
		fs = AllFamilies
	}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		minus := strings.HasPrefix(p, "-")
		p = strings.TrimPrefix(p, "-")
		var f Families
		switch p {
		case "all":
			f = AllFamilies
		case "every":
			f = everyFamily
		case "none":
			f = 0
		default:
			i := slices.Index(familyNames, p)
			if i < 0 {
				return 0, fmt.Errorf("fleet: unknown family %q (known: all, none, %s)", p, strings.Join(familyNames, ", "))
			}
			f = 1 << i
		}
		if minus {
			fs &^= f
		} else {
			fs |= f
		}
	}
	return fs, nil
}
