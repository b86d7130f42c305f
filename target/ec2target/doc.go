// Package ec2target is the Target of EC2 instances: the running instances
// of an Auto Scaling group, of a set of tag filters, or of a list of
// instance IDs, read with EC2 DescribeInstances through the SDK's paginator.
//
// Each Instance carries its ID, the Name tag, the region, the account (the
// reservation's owner), every tag, the private IP address, the image and
// the launch time. Instances are returned sorted by ID, each once.
//
// # Keys
//
// What a key means depends on the Target's Kind:
//
//   - KindASG: the key is an Auto Scaling group name, matched with the
//     filter tag:aws:autoscaling:groupName (the tag EC2 Auto Scaling puts on
//     its instances).
//   - KindTag: the key is a tag filter, "k=v,k2=v2", parsed by
//     ParseTagFilter.
//   - KindIDs: the key is a comma-separated list of instance IDs, parsed by
//     target.ParseIDs; IDs that are not running instances, or that EC2
//     does not know, are returned with Instance.Unavailable saying so.
//
// KindASG and KindTag add the filter instance-state-name=running; KindIDs
// asks for every state.
//
// # Defaults
//
// Pages of DefaultPageSize instances; Instance.Region is the client's
// configured region, or, when unknown, derived from the instance's
// availability zone.
//
// # Errors
//
// A key that matches no running instance is an error matching
// diffyerr.ErrNotFound whose message holds the key; a malformed key matches
// diffyerr.ErrInvalidKey. EC2's own errors (after the SDK's retries, which
// handle RequestLimitExceeded) are returned wrapped with the key. A
// listing that would never end (a NextToken seen before, or more pages in
// a row without a new instance than MaxUnmatched instances fill) stops
// with an error matching awsconfig.ErrMalformedAnswer that names the
// endpoint.
//
// # Testing
//
// The package's tests run diffytest.TestTarget and their own cases with the
// real EC2 client against diffytest/awsfake.
package ec2target
