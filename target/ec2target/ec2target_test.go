package ec2target_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/diffy-dfir/diffy/awsconfig"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/target"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// fakeFleet serves 1,203 running instances (two pages and more) in group
// "big", three in "small" with tags, and a terminated one in "small".
func fakeFleet(t *testing.T) (*awsfake.Server, map[string][]string) {
	t.Helper()
	launch := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var insts []awsfake.Instance
	want := map[string][]string{}
	add := func(id, group string, tags map[string]string) {
		tags["aws:autoscaling:groupName"] = group
		insts = append(insts, awsfake.Instance{Instance: target.Instance{ID: id, Tags: tags, PrivateIP: "10.0.0.1", ImageID: "ami-0123", LaunchTime: launch}})
		want[group] = append(want[group], id)
	}
	for i := range 1203 {
		add("i-"+strings.Repeat("0", 10)+itoa(100000+i), "big", map[string]string{"env": "prod"})
	}
	add("i-0aaa", "small", map[string]string{"env": "staging", "team": "red", "Name": "web-1"})
	add("i-0bbb", "small", map[string]string{"env": "staging", "team": "blue"})
	add("i-0ccc", "small", map[string]string{"env": "dev"})
	add("i-0ddd", "small", map[string]string{"env": "staging"})
	srv, err := awsfake.New(awsfake.WithInstances(insts...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Terminate("i-0ddd")
	want["small"] = want["small"][:3]
	return srv, want
}

func itoa(i int) string {
	const digits = "0123456789"
	s := ""
	for ; i > 0; i /= 10 {
		s = string(digits[i%10]) + s
	}
	return s
}

func ids(insts []target.Instance) []string {
	var s []string
	for _, in := range insts {
		s = append(s, in.ID)
	}
	return s
}

func TestTargetSuite(t *testing.T) {
	srv, want := fakeFleet(t)
	for _, c := range []struct {
		kind                    ec2target.Kind
		key, missing, malformed string
		want                    []string
	}{
		{ec2target.KindASG, "small", "no-such-group", "bad\x00name", want["small"]},
		{ec2target.KindTag, "env=staging", "env=nowhere", "=x", []string{"i-0aaa", "i-0bbb"}},
		{ec2target.KindIDs, "i-0aaa,i-0ccc", "i-0nothere", "i-0aaa,,i-0bbb", []string{"i-0aaa", "i-0ccc"}},
	} {
		t.Run(string(c.kind), func(t *testing.T) {
			diffytest.TestTarget(t, func(t *testing.T) diffytest.TargetHarness {
				tg, err := ec2target.NewFromConfig(srv.Config(), c.kind)
				if err != nil {
					t.Fatal(err)
				}
				return diffytest.TargetHarness{Target: tg, Key: c.key, Want: c.want, Missing: c.missing, Malformed: c.malformed}
			})
		})
	}
}

// TestTargetPagesAndFields reads a group of 1,203 instances (two pages)
// and checks every field of an instance.
func TestTargetPagesAndFields(t *testing.T) {
	srv, want := fakeFleet(t)
	tg, err := ec2target.NewFromConfig(srv.Config(), ec2target.KindASG)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tg.Targets(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), want["big"]) {
		t.Errorf("got %d instances, want the group's %d, sorted", len(got), len(want["big"]))
	}
	if n := srv.Calls()["ec2:DescribeInstances"].Calls; n < 2 {
		t.Errorf("%d DescribeInstances calls: the paginator did not page", n)
	}
	small, err := tg.Targets(context.Background(), "small")
	if err != nil {
		t.Fatal(err)
	}
	in := small[0]
	if in.ID != "i-0aaa" || in.Name != "web-1" || in.Region != srv.Region() || in.Account != srv.Account() ||
		in.PrivateIP != "10.0.0.1" || in.ImageID != "ami-0123" || !in.LaunchTime.Equal(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)) ||
		in.Tags["team"] != "red" || in.Tags["aws:autoscaling:groupName"] != "small" {
		t.Errorf("instance = %+v", in)
	}
	// Tag filters: values of one key are alternatives, keys all match,
	// a key alone means the tag exists.
	tt, _ := ec2target.NewFromConfig(srv.Config(), ec2target.KindTag)
	for key, wantIDs := range map[string][]string{
		"env=staging,env=dev":   {"i-0aaa", "i-0bbb", "i-0ccc"},
		"env=staging,team=blue": {"i-0bbb"},
		"team":                  {"i-0aaa", "i-0bbb"},
		"aws:autoscaling:groupName=small, env = dev": {"i-0ccc"},
	} {
		got, err := tt.Targets(context.Background(), key)
		if err != nil || !slices.Equal(ids(got), wantIDs) {
			t.Errorf("tag %q: %v %v, want %v", key, ids(got), err, wantIDs)
		}
	}
	// Named by ID, a terminated instance alone is ErrNotFound naming it
	// and its state; beside a running one, it and an unknown ID are
	// returned, Unavailable, not dropped (issue 13.3).
	ti, _ := ec2target.NewFromConfig(srv.Config(), ec2target.KindIDs)
	if _, err := ti.Targets(context.Background(), "i-0ddd"); !errors.Is(err, diffyerr.ErrNotFound) || !strings.Contains(err.Error(), "i-0ddd") ||
		!strings.Contains(err.Error(), "terminated") {
		t.Errorf("terminated instance: %v", err)
	}
	got, err = ti.Targets(context.Background(), "i-0aaa,i-0ddd,i-0000000000000dead")
	if err != nil || !slices.Equal(ids(got), []string{"i-0000000000000dead", "i-0aaa", "i-0ddd"}) {
		t.Fatalf("named IDs: %v %v", ids(got), err)
	}
	for _, in := range got {
		want := map[string]string{"i-0aaa": "", "i-0ddd": "terminated", "i-0000000000000dead": "does not know"}[in.ID]
		if want == "" && in.Unavailable != "" || want != "" && !strings.Contains(in.Unavailable, want) {
			t.Errorf("%s: Unavailable %q, want %q", in.ID, in.Unavailable, want)
		}
	}
}

