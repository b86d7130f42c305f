package diffy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFileSizeCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	doc := `[{"instance_id":"i-1","command_id":"users","status":"Success","stdout":[]}]`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, skips := new(fileReader).load(path, int64(len(doc)))
	if len(rs) != 1 || len(skips) != 0 {
		t.Fatalf("file at the cap: %v %v", rs, skips)
	}
	rs, skips = new(fileReader).load(path, int64(len(doc))-1)
	if len(rs) != 0 || len(skips) != 1 || !strings.Contains(skips[0].Reason, "over the") {
		t.Errorf("file over the cap: results %v, skips %+v; want it skipped unread", rs, skips)
	}
}
