// Package ec2inventory is the Inventory of the Auto Scaling groups running
// in an account and region: every group with a running instance, or only
// the groups with an instance launched since a given time (the original
// Diffy baselined groups as they appeared).
//
// It reads EC2 DescribeInstances (filter tag-key
// aws:autoscaling:groupName, running instances) through the SDK's
// paginator and groups the instances by their group tag. Each Entry's Key
// is the group name, ready for an ec2target.Target of KindASG; its Instance
// is the group's most recently launched instance, the one that has had the
// least time to be tampered with since it left its image; its Labels carry
// "account", "region", "instances" (the count) and "newest_launch"
// (RFC 3339).
//
// Entries are ordered newest launch first, then by group name.
//
// # Defaults
//
// Every group (no Since); the region of the configuration given to
// NewFromConfig.
//
// # Errors
//
// EC2's errors (after the SDK's retries) are returned wrapped; an account
// with no Auto Scaling group gives no entry and no error.
//
// # Testing
//
// The package's tests run diffytest.TestInventory with the real EC2 client
// against diffytest/awsfake.
package ec2inventory
