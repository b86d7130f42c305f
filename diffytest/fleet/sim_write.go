package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/diffy-dfir/diffy/collect"
)

// AppendJSON appends host i's Results (as Sim.Results returns them) to dst
// as a JSON array, the bytes json.Marshal prints for them, without
// building the rows' maps: it is how WriteDir writes 100,000 hosts fast.
func (s *Sim) AppendJSON(dst []byte, i int) []byte {
	g := s.newHostGen(i)
	g.build()
	return g.appendJSON(dst)
}

// WriteDir writes one file per host into dir (which must exist),
// "<instance ID>.json", each holding the host's Results as AppendJSON
// prints them: the layout `diffy analyze --from DIR` reads. Hosts are
// generated on GOMAXPROCS goroutines, each holding one host at a time.
// It stops at the first error, or when ctx is cancelled, and returns it.
func (s *Sim) WriteDir(ctx context.Context, dir string) error {
	n := s.cfg.Hosts
	workers := min(runtime.GOMAXPROCS(0), n)
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for i := range next {
				buf = s.AppendJSON(buf[:0], i)
				name := filepath.Join(dir, s.identity(i).instance.ID+".json")
				if err := os.WriteFile(name, buf, 0o600); err != nil {
					errs <- fmt.Errorf("fleet: writing host %d: %w", i, err)
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	return err
}

// appendJSON prints the host's Results.
func (g *hostGen) appendJSON(dst []byte) []byte {
	at, err := time.Unix(g.at, 0).UTC().MarshalJSON()
	if err != nil {
		panic("fleet: " + err.Error()) // a time within years 0-9999 always marshals
	}
	id := g.id.instance.ID
	dst = append(dst, '[')
	for c, cmd := range commandIDs {
		if c > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"instance_id":`...)
		dst = appendJSONString(dst, id)
		dst = append(dst, `,"command_id":`...)
		dst = appendJSONString(dst, cmd)
		dst = append(dst, `,"status":"`+string(collect.StatusSuccess)+`","collected_at":`...)
		dst = append(dst, at...)
		dst = append(dst, `,"stdout":[`...)
		cols := simColumns[c]
		for j := range g.final[c] {
			v := &g.final[c][j]
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			for k, col := range cols {
				if k > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, '"')
				dst = append(dst, col...)
				dst = append(dst, `":`...)
				dst = appendJSONString(dst, v.v[k])
			}
			dst = append(dst, '}')
		}
		dst = append(dst, `],"stderr":"","exit_code":0,"error":""}`...)
	}
	return append(dst, ']')
}

// appendJSONString appends s as encoding/json prints a string: HTML
// characters escaped, the rest of printable ASCII as it is; anything else
// goes through encoding/json itself.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, err := json.Marshal(s)
			if err != nil {
				panic("fleet: " + err.Error()) // a string always marshals
			}
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
