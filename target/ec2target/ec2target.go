package ec2target

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/diffy-dfir/diffy/awsconfig"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/target"
)

// DescribeInstancesAPI is the part of the EC2 client the Target uses.
// *ec2.Client implements it; so does any client the SDK's paginator
// accepts.
type DescribeInstancesAPI interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

var _ DescribeInstancesAPI = (*ec2.Client)(nil)

// Kind says what a key names.
type Kind string

// The kinds of key.
const (
	// KindASG: an Auto Scaling group name.
	KindASG Kind = "asg"
	// KindTag: a tag filter "k=v,k2=v2" (ParseTagFilter).
	KindTag Kind = "tag"
	// KindIDs: instance IDs "i-1,i-2" (target.ParseIDs).
	KindIDs Kind = "ids"
)

// ASGTag is the tag EC2 Auto Scaling puts on the instances of a group.
const ASGTag = "aws:autoscaling:groupName"

// DefaultPageSize is how many instances one DescribeInstances page asks
// for (EC2's maximum).
const DefaultPageSize = 1000

// maxFilterValues is how many values EC2 accepts in one filter; ID lists
// are asked for in chunks of this size.
const maxFilterValues = 200

// MaxUnmatched bounds a listing's pages without progress: pages that
// list no instance the listing had not listed yet. EC2 may answer a page
// with no instance and a NextToken (it applies filters to a page of the
// account's instances, not before paging), so such pages are part of a
// correct listing, each for at most a page of instances that do not
// match; but an endpoint that invents a new NextToken for every empty
// page would keep the listing going forever (the SDK's paginator and
// awsconfig.Pages catch only tokens seen before). A listing stops, with
// an error matching awsconfig.ErrMalformedAnswer, after the pages
// without progress in a row that MaxUnmatched instances could fill:
// ceil(MaxUnmatched / page size), 100 pages at DefaultPageSize, 20,000
// at the smallest page. 100,000 is the largest fleet Diffy is measured
// on (bench/ssm); an account that keeps more instances that do not match
// the key ahead of those that do needs WithMaxPagesWithoutProgress.
const MaxUnmatched = 100_000

// Target is the EC2 Target for one Kind of key. It is safe for concurrent
// use.
type Target struct {
	client   DescribeInstancesAPI
	kind     Kind
	region   string
	pageSize int32
	// stale is how many pages without progress in a row end a listing.
	stale int
}

// Option configures a Target.
type Option func(*Target)

// WithRegion sets the region recorded in every Instance (by default the
// client's region when made by NewFromConfig, else derived from the
// availability zone).
func WithRegion(region string) Option { return func(t *Target) { t.region = region } }

// WithPageSize sets how many instances one page asks for, 5 to 1000
// (default DefaultPageSize); other values keep the default.
func WithPageSize(n int) Option {
	return func(t *Target) {
		if n >= 5 && n <= 1000 {
			t.pageSize = int32(n)
		}
	}
}

// WithMaxPagesWithoutProgress sets how many pages in a row that list no
// new instance end a listing with an error (default: what MaxUnmatched
// instances fill at the page size); values under 1 keep the default.
func WithMaxPagesWithoutProgress(n int) Option {
	return func(t *Target) {
		if n >= 1 {
			t.stale = n
		}
	}
}

// New returns a Target of the given kind over client. An unknown kind is an
// error matching diffyerr.ErrInvalidInput.
func New(client DescribeInstancesAPI, kind Kind, opts ...Option) (*Target, error) {
	switch kind {
	case KindASG, KindTag, KindIDs:
	default:
		return nil, fmt.Errorf("ec2target: unknown kind %q (want asg, tag or ids): %w", kind, diffyerr.ErrInvalidInput)
	}
	if client == nil {
		return nil, fmt.Errorf("ec2target: nil EC2 client: %w", diffyerr.ErrInvalidInput)
	}
	t := &Target{client: client, kind: kind}
	for _, o := range opts {
		o(t)
	}
	if t.pageSize == 0 {
		t.pageSize = DefaultPageSize
	}
	if t.stale == 0 {
		t.stale = (MaxUnmatched + int(t.pageSize) - 1) / int(t.pageSize)
	}
	return t, nil
}

