package analyze_test

import (
	"testing"

	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// TestClusterKeysNoKind: attackers' keys written to the authorized_keys of
// 26 of 1,000 hosts, a different key on each, with no other variation,
// are found on every one of those hosts. Thirteen of them, in root's file
// under one key type, made a context of their own that no value
// dominated, and each explained the others as spread variation (recall
// 0.5, no finding on the hosts missed): a spread explains a configuration
// row only over more than a minority of the hosts or over a kind of host
// (spreadExplains).
func TestClusterKeysNoKind(t *testing.T) {
	wantCampaignFound(t, fleet.SimConfig{Hosts: 1000, Seed: 202, Attacks: fleet.Attacks{Kinds: []string{"authorized_key"}}})
}

// TestClusterKeysBesideRotation: attackers' keys in the deploy user's
// file, while the deploy key's rotation is under way (its old key on part
// of the hosts, its new one on the rest), are found: the old and the new
// key, each on more than a fifth of the hosts, dominate the file together
// (configSettled), and a key neither kind has, on one host, is a
// deviation (3 of 19 missed before).
func TestClusterKeysBesideRotation(t *testing.T) {
	wantCampaignFound(t, fleet.SimConfig{Hosts: 1000, Seed: 204, Families: fleet.FamilyUsers, Attacks: fleet.Attacks{Kinds: []string{"authorized_key"}}})
}
