package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/render"
)

// openAPI is the API's OpenAPI 3.1 description (docs/diffy-server-openapi.json
// is the same file).
//
//go:embed openapi.json
var openAPI []byte

// maxBody bounds a request body: a job request is a few hundred bytes.
const maxBody = 64 << 10

// streamWriteTimeout bounds each write of an event stream;
// streamKeepAlive is how often an idle stream sends a comment, so that
// proxies and clients see it alive.
const (
	streamWriteTimeout = 30 * time.Second
	streamKeepAlive    = 15 * time.Second
)

// Handler returns the API's handler: every request needs the bearer
// token (401 otherwise, before anything else is looked at); a request
// without it from an address that sent loginBurst wrong or missing tokens
// is answered 429 until its bucket refills (see loginLimit). A request
// with the token is served whatever its address's bucket. A refused
// request's connection is closed after the answer, and one that carried
// the token is kept over the others at the connection cap (connLimiter).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	mux.HandleFunc("POST /v1/jobs", s.postJob)
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Jobs()) })
	mux.HandleFunc("GET /v1/jobs/{id}", s.getJob)
	mux.HandleFunc("DELETE /v1/jobs/{id}", s.deleteJob)
	mux.HandleFunc("POST /v1/jobs/{id}/resume", s.resumeJob)
	mux.HandleFunc("GET /v1/jobs/{id}/events", s.jobEvents)
	mux.HandleFunc("GET /v1/keys", s.getKeys)
	mux.HandleFunc("GET /v1/keys/{key}/runs", s.getRuns)
	mux.HandleFunc("GET /v1/reports/{key}", s.getReport)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no such endpoint %s %s (GET /v1/openapi.json lists them)", r.Method, r.URL.Path))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if !s.auth.ok(r) {
			// Held open, the connection would cost the server until its
			// idle timeout, for a client it will not serve.
			h.Set("Connection", "close")
			// Only failures are limited: the clients of one address
			// (every local user is 127.0.0.1; behind a proxy, everyone
			// is the proxy) must not lock out the one with the token.
			client := clientOf(r)
			if wait, blocked := s.logins.blocked(client); blocked {
				h.Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
				writeError(w, http.StatusTooManyRequests, fmt.Errorf("too many requests with a wrong or missing bearer token from %s: retry in %d s", clientName(client), int(wait.Seconds())+1))
				return
			}
			s.logins.failed(client)
			h.Set("WWW-Authenticate", `Bearer realm="diffy-server"`)
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong bearer token: send the header Authorization with the value Bearer TOKEN, TOKEN being the server's (its --token-file, or DIFFY_SERVER_TOKEN)"))
			return
		}
		trust(r.Context())
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		mux.ServeHTTP(w, r)
	})
}

// postJob is POST /v1/jobs.
func (s *Server) postJob(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, errors.New("the body must be JSON (Content-Type: application/json)"))
		return
	}
	var req JobRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		if _, e := dec.Token(); e != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("the body is longer than %d bytes", maxBody))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, fmt.Errorf("the body is not a job request: %v", err))
		return
	}
	rec, err := s.Submit(req)
	if err != nil {
		writeError(w, httpStatus(err), err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+rec.ID)
	writeJSON(w, http.StatusAccepted, rec)
}

// jobOf returns the job of the request's {id}, or answers 404.
func (s *Server) jobOf(w http.ResponseWriter, r *http.Request) (*job, bool) {
	id := r.PathValue("id")
	j, ok := s.Job(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("no job %q", id))
	}
	return j, ok
}

// getJob is GET /v1/jobs/{id}.
func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	if j, ok := s.jobOf(w, r); ok {
		w.Header().Set("Content-Type", "application/json")
		w.Write(j.encoded())
	}
}

// deleteJob is DELETE /v1/jobs/{id}: cancel.
func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	rec, err := s.Cancel(r.PathValue("id"))
	if err != nil {
		writeError(w, httpStatus(err), fmt.Errorf("job %q: %w", r.PathValue("id"), err))
		return
	}
	writeJSON(w, http.StatusAccepted, rec)
}

// resumeJob is POST /v1/jobs/{id}/resume.
func (s *Server) resumeJob(w http.ResponseWriter, r *http.Request) {
	rec, err := s.Resume(r.PathValue("id"))
	if err != nil {
		writeError(w, httpStatus(err), fmt.Errorf("job %q: %w", r.PathValue("id"), err))
		return
	}
	writeJSON(w, http.StatusAccepted, rec)
}