// NewFromConfig returns a Target of the given kind with an EC2 client made
// from cfg (see package awsconfig), recording cfg's region in every
// Instance.
func NewFromConfig(cfg aws.Config, kind Kind, opts ...Option) (*Target, error) {
	return New(ec2.NewFromConfig(cfg), kind, append([]Option{WithRegion(cfg.Region)}, opts...)...)
}

// Kind returns the kind of key t takes.
func (t *Target) Kind() Kind { return t.kind }

// Targets returns the running instances key names, sorted by ID. With
// KindIDs, the IDs EC2 does not know, and the instances not running, are
// returned too, with Instance.Unavailable saying so; when none is running,
// the error (ErrNotFound) says why for each.
func (t *Target) Targets(ctx context.Context, key string) ([]target.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inputs, err := t.inputs(key)
	if err != nil {
		return nil, err
	}
	byID := map[string]target.Instance{}
	named := map[string]bool{} // instance IDs the key names (KindIDs)
	if t.kind == KindIDs {
		ids, _ := target.ParseIDs(key) // inputs checked the key
		for _, id := range ids {
			named[id] = true
		}
	}
	for _, in := range inputs {
		p := ec2.NewDescribeInstancesPaginator(t.client, in)
		pages := awsconfig.Pages{Op: "DescribeInstances"}
		listed := map[string]bool{} // the instances this listing listed
		stale := 0                  // pages without progress in a row
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err == nil {
				err = pages.Next(page.NextToken)
			}
			if err != nil {
				return nil, fmt.Errorf("ec2target: %s %q: DescribeInstances: %w", t.kind, key, err)
			}
			progress := false
			for _, r := range page.Reservations {
				for _, inst := range r.Instances {
					if inst.InstanceId == nil || *inst.InstanceId == "" {
						continue
					}
					if !listed[*inst.InstanceId] {
						listed[*inst.InstanceId], progress = true, true
					}
					if inst.State != nil && inst.State.Name != "" && inst.State.Name != types.InstanceStateNameRunning {
						if named[*inst.InstanceId] {
							// Named by ID: accounted for, not dropped.
							x := t.instance(r, inst)
							x.Unavailable = fmt.Sprintf("the instance is %s, not running", inst.State.Name)
							byID[x.ID] = x
						}
						continue
					}
					byID[*inst.InstanceId] = t.instance(r, inst)
				}
			}
			if progress {
				stale = 0
			} else if stale++; stale >= t.stale && p.HasMorePages() {
				return nil, fmt.Errorf("ec2target: %s %q: DescribeInstances at %s answered %d pages in a row without an instance not listed before, "+
					"each with a new NextToken, so the listing might never end (see ec2target.MaxUnmatched; WithMaxPagesWithoutProgress): %w",
					t.kind, key, endpointOf(page.ResultMetadata), stale, awsconfig.ErrMalformedAnswer)
			}
		}
	}
	if len(byID) == 0 {
		return nil, fmt.Errorf("ec2target: %s %q: no running instance matches: %w", t.kind, key, diffyerr.ErrNotFound)
	}
	for id := range named {
		if _, ok := byID[id]; !ok {
			byID[id] = target.Instance{ID: id, Region: t.region, Unavailable: "EC2 does not know this instance (no such ID in the account and region)"}
		}
	}
	var why []string
	for _, in := range byID {
		if in.Unavailable == "" {
			why = nil
			break
		}
		why = append(why, in.ID+": "+in.Unavailable)
	}
	if len(why) > 0 {
		slices.Sort(why)
		return nil, fmt.Errorf("ec2target: %s %q: no running instance matches (%s): %w", t.kind, key, strings.Join(why, "; "), diffyerr.ErrNotFound)
	}
	out := make([]target.Instance, 0, len(byID))
	for _, in := range byID {
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b target.Instance) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// endpointOf returns the endpoint an answer came from ("https://host"),
// or "the EC2 endpoint" when the answer does not tell.
func endpointOf(md middleware.Metadata) string {
	if r, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && r != nil && r.Response != nil && r.Request != nil && r.Request.URL != nil {
		return r.Request.URL.Scheme + "://" + r.Request.URL.Host
	}
	return "the EC2 endpoint"
}

