package inventory

import "context"

// Entry is one thing the inventory says should be baselined: a target key
// and, optionally, the instance to baseline it from.
type Entry struct {
	// Key is the target key (an Auto Scaling group name, "local", ...).
	Key string `json:"key"`
	// Instance is the ID of a known-clean instance of Key to baseline
	// from, or empty for the Target's first instance.
	Instance string `json:"instance,omitempty"`
	// Labels carry what the source knows (account, region, launch time).
	Labels map[string]string `json:"labels,omitempty"`
}

// Inventory lists the keys to baseline: in the original Diffy, the Auto
// Scaling groups of the accounts watched, fed to baseline jobs as they
// appeared. diffy.Diffy.BaselineInventory baselines the entries that have no
// baseline yet.
//
// Entries may be called concurrently and honours ctx cancellation. It
// returns the entries in a deterministic order, each key at most once;
// an error means the inventory could not be read.
type Inventory interface {
	Entries(ctx context.Context) ([]Entry, error)
}
