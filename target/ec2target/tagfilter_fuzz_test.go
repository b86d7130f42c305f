package ec2target_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// FuzzParseTagFilter checks the parser of `--target tag` keys against its
// contract for any text: an accepted filter has 1 to MaxTagKeys distinct,
// non-empty, trimmed keys in first-seen order, each with distinct
// non-empty values (or none, for "any value") within EC2's limits, no
// control character and no ','; written back as k=v,... it parses to the
// same filter. Refused keys match diffyerr.ErrInvalidKey.
func FuzzParseTagFilter(f *testing.F) {
	for _, s := range []string{
		"env=prod", "env=prod,env=staging,team=ir", "aws:autoscaling:groupName=web-asg", "team", "a=b=c",
		" env = prod ", "", ",", "env=", "=prod", "env,env=prod", "a=1,b=2,c=3,d=4,e=5,f=6", "k=\x00", "k=\u0085",
		"Name=web*", "k=v,,k2=v2", "k=v\u00a0", strings.Repeat("k", 129) + "=v",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := ec2target.ParseTagFilter(s)
		if err != nil {
			if !errors.Is(err, diffyerr.ErrInvalidKey) {
				t.Fatalf("ParseTagFilter(%q) = %v, not ErrInvalidKey", s, err)
			}
			if fs != nil {
				t.Fatalf("ParseTagFilter(%q) returned filters with an error", s)
			}
			return
		}
		if len(fs) == 0 || len(fs) > ec2target.MaxTagKeys {
			t.Fatalf("ParseTagFilter(%q) gave %d keys", s, len(fs))
		}
		var parts []string
		seen := map[string]bool{}
		for _, tf := range fs {
			checkTagText(t, s, "key", tf.Key, ec2target.MaxTagKeyLen)
			if strings.Contains(tf.Key, "=") {
				t.Fatalf("ParseTagFilter(%q): key %q holds '='", s, tf.Key)
			}
			if seen[tf.Key] {
				t.Fatalf("ParseTagFilter(%q): key %q twice", s, tf.Key)
			}
			seen[tf.Key] = true
			if len(tf.Values) > ec2target.MaxTagValues {
				t.Fatalf("ParseTagFilter(%q): %d values for %q", s, len(tf.Values), tf.Key)
			}
			if len(tf.Values) == 0 {
				parts = append(parts, tf.Key)
			}
			for i, v := range tf.Values {
				checkTagText(t, s, "value", v, ec2target.MaxTagValueLen)
				if slices.Contains(tf.Values[:i], v) {
					t.Fatalf("ParseTagFilter(%q): value %q twice for %q", s, v, tf.Key)
				}
				parts = append(parts, tf.Key+"="+v)
			}
		}
		again, err := ec2target.ParseTagFilter(strings.Join(parts, ","))
		if err != nil {
			t.Fatalf("filter of %q written back as %q does not parse: %v", s, strings.Join(parts, ","), err)
		}
		if !slices.EqualFunc(fs, again, func(a, b ec2target.TagFilter) bool {
			return a.Key == b.Key && slices.Equal(a.Values, b.Values)
		}) {
			t.Fatalf("filter of %q written back parses to %+v, want %+v", s, again, fs)
		}
	})
}

func checkTagText(t *testing.T, in, what, s string, maxLen int) {
	t.Helper()
	if s == "" || s != strings.TrimSpace(s) || len(s) > maxLen || strings.Contains(s, ",") {
		t.Fatalf("ParseTagFilter(%q): %s %q is empty, untrimmed, too long or holds ','", in, what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			t.Fatalf("ParseTagFilter(%q): %s %q holds control character %U", in, what, s, r)
		}
	}
}