// jobEvents is GET /v1/jobs/{id}/events: the job's record as server-sent
// events ("job"), one at each change, then "end" with the final record;
// a comment every streamKeepAlive while nothing changes. At most
// Config.MaxStreams are open at once (503 beyond).
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) {
	j, ok := s.jobOf(w, r)
	if !ok {
		return
	}
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("%d event streams are open, the most the server keeps (--max-streams): poll GET /v1/jobs/%s, or retry later", cap(s.streams), r.PathValue("id")))
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	keep := time.NewTicker(streamKeepAlive)
	defer keep.Stop()
	send := func(event string, data []byte, n int) bool {
		rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		_, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", n, event, data)
		return err == nil && rc.Flush() == nil
	}
	var last []byte
	for n := 1; ; {
		rec, changed := j.snapshot()
		data, _ := json.Marshal(rec)
		if !bytes.Equal(data, last) {
			if !send("job", data, n) {
				return
			}
			n++
			last = data
		}
		if final(rec.State) {
			send("end", data, n)
			return
		}
		select {
		case <-changed:
		case <-keep.C:
			rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.streamsDone:
			return
		}
	}
}

// getKeys is GET /v1/keys.
func (s *Server) getKeys(w http.ResponseWriter, r *http.Request) {
	format, ok := negotiate(w, r)
	if !ok {
		return
	}
	keys, err := s.d.Keys(r.Context())
	if err != nil {
		writeError(w, httpStatus(err), err)
		return
	}
	if keys == nil {
		keys = []diffy.StoredKey{}
	}
	head := []string{"store_key", "key", "baselines", "collections", "reports", "size", "newest"}
	rows := make([][]string, len(keys))
	for i, k := range keys {
		rows[i] = []string{k.StoreKey, k.Key, strconv.Itoa(k.Runs["baseline"]), strconv.Itoa(k.Runs["collection"]),
			strconv.Itoa(k.Runs["analysis"]), strconv.FormatInt(k.Size, 10), k.Newest.UTC().Format(time.RFC3339)}
	}
	writeTable(w, format, "Keys", keys, head, rows)
}

// getRuns is GET /v1/keys/{key}/runs.
func (s *Server) getRuns(w http.ResponseWriter, r *http.Request) {
	format, ok := negotiate(w, r)
	if !ok {
		return
	}
	key := r.PathValue("key")
	runs, err := s.d.Runs(r.Context(), key)
	if err != nil {
		writeError(w, httpStatus(err), fmt.Errorf("key %q: %w", key, err))
		return
	}
	if runs == nil {
		runs = []diffy.Run{}
	}
	head := []string{"kind", "id", "time", "size", "latest", "legacy"}
	rows := make([][]string, len(runs))
	for i, run := range runs {
		rows[i] = []string{string(run.Kind), run.ID, run.Time.UTC().Format(time.RFC3339Nano), strconv.FormatInt(run.Size, 10),
			strconv.FormatBool(run.Latest), strconv.FormatBool(run.Legacy)}
	}
	writeTable(w, format, "Runs of "+key, runs, head, rows)
}

// getReport is GET /v1/reports/{key}[?run=ID].
func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	format, ok := negotiate(w, r)
	if !ok {
		return
	}
	key, run := r.PathValue("key"), r.URL.Query().Get("run")
	if run != "" && run != diffy.LatestRun {
		if err := diffy.ValidRunID(run); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("run: %w", err))
			return
		}
	}
	// The stored document is the Report's JSON, served as it is; the
	// HTML and CSV made of it are kept (by the document's digest), so
	// clients polling a large report cost a read of it, not a decoding
	// and rendering each.
	doc, err := s.d.LoadRun(r.Context(), persist.KindAnalysis, key, run)
	if err != nil {
		writeError(w, httpStatus(err), err)
		return
	}
	out := doc
	if format != "json" {
		if out, err = s.rendered(key, run, format, doc); err != nil {
			writeError(w, httpStatus(err), err)
			return
		}
	}
	w.Header().Set("Content-Type", contentTypes[format])
	w.Write(out)
}

// maxRendered bounds the rendered reports kept, and maxRenderedBytes
// their bytes: 16 pages of 4 MiB (the page of a 10,000-host report is 3.4
// MiB). A report's size is the hosts': one that prints an 8 MiB value in a
// row that becomes a finding makes a 25 MB page (the value three times);
// a page over the budget is served, not kept.
const (
	maxRendered      = 16
	maxRenderedBytes = maxRendered << 22
)

