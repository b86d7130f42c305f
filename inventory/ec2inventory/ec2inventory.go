package ec2inventory

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/diffy-dfir/diffy/awsconfig"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// Inventory lists Auto Scaling groups from EC2. It is safe for concurrent
// use.
type Inventory struct {
	client ec2target.DescribeInstancesAPI
	since  time.Time
	region string
}

var _ inventory.Inventory = (*Inventory)(nil)

// Option configures an Inventory.
type Option func(*Inventory)

// WithSince keeps only the groups with an instance launched at or after t.
func WithSince(t time.Time) Option { return func(i *Inventory) { i.since = t } }

// WithRegion sets the region label of every entry.
func WithRegion(region string) Option { return func(i *Inventory) { i.region = region } }

// New returns an Inventory over client.
func New(client ec2target.DescribeInstancesAPI, opts ...Option) (*Inventory, error) {
	if client == nil {
		return nil, fmt.Errorf("ec2inventory: nil EC2 client: %w", diffyerr.ErrInvalidInput)
	}
	inv := &Inventory{client: client}
	for _, o := range opts {
		o(inv)
	}
	return inv, nil
}

// NewFromConfig returns an Inventory with an EC2 client made from cfg (see
// package awsconfig), labelling entries with cfg's region.
func NewFromConfig(cfg aws.Config, opts ...Option) (*Inventory, error) {
	return New(ec2.NewFromConfig(cfg), append([]Option{WithRegion(cfg.Region)}, opts...)...)
}

type group struct {
	name, account, newestID string
	newest                  time.Time
	count                   int
}

// Entries returns one entry per Auto Scaling group with a running instance
// (launched since the WithSince time, when set), newest launch first.
func (inv *Inventory) Entries(ctx context.Context) ([]inventory.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := &ec2.DescribeInstancesInput{
		Filters: []types.Filter{
			{Name: aws.String("tag-key"), Values: []string{ec2target.ASGTag}},
			{Name: aws.String("instance-state-name"), Values: []string{"running"}},
		},
		MaxResults: aws.Int32(ec2target.DefaultPageSize),
	}
	groups := map[string]*group{}
	p := ec2.NewDescribeInstancesPaginator(inv.client, in)
	pages := awsconfig.Pages{Op: "DescribeInstances"}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err == nil {
			err = pages.Next(page.NextToken)
		}
		if err != nil {
			return nil, fmt.Errorf("ec2inventory: DescribeInstances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				name := ""
				for _, t := range i.Tags {
					if aws.ToString(t.Key) == ec2target.ASGTag {
						name = aws.ToString(t.Value)
					}
				}
				if name == "" || (i.State != nil && i.State.Name != "" && i.State.Name != types.InstanceStateNameRunning) {
					continue
				}
				g := groups[name]
				if g == nil {
					g = &group{name: name, account: aws.ToString(r.OwnerId)}
					groups[name] = g
				}
				g.count++
				lt := aws.ToTime(i.LaunchTime).UTC()
				id := aws.ToString(i.InstanceId)
				if g.newestID == "" || lt.After(g.newest) || lt.Equal(g.newest) && id < g.newestID {
					g.newest, g.newestID = lt, id
				}
			}
		}
	}
	var list []*group
	for _, g := range groups {
		if inv.since.IsZero() || !g.newest.Before(inv.since) {
			list = append(list, g)
		}
	}
	slices.SortFunc(list, func(a, b *group) int {
		if c := b.newest.Compare(a.newest); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]inventory.Entry, len(list))
	for i, g := range list {
		labels := map[string]string{"instances": strconv.Itoa(g.count), "newest_launch": g.newest.Format(time.RFC3339)}
		if g.account != "" {
			labels["account"] = g.account
		}
		if inv.region != "" {
			labels["region"] = inv.region
		}
		out[i] = inventory.Entry{Key: g.name, Instance: g.newestID, Labels: labels}
	}
	return out, nil
}