// inputs turns key into the DescribeInstances requests that list its
// instances: one, or one per chunk of IDs.
func (t *Target) inputs(key string) ([]*ec2.DescribeInstancesInput, error) {
	running := types.Filter{Name: aws.String("instance-state-name"), Values: []string{"running"}}
	mk := func(filters ...types.Filter) *ec2.DescribeInstancesInput {
		return &ec2.DescribeInstancesInput{Filters: append(filters, running), MaxResults: aws.Int32(t.pageSize)}
	}
	switch t.kind {
	case KindASG:
		if err := checkGroupName(key); err != nil {
			return nil, err
		}
		return []*ec2.DescribeInstancesInput{mk(types.Filter{Name: aws.String("tag:" + ASGTag), Values: []string{key}})}, nil
	case KindTag:
		tf, err := ParseTagFilter(key)
		if err != nil {
			return nil, err
		}
		var fs []types.Filter
		for _, f := range tf {
			if len(f.Values) == 0 {
				fs = append(fs, types.Filter{Name: aws.String("tag-key"), Values: []string{f.Key}})
			} else {
				fs = append(fs, types.Filter{Name: aws.String("tag:" + f.Key), Values: f.Values})
			}
		}
		return []*ec2.DescribeInstancesInput{mk(fs...)}, nil
	default: // KindIDs
		ids, err := target.ParseIDs(key)
		if err != nil {
			return nil, err
		}
		// Every state: an instance named by ID that is not running is
		// reported, not dropped (Instance.Unavailable).
		var ins []*ec2.DescribeInstancesInput
		for chunk := range slices.Chunk(ids, maxFilterValues) {
			ins = append(ins, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-id"), Values: chunk}}, MaxResults: aws.Int32(t.pageSize)})
		}
		return ins, nil
	}
}

// checkGroupName checks an Auto Scaling group name: 1 to 255 characters,
// no control character.
func checkGroupName(name string) error {
	if name == "" || len(name) > 255 || hasControl(name) {
		return fmt.Errorf("ec2target: Auto Scaling group name %q is not 1-255 characters without control characters: %w", name, diffyerr.ErrInvalidKey)
	}
	return nil
}

// instance converts an EC2 instance of reservation r.
func (t *Target) instance(r types.Reservation, in types.Instance) target.Instance {
	out := target.Instance{
		ID:        aws.ToString(in.InstanceId),
		Region:    t.region,
		Account:   aws.ToString(r.OwnerId),
		PrivateIP: aws.ToString(in.PrivateIpAddress),
		ImageID:   aws.ToString(in.ImageId),
		LaunchTime: func() (lt time.Time) {
			if in.LaunchTime != nil {
				lt = in.LaunchTime.UTC()
			}
			return lt
		}(),
	}
	if out.Region == "" && in.Placement != nil {
		out.Region = regionOfZone(aws.ToString(in.Placement.AvailabilityZone))
	}
	if len(in.Tags) > 0 {
		out.Tags = make(map[string]string, len(in.Tags))
		for _, tag := range in.Tags {
			out.Tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		out.Name = out.Tags["Name"]
	}
	return out
}

// regionOfZone derives a region from an availability zone name by dropping
// its zone letter ("us-east-1a" -> "us-east-1"); local and wavelength zones
// ("us-west-2-lax-1a") keep their parent region's first three parts.
func regionOfZone(az string) string {
	parts := strings.Split(az, "-")
	if len(parts) < 3 {
		return ""
	}
	last := parts[2]
	i := len(last)
	for i > 0 && last[i-1] >= 'a' && last[i-1] <= 'z' {
		i--
	}
	if i == 0 {
		return ""
	}
	return parts[0] + "-" + parts[1] + "-" + last[:i]
}