// rendered returns the report doc (of key's run) rendered as format (html
// or csv), from the cache when it was rendered before. It renders doc
// itself, never a second read of the store: the page kept under doc's
// digest is doc's, whatever was stored since.
func (s *Server) rendered(key, run, format string, doc []byte) ([]byte, error) {
	id := renderKey{format, sha256.Sum256(doc)}
	s.cacheMu.Lock()
	out, ok := s.cache[id]
	s.cacheMu.Unlock()
	if ok {
		return out, nil
	}
	rep, err := diffy.DecodeReport(doc)
	if err != nil {
		return nil, fmt.Errorf("the stored report of %q (run %s) %w", key, orLatest(run), err)
	}
	var buf bytes.Buffer
	switch format {
	case "html":
		err = render.HTML(&buf, rep, render.WithVersion(cli.Version("diffy-server")))
	case "csv":
		err = render.CSV(&buf, rep)
	}
	if err != nil {
		return nil, fmt.Errorf("rendering the report of %q as %s: %w", key, format, err)
	}
	out = buf.Bytes()
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if _, ok := s.cache[id]; ok || len(out) > s.renderBudget {
		return out, nil // rendered meanwhile by another request; or too big to keep
	}
	if s.cache == nil {
		s.cache = map[renderKey][]byte{}
	}
	for len(s.cacheOrder) > 0 && (len(s.cacheOrder) >= maxRendered || s.cacheBytes+len(out) > s.renderBudget) {
		s.cacheBytes -= len(s.cache[s.cacheOrder[0]])
		delete(s.cache, s.cacheOrder[0])
		s.cacheOrder = s.cacheOrder[1:]
	}
	s.cache[id] = out
	s.cacheOrder = append(s.cacheOrder, id)
	s.cacheBytes += len(out)
	return out, nil
}

// renderKey names a rendered report: its format and the digest of the
// stored document.
type renderKey struct {
	format string
	sum    [sha256.Size]byte
}

// contentTypes are the media types of the formats.
var contentTypes = map[string]string{
	"json": "application/json",
	"html": "text/html; charset=utf-8",
	"csv":  "text/csv; charset=utf-8",
}

// negotiate chooses the format of the response from the Accept header:
// json (also for no Accept, */* or application/*), html or csv, the
// highest q first, ties in the order the header lists them. None of them
// is 406.
func negotiate(w http.ResponseWriter, r *http.Request) (string, bool) {
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return "json", true
	}
	best, bestQ := "", 0.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
				continue
			}
		}
		var f string
		switch mt {
		case "application/json", "application/*", "*/*":
			f = "json"
		case "text/html":
			f = "html"
		case "text/csv":
			f = "csv"
		case "text/*":
			f = "html"
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = f, q
		}
	}
	if best == "" {
		writeError(w, http.StatusNotAcceptable, fmt.Errorf("cannot answer Accept: %q: this endpoint answers application/json, text/html or text/csv", accept))
		return "", false
	}
	return best, true
}

// tablePage is the HTML page of a list (keys, runs): every value escaped by
// html/template.
var tablePage = template.Must(template.New("table").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{{.Title}}</title><style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}tr:nth-child(even){background:#f4f4f4}</style></head>
<body><h1>{{.Title}}</h1><table><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></body></html>
`))

// writeTable answers a list as JSON (v), CSV or HTML (head and rows).
func writeTable(w http.ResponseWriter, format, title string, v any, head []string, rows [][]string) {
	var buf bytes.Buffer
	switch format {
	case "json":
		writeJSON(w, http.StatusOK, v)
		return
	case "csv":
		cw := csv.NewWriter(&buf)
		cw.Write(head)
		for _, row := range rows {
			for i, c := range row {
				row[i] = csvText(c)
			}
			cw.Write(row)
		}
		cw.Flush()
	case "html":
		if err := tablePage.Execute(&buf, struct {
			Title string
			Head  []string
			Rows  [][]string
		}{title, head, rows}); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
	}
	w.Header().Set("Content-Type", contentTypes[format])
	w.Write(buf.Bytes())
}

// csvText keeps a spreadsheet from reading a cell as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

// writeError answers err as {"error": "..."} with status.
func writeError(w http.ResponseWriter, status int, err error) {
	b, _ := json.Marshal(apiError{Error: cli.OneLine(err.Error())})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// orLatest names the run of a request: run, or LatestRun when none is
// given.
func orLatest(run string) string {
	if run == "" {
		return diffy.LatestRun
	}
	return run
}

// pathEscape escapes a key as one path segment.
func pathEscape(key string) string { return url.PathEscape(key) }