func TestParseTagFilter(t *testing.T) {
	got, err := ec2target.ParseTagFilter(" env = prod , team=a=b, env=prod, env=dev ,owner")
	if err != nil {
		t.Fatal(err)
	}
	want := []ec2target.TagFilter{{Key: "env", Values: []string{"prod", "dev"}}, {Key: "team", Values: []string{"a=b"}}, {Key: "owner"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Key != want[i].Key || !slices.Equal(got[i].Values, want[i].Values) {
			t.Errorf("filter %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", " ", "=v", "k=", "a=1,,b=2", "a=1,b=2,c=3,d=4,e=5,f=6", "k=v\x01", "team,team=x",
		strings.Repeat("k", 129) + "=v", "k=" + strings.Repeat("v", 257)} {
		if _, err := ec2target.ParseTagFilter(bad); !errors.Is(err, diffyerr.ErrInvalidKey) {
			t.Errorf("ParseTagFilter(%q) = %v, want ErrInvalidKey", bad, err)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	srv, _ := fakeFleet(t)
	if _, err := ec2target.NewFromConfig(srv.Config(), "name"); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := ec2target.New(nil, ec2target.KindASG); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("nil client: %v", err)
	}
}

// TestTargetMalformedPages: an EC2 endpoint that answers every page with
// the same NextToken would keep the SDK's paginator going forever; the
// target stops at the repeated token with an error that says so. (A run
// still going after runawayCalls calls is cancelled, so that the test
// fails instead of hanging.)
func TestTargetMalformedPages(t *testing.T) {
	const runawayCalls = 500
	const again = `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>` +
		`<reservationSet></reservationSet><nextToken>again</nextToken></DescribeInstancesResponse>`
	srv, err := awsfake.New(awsfake.WithCallFaults(awsfake.CallFaults{Malformed: map[string]string{"ec2:DescribeInstances": again}}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tg, err := ec2target.NewFromConfig(srv.Config(), ec2target.KindASG)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for ctx.Err() == nil && srv.Calls()["ec2:DescribeInstances"].Calls < runawayCalls {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err = tg.Targets(ctx, "web")
	if !errors.Is(err, awsconfig.ErrMalformedAnswer) || !strings.Contains(err.Error(), "NextToken") {
		t.Fatalf("err = %v, want the malformed answer named", err)
	}
}

// TestTargetCyclingPages: an endpoint whose NextTokens come round again
// (a, b, a, b, ...: never the token of the page before, which is all the
// SDK's paginator checks) is a malformed answer, not an endless listing.
// The endpoint gives up after 500 pages (cancelling the call), so that
// the code before the check failed here instead of looping forever.
func TestTargetCyclingPages(t *testing.T) {
	const runaway = 500
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n >= runaway {
			cancel()
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-%d</requestId>`+
			`<reservationSet><item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><instancesSet><item>`+
			`<instanceId>i-%017x</instanceId><instanceState><code>16</code><name>running</name></instanceState></item></instancesSet></item></reservationSet>`+
			`<nextToken>%s</nextToken></DescribeInstancesResponse>`, n, n, []string{"a", "b"}[n%2])
	}))
	defer srv.Close()
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Region: "us-east-1", Endpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAAWSFAKEEXAMPLE00", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := ec2target.NewFromConfig(cfg, ec2target.KindASG)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.Targets(ctx, "web")
	if !errors.Is(err, awsconfig.ErrMalformedAnswer) || !strings.Contains(err.Error(), "NextToken of an earlier page") {
		t.Fatalf("after %d calls: err = %v, want the malformed answer named", calls.Load(), err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3 (a, b, then a again)", n)
	}
}

// TestTargetInventedPageTokens: an EC2 endpoint that answers every page
// empty with a new NextToken (awsfake's malformed answer, numbered per
// call) ends the listing after the pages without progress that
// ec2target.MaxUnmatched instances fill (100 at the default page size), or
// the number set, with an error naming the endpoint and matching
// awsconfig.ErrMalformedAnswer. Before, the listing went on until the test
// stopped it (500 calls): neither the SDK's paginator nor awsconfig.Pages
// catch a token never seen before.
func TestTargetInventedPageTokens(t *testing.T) {
	const runawayCalls = 500
	const invented = `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>` +
		`<reservationSet></reservationSet><nextToken>token-` + awsfake.MalformedCall + `</nextToken></DescribeInstancesResponse>`
	for _, c := range []struct {
		name  string
		opts  []ec2target.Option
		pages int64
	}{
		{"default", nil, ec2target.MaxUnmatched / ec2target.DefaultPageSize},
		{"page size 250", []ec2target.Option{ec2target.WithPageSize(250)}, ec2target.MaxUnmatched / 250},
		{"set", []ec2target.Option{ec2target.WithMaxPagesWithoutProgress(7)}, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, err := awsfake.New(awsfake.WithCallFaults(awsfake.CallFaults{Malformed: map[string]string{"ec2:DescribeInstances": invented}}))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			tg, err := ec2target.NewFromConfig(srv.Config(), ec2target.KindASG, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() { // a runaway: stop it, so that the test fails instead of hanging
				for ctx.Err() == nil && srv.Calls()["ec2:DescribeInstances"].Calls < runawayCalls {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}()
			_, err = tg.Targets(ctx, "web")
			n := srv.Calls()["ec2:DescribeInstances"].Operations
			if !errors.Is(err, awsconfig.ErrMalformedAnswer) || !strings.Contains(err.Error(), srv.EC2URL()) || !strings.Contains(err.Error(), "without an instance") {
				t.Fatalf("after %d calls: err = %v, want the malformed answer and the endpoint (%s) named", n, err, srv.EC2URL())
			}
			if n != c.pages {
				t.Errorf("%d calls, want %d (the pages without progress allowed)", n, c.pages)
			}
		})
	}
}

// TestTargetEmptyPagesKept: pages without an instance, each with a new
// NextToken, are part of a correct listing (EC2 filters a page of the
// account's instances), short of the bound: under a bound of 3, 2 empty
// pages, the group's instance, the same instance again, then 2 empty
// pages, the last without a token (3 in a row without progress, but the
// listing ends there).
func TestTargetEmptyPagesKept(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		items, next := "", fmt.Sprintf("<nextToken>t-%d</nextToken>", n)
		switch n {
		case 3, 4: // the same instance again is no progress
			items = `<item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><instancesSet><item>` +
				`<instanceId>i-0aaa</instanceId><instanceState><code>16</code><name>running</name></instanceState></item></instancesSet></item>`
		case 6:
			next = ""
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-%d</requestId>`+
			`<reservationSet>%s</reservationSet>%s</DescribeInstancesResponse>`, n, items, next)
	}))
	defer srv.Close()
	cfg, err := awsconfig.Load(t.Context(), awsconfig.Options{Region: "us-east-1", Endpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAAWSFAKEEXAMPLE00", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := ec2target.NewFromConfig(cfg, ec2target.KindASG, ec2target.WithMaxPagesWithoutProgress(3))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tg.Targets(t.Context(), "web")
	if err != nil || len(got) != 1 || got[0].ID != "i-0aaa" {
		t.Fatalf("%v %v, want i-0aaa", ids(got), err)
	}
	if n := calls.Load(); n != 6 {
		t.Errorf("%d calls, want the 6 pages", n)
	}
}
