package plugin

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/target"
)

// FileTarget is a target.Target over a CSV inventory file, and an
// inventory.Inventory of the file's keys.
//
// The file's first line that is not a comment ('#') names the columns.
// "key" and "instance_id" are required; "name", "region", "account",
// "private_ip" and "image_id" fill the Instance fields of those names;
// any other column becomes a tag of that name (empty values are left
// out). Every row is one instance of one key; a key's instances are
// returned in the file's order, an instance listed twice for a key once.
//
// The file is read on every call, so an edit takes effect at the next
// run. FileTarget holds no state: it is safe for concurrent use.
type FileTarget struct {
	// Path is the CSV file.
	Path string
}

var (
	_ target.Target       = FileTarget{}
	_ inventory.Inventory = FileTarget{}
)

// fileColumns are the columns that fill Instance fields.
var fileColumns = []string{"key", "instance_id", "name", "region", "account", "private_ip", "image_id"}

// Targets returns the instances listed under key.
func (f FileTarget) Targets(ctx context.Context, key string) ([]target.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validKey(key); err != nil {
		return nil, err
	}
	rows, err := f.read(ctx)
	if err != nil {
		return nil, err
	}
	var insts []target.Instance
	seen := map[string]bool{}
	for _, r := range rows {
		if r.key == key && !seen[r.inst.ID] {
			seen[r.inst.ID] = true
			insts = append(insts, r.inst)
		}
	}
	if len(insts) == 0 {
		return nil, fmt.Errorf("target %q: no instance of that key in inventory file %s: %w", key, f.Path, diffyerr.ErrNotFound)
	}
	return insts, nil
}

// Entries returns one entry per key of the file, in the order keys first
// appear, each labelled with the file it came from.
func (f FileTarget) Entries(ctx context.Context) ([]inventory.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := f.read(ctx)
	if err != nil {
		return nil, err
	}
	var es []inventory.Entry
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.key] {
			seen[r.key] = true
			es = append(es, inventory.Entry{Key: r.key, Labels: map[string]string{"source": f.Path}})
		}
	}
	return es, nil
}

// fileRow is one line of the inventory file.
type fileRow struct {
	key  string
	inst target.Instance
}

// read parses the whole file.
func (f FileTarget) read(ctx context.Context) ([]fileRow, error) {
	file, err := os.Open(f.Path)
	if err != nil {
		return nil, fmt.Errorf("inventory file: %w", err)
	}
	defer file.Close()
	r := csv.NewReader(file)
	r.Comment = '#'
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("inventory file %s, line %d: %s: %w", f.Path, line, fmt.Sprintf(format, args...), diffyerr.ErrInvalidInput)
	}

	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("inventory file %s is empty: it needs a header line naming the columns key and instance_id: %w", f.Path, diffyerr.ErrInvalidInput)
	}
	if err != nil {
		return nil, fmt.Errorf("inventory file %s: %w: %w", f.Path, err, diffyerr.ErrInvalidInput)
	}
	line, _ := r.FieldPos(0)
	cols := map[string]int{}
	names := make([]string, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := cols[h]; dup || h == "" {
			return nil, bad(line, "column %q is empty or named twice in the header", h)
		}
		cols[h], names[i] = i, h
	}
	for _, need := range fileColumns[:2] {
		if _, ok := cols[need]; !ok {
			return nil, bad(line, "the header %q has no column %q", strings.Join(names, ","), need)
		}
	}

	var rows []fileRow
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, bad(pe.Line, "%v", pe.Err)
			}
			return nil, fmt.Errorf("inventory file %s: %w", f.Path, err)
		}
		line, _ := r.FieldPos(0)
		get := func(col string) string {
			if i, ok := cols[col]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row := fileRow{key: get("key"), inst: target.Instance{
			ID: get("instance_id"), Name: get("name"), Region: get("region"), Account: get("account"),
			PrivateIP: get("private_ip"), ImageID: get("image_id"),
		}}
		if err := validKey(row.key); err != nil {
			return nil, bad(line, "%v", err)
		}
		if _, err := target.ParseIDs(row.inst.ID); err != nil || strings.Contains(row.inst.ID, ",") {
			return nil, bad(line, "instance_id %q is not one instance ID", row.inst.ID)
		}
		for i, name := range names {
			if v := strings.TrimSpace(rec[i]); v != "" && !slices.Contains(fileColumns, name) {
				if row.inst.Tags == nil {
					row.inst.Tags = map[string]string{}
				}
				row.inst.Tags[name] = v
			}
		}
		rows = append(rows, row)
	}
}

// validKey refuses a key that no line of a file could hold.
func validKey(key string) error {
	if key == "" {
		return fmt.Errorf("target key is empty: %w", diffyerr.ErrInvalidKey)
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f || c == ',' || c == '"' {
			return fmt.Errorf("target key %q holds a comma, a quote or a control character, which an inventory file cannot: %w", key, diffyerr.ErrInvalidKey)
		}
	}
	return nil
}
