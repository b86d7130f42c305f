package target

import (
	"context"
	"time"
)

// Instance is one machine that commands can be run on. ID is required; the
// other fields carry what the source knows and are empty when it knows
// nothing.
type Instance struct {
	// ID identifies the instance to the collector: an EC2 instance ID
	// ("i-0abc...") for AWS collectors, "local" for this machine.
	ID string `json:"id"`
	// Name is a human name (the Name tag, a hostname).
	Name string `json:"name,omitempty"`
	// Region and Account locate a cloud instance.
	Region  string `json:"region,omitempty"`
	Account string `json:"account,omitempty"`
	// Tags are the instance's tags or labels.
	Tags map[string]string `json:"tags,omitempty"`
	// PrivateIP is the instance's primary private address.
	PrivateIP string `json:"private_ip,omitempty"`
	// ImageID is the machine image the instance was launched from.
	ImageID string `json:"image_id,omitempty"`
	// LaunchTime is when the instance started; zero when unknown.
	LaunchTime time.Time `json:"launch_time,omitzero"`
	// Unavailable, when set, says why the instance the key names cannot
	// be collected ("EC2 does not know this instance", "the instance is
	// stopped"): a Target returns such an instance rather than drop it,
	// and Diffy sends it no command but records a Result of each command
	// for it (collect.StatusUndeliverable, this reason), and counts it in
	// the Report's notes.
	Unavailable string `json:"unavailable,omitempty"`
}

// Target turns a key (an Auto Scaling group name, a tag filter, a list of
// instance IDs, "local") into the instances it stands for.
//
// Targets may be called concurrently. It honours ctx cancellation and
// returns ctx's error when cancelled. It returns at least one instance, in a
// deterministic order without duplicates, or an error: a key that names
// nothing is an error matching diffyerr.ErrNotFound whose message contains
// the key; a malformed key matches diffyerr.ErrInvalidKey. Retrying
// transient failures is the Target's own business; an error it returns is
// final for that call.
type Target interface {
	Targets(ctx context.Context, key string) ([]Instance, error)
}
