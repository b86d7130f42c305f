package inventory_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/inventory"
)

func TestStaticEntries(t *testing.T) {
	s := inventory.Static{
		{Key: "web-asg", Labels: map[string]string{"account": "111122223333"}},
		{Key: "db-asg", Instance: "i-0clean"},
	}
	got, err := s.Entries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []inventory.Entry(s)) {
		t.Fatalf("Entries = %+v, want %+v in the order given", got, s)
	}
	got[0].Labels["account"] = "changed"
	got[1].Key = "changed"
	if s[0].Labels["account"] != "111122223333" || s[1].Key != "db-asg" {
		t.Fatal("changing the returned entries changed the Static")
	}
}

func TestStaticEmpty(t *testing.T) {
	got, err := inventory.Static{}.Entries(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("empty Static: Entries = %+v, %v", got, err)
	}
	got, err = inventory.Static(nil).Entries(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("nil Static: Entries = %+v, %v", got, err)
	}
}

func TestStaticBadLists(t *testing.T) {
	for name, c := range map[string]struct {
		s    inventory.Static
		want string
	}{
		"empty key":    {inventory.Static{{Key: "a"}, {Key: ""}}, "entry 2 has an empty key"},
		"repeated key": {inventory.Static{{Key: "a"}, {Key: "b"}, {Key: "a", Instance: "i-1"}}, `"a" appears twice`},
	} {
		got, err := c.s.Entries(context.Background())
		if !errors.Is(err, diffyerr.ErrInvalidInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrInvalidInput saying %q", name, err, c.want)
		}
		if got != nil {
			t.Errorf("%s: entries %+v returned with the error", name, got)
		}
	}
}

func TestStaticCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (inventory.Static{{Key: "a"}}).Entries(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v, want context.Canceled", err)
	}
}

// Static passes the Inventory conformance suite plugin authors use.
func TestStaticSuite(t *testing.T) {
	diffytest.TestInventory(t, func(t *testing.T) inventory.Inventory {
		return inventory.Static{{Key: "web-asg"}, {Key: "db-asg", Instance: "i-0clean", Labels: map[string]string{"region": "eu-west-1"}}}
	})
}
