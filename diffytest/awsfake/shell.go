package awsfake

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// This file holds the tiny shell the fake "runs" AWS-RunShellScript
// scripts with. It parses the script once (at SendCommand) and executes it
// against one simulated host whenever an invocation's output is needed. See
// the package doc for the subset it understands.

// wordPart is a piece of a shell word: literal text, or a parameter to
// expand at run time ($?, $NAME, ${NAME}).
type wordPart struct {
	lit   string
	param string
}

// word is one shell word before expansion.
type word []wordPart

func (w word) expand(st *shellState) string {
	if len(w) == 1 && w[0].param == "" {
		return w[0].lit
	}
	var b strings.Builder
	for _, p := range w {
		if p.param == "" {
			b.WriteString(p.lit)
			continue
		}
		b.WriteString(st.param(p.param))
	}
	return b.String()
}

// literal reports the word's text when it has no expansion.
func (w word) literal() (string, bool) {
	var b strings.Builder
	for _, p := range w {
		if p.param != "" {
			return "", false
		}
		b.WriteString(p.lit)
	}
	return b.String(), true
}

// Token kinds.
const (
	tokWord = iota
	tokOp
	tokRedir
	tokNewline
)

type token struct {
	kind int
	w    word   // tokWord
	op   string // tokOp: ; && || | & ( ) ;; ; tokRedir: the operator (">", ">>", "<", ">&")
	fd   int    // tokRedir: the file descriptor redirected
	line int
}

// shellSyntaxError is a script the parser cannot read.
type shellSyntaxError struct {
	line int
	msg  string
}

func (e *shellSyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// lex splits a script into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	line := 1
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			toks = append(toks, token{kind: tokNewline, line: line})
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			line++
			i += 2
		case c == ';' || c == '&' || c == '|' || c == '(' || c == ')':
			op := string(c)
			if i+1 < len(src) && (c == '&' || c == '|' || c == ';') && src[i+1] == c {
				op += string(c)
			}
			if c == '&' && i+1 < len(src) && src[i+1] == '>' {
				// &>file: both stdout and stderr.
				toks = append(toks, token{kind: tokRedir, op: "&>", fd: 1, line: line})
				i += 2
				continue
			}
			toks = append(toks, token{kind: tokOp, op: op, line: line})
			i += len(op)
		case c == '>' || c == '<' || (c >= '0' && c <= '9' && redirAhead(src, i)):
			fd := 1
			if c == '<' {
				fd = 0
			}
			if c >= '0' && c <= '9' {
				fd = int(c - '0')
				i++
				c = src[i]
			}
			op := string(c)
			i++
			if i < len(src) && (src[i] == '>' || src[i] == '&') && c == '>' {
				op += string(src[i])
				i++
			}
			toks = append(toks, token{kind: tokRedir, op: op, fd: fd, line: line})
		default:
			w, n, nl, err := lexWord(src[i:], line)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokWord, w: w, line: line})
			line += nl
			i += n
		}
	}
	return toks, nil
}

// redirAhead reports whether the digit at src[i] starts a redirection
// such as 2>&1 (a digit directly followed by > or <).
func redirAhead(src string, i int) bool {
	if i > 0 && !strings.ContainsRune(" \t\n;&|()", rune(src[i-1])) {
		return false
	}
	return i+1 < len(src) && (src[i+1] == '>' || src[i+1] == '<')
}

// lexWord reads one word at the start of s: it returns the word, the bytes
// consumed and the newlines inside quotes.
func lexWord(s string, line int) (word, int, int, error) {
	var w word
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			w = append(w, wordPart{lit: lit.String()})
			lit.Reset()
		}
	}
	nl := 0
	// param reads a parameter expansion at the start of rest, adding it
	// to the word, and returns the bytes consumed.
	param := func(rest string) (int, error) {
		p, n, err := lexParam(rest, line+nl)
		if err != nil {
			return 0, err
		}
		if p != "" {
			flush()
			w = append(w, wordPart{param: p})
		} else {
			lit.WriteByte('$')
		}
		return n, nil
	}
	i := 0
	for i < len(s) {
		c := s[i]
		if strings.IndexByte(" \t\r\n;&|()<>", c) >= 0 {
			break
		}
		switch c {
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, 0, 0, &shellSyntaxError{line, "unterminated quoted string"}
			}
			q := s[i+1 : i+1+end]
			nl += strings.Count(q, "\n")
			lit.WriteString(q)
			i += end + 2
		case '"':
			i++
			closed := false
			for i < len(s) {
				d := s[i]
				if d == '"' {
					closed = true
					i++
					break
				}
				if d == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					if s[i+1] != '\n' {
						lit.WriteByte(s[i+1])
					}
					i += 2
					continue
				}
				if d == '`' {
					return nil, 0, 0, &shellSyntaxError{line + nl, "command substitution is not supported"}
				}
				if d == '$' {
					n, err := param(s[i:])
					if err != nil {
						return nil, 0, 0, err
					}
					i += n
					continue
				}
				if d == '\n' {
					nl++
				}
				lit.WriteByte(d)
				i++
			}
			if !closed {
				return nil, 0, 0, &shellSyntaxError{line, "unterminated quoted string"}
			}
		case '\\':
			if i+1 < len(s) {
				lit.WriteByte(s[i+1])
				i += 2
			} else {
				i++
			}
		case '$':
			n, err := param(s[i:])
			if err != nil {
				return nil, 0, 0, err
			}
			i += n
		case '`':
			return nil, 0, 0, &shellSyntaxError{line + nl, "command substitution is not supported"}
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	if len(w) == 0 {
		w = word{{lit: ""}}
	}
	return w, i, nl, nil
}

// lexParam reads a parameter expansion at the start of s ("$?", "$NAME",
// "${NAME}"); it returns "" and 1 for a lone "$".
func lexParam(s string, line int) (string, int, error) {
	if len(s) < 2 {
		return "", 1, nil
	}
	switch c := s[1]; {
	case c == '?' || c == '$' || c == '#' || (c >= '0' && c <= '9'):
		return string(c), 2, nil
	case c == '(':
		return "", 0, &shellSyntaxError{line, "command substitution is not supported"}
	case c == '{':
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", 0, &shellSyntaxError{line, "bad substitution"}
		}
		name := s[2:end]
		if !validName(name) && name != "?" {
			return "", 0, &shellSyntaxError{line, fmt.Sprintf("${%s}: bad substitution", name)}
		}
		return name, end + 1, nil
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		n := 2
		for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= '0' && s[n] <= '9') {
			n++
		}
		return s[1:n], n, nil
	}
	return "", 1, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parsedScripts caches parsed `sh -c` scripts: the same few scripts run
// on every host. Parsed scripts are never changed, so they can be shared.
var parsedScripts sync.Map // string -> parsedScript

type parsedScript struct {
	l   *seqList
	err error
}

// parseCached parses src, once per distinct script (up to a bound).
func parseCached(src string) (*seqList, error) {
	if v, ok := parsedScripts.Load(src); ok {
		p := v.(parsedScript)
		return p.l, p.err
	}
	l, err := parseScript(src)
	if parsedCount.Load() < 4096 {
		parsedCount.Add(1)
		parsedScripts.Store(src, parsedScript{l, err})
	}
	return l, err
}

var parsedCount atomic.Int64

// The parsed script: a tree of nodes.

type redirect struct {
	fd     int    // descriptor redirected
	op     string // ">", ">>", "<", ">&", "&>"
	target word
}

type node interface{ isNode() }

// simpleCmd is a command with its words and redirections.
type simpleCmd struct {
	args   []word
	redirs []redirect
	line   int
}

// groupCmd is { list; } (subshell false) or ( list ) (subshell true).
type groupCmd struct {
	body     *seqList
	subshell bool
	redirs   []redirect
}

// andOr is a chain of pipelines joined by && and ||.
type andOr struct {
	first node
	rest  []andOrPart
}

type andOrPart struct {
	op  string // "&&" or "||"
	cmd node
}

// seqList is commands run one after the other.
type seqList struct{ items []*andOr }

// ifCmd is if COND; then BODY; [elif COND; then BODY;]... [else ELS;] fi.
type ifCmd struct {
	conds, bodies []*seqList
	els           *seqList
	redirs        []redirect
}

// notCmd is ! COMMAND.
type notCmd struct{ cmd node }

func (*simpleCmd) isNode() {}
func (*groupCmd) isNode()  {}
func (*ifCmd) isNode()     {}
func (*notCmd) isNode()    {}

// parser is a recursive-descent parser over the tokens.
type parser struct {
	toks []token
	pos  int
}

func parseScript(src string) (*seqList, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	l, err := p.list("")
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		t := p.toks[p.pos]
		return nil, &shellSyntaxError{t.line, fmt.Sprintf("syntax error near unexpected token `%s'", tokText(t))}
	}
	return l, nil
}

func tokText(t token) string {
	switch t.kind {
	case tokWord:
		s, _ := t.w.literal()
		return s
	case tokNewline:
		return "newline"
	}
	return t.op
}

func (p *parser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

// isWord reports whether t is the unquoted-looking word s ("{", "}").
func isWord(t *token, s string) bool {
	if t == nil || t.kind != tokWord {
		return false
	}
	l, ok := t.w.literal()
	return ok && l == s
}

// list parses and/or lists separated by ; or newlines until the closing
// token end ("}", ")" or "" for the end of the script).
func (p *parser) list(end string) (*seqList, error) {
	l, _, err := p.listUntil(end)
	return l, err
}

// reserved words that end a list inside an if.
var ifWords = map[string]bool{"then": true, "elif": true, "else": true, "fi": true}

// listUntil parses and/or lists separated by ; or newlines until the
// closing token end ("}", ")", one of the words "then elif else fi" given
// as "if", or "" for the end of the script). It returns the word that
// ended an if-list.
func (p *parser) listUntil(end string) (*seqList, string, error) {
	l := &seqList{}
	for {
		// skip separators
		for t := p.peek(); t != nil && (t.kind == tokNewline || t.kind == tokOp && t.op == ";"); t = p.peek() {
			p.pos++
		}
		t := p.peek()
		if t == nil {
			if end != "" {
				return nil, "", &shellSyntaxError{p.lastLine(), fmt.Sprintf("syntax error: end of file unexpected (expecting %q)", end)}
			}
			return l, "", nil
		}
		if end == "}" && isWord(t, "}") || end == ")" && t.kind == tokOp && t.op == ")" {
			return l, "", nil
		}
		if w, ok := t.w.literal(); t.kind == tokWord && ok && ifWords[w] {
			if end != "if" {
				return nil, "", &shellSyntaxError{t.line, fmt.Sprintf("syntax error near unexpected token `%s'", w)}
			}
			return l, w, nil
		}
		if t.kind == tokOp && (t.op == ")" || t.op == ";;") || isWord(t, "}") {
			return nil, "", &shellSyntaxError{t.line, fmt.Sprintf("syntax error near unexpected token `%s'", tokText(*t))}
		}
		ao, err := p.andOr()
		if err != nil {
			return nil, "", err
		}
		l.items = append(l.items, ao)
		if t := p.peek(); t != nil && t.kind == tokOp && t.op == "&" {
			return nil, "", &shellSyntaxError{t.line, "background jobs (&) are not supported"}
		}
	}
}

// ifClause parses the rest of an if, after the word "if".
func (p *parser) ifClause(line int) (*ifCmd, error) {
	c := &ifCmd{}
	for {
		cond, w, err := p.listUntil("if")
		if err != nil {
			return nil, err
		}
		if w != "then" || len(cond.items) == 0 {
			return nil, &shellSyntaxError{line, "syntax error: if without a condition and then"}
		}
		p.pos++ // then
		body, w, err := p.listUntil("if")
		if err != nil {
			return nil, err
		}
		if len(body.items) == 0 {
			return nil, &shellSyntaxError{line, "syntax error: empty then"}
		}
		p.pos++ // elif, else or fi
		c.conds = append(c.conds, cond)
		c.bodies = append(c.bodies, body)
		switch w {
		case "elif":
			continue
		case "else":
			els, w, err := p.listUntil("if")
			if err != nil {
				return nil, err
			}
			if w != "fi" {
				return nil, &shellSyntaxError{line, "syntax error: else without fi"}
			}
			p.pos++ // fi
			c.els = els
			return c, nil
		case "fi":
			return c, nil
		default:
			return nil, &shellSyntaxError{line, "syntax error: then without fi"}
		}
	}
}

func (p *parser) lastLine() int {
	if len(p.toks) == 0 {
		return 1
	}
	return p.toks[len(p.toks)-1].line
}

func (p *parser) andOr() (*andOr, error) {
	first, err := p.command()
	if err != nil {
		return nil, err
	}
	ao := &andOr{first: first}
	for {
		t := p.peek()
		if t == nil || t.kind != tokOp || (t.op != "&&" && t.op != "||") {
			if t != nil && t.kind == tokOp && t.op == "|" {
				return nil, &shellSyntaxError{t.line, "pipes are not supported"}
			}
			return ao, nil
		}
		p.pos++
		for t := p.peek(); t != nil && t.kind == tokNewline; t = p.peek() {
			p.pos++
		}
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		ao.rest = append(ao.rest, andOrPart{op: t.op, cmd: c})
	}
}

func (p *parser) command() (node, error) {
	t := p.peek()
	if t == nil {
		return nil, &shellSyntaxError{p.lastLine(), "syntax error: end of file unexpected"}
	}
	switch {
	case isWord(t, "!"):
		p.pos++
		inner, err := p.command()
		if err != nil {
			return nil, err
		}
		return &notCmd{inner}, nil
	case isWord(t, "if"):
		p.pos++
		c, err := p.ifClause(t.line)
		if err != nil {
			return nil, err
		}
		c.redirs, err = p.redirects()
		return c, err
	case isWord(t, "{"):
		p.pos++
		body, err := p.list("}")
		if err != nil {
			return nil, err
		}
		p.pos++ // }
		g := &groupCmd{body: body}
		r, err := p.redirects()
		g.redirs = r
		return g, err
	case t.kind == tokOp && t.op == "(":
		p.pos++
		body, err := p.list(")")
		if err != nil {
			return nil, err
		}
		p.pos++ // )
		g := &groupCmd{body: body, subshell: true}
		r, err := p.redirects()
		g.redirs = r
		return g, err
	case t.kind == tokOp:
		return nil, &shellSyntaxError{t.line, fmt.Sprintf("syntax error near unexpected token `%s'", t.op)}
	}
	c := &simpleCmd{line: t.line}
	for {
		t := p.peek()
		if t == nil {
			break
		}
		if t.kind == tokWord {
			if len(c.args) > 0 || !isWord(t, "}") {
				c.args = append(c.args, t.w)
				p.pos++
				continue
			}
		}
		if t.kind == tokRedir {
			r, err := p.redirect()
			if err != nil {
				return nil, err
			}
			c.redirs = append(c.redirs, r)
			continue
		}
		break
	}
	if len(c.args) == 0 && len(c.redirs) == 0 {
		return nil, &shellSyntaxError{t.line, "syntax error: empty command"}
	}
	return c, nil
}

func (p *parser) redirects() ([]redirect, error) {
	var rs []redirect
	for t := p.peek(); t != nil && t.kind == tokRedir; t = p.peek() {
		r, err := p.redirect()
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func (p *parser) redirect() (redirect, error) {
	t := p.toks[p.pos]
	p.pos++
	n := p.peek()
	if n == nil || n.kind != tokWord {
		return redirect{}, &shellSyntaxError{t.line, "syntax error: redirection without a target"}
	}
	p.pos++
	return redirect{fd: t.fd, op: t.op, target: n.w}, nil
}

// Execution.

// sink is where a file descriptor writes.
type sink int

const (
	sinkStdout sink = iota
	sinkStderr
	sinkNull
)

// exitSignal unwinds the executor on `exit` (or set -e) inside the
// current shell level.
type exitSignal struct{}

// shellHost is what a script can see of its host.
type shellHost interface {
	// osquery returns the stdout of `osqueryi --json SQL` on the host, or
	// a stderr message and a non-zero status.
	osquery(sql string) (stdout []byte, stderr string, status int)
	// hasOsquery reports whether osqueryi is installed.
	hasOsquery() bool
}

type shellState struct {
	host    shellHost
	out     *bytes.Buffer
	errb    *bytes.Buffer
	fds     [3]sink
	vars    map[string]string
	status  int
	errexit bool
	name    string // script path, for error messages
}

func (st *shellState) param(name string) string {
	switch name {
	case "?":
		return strconv.Itoa(st.status)
	case "$":
		return "4242"
	case "#":
		return "0"
	}
	return st.vars[name]
}

func (st *shellState) write(fd int, s string) {
	if fd < 0 || fd > 2 {
		return
	}
	switch st.fds[fd] {
	case sinkStdout:
		st.out.WriteString(s)
	case sinkStderr:
		st.errb.WriteString(s)
	}
}

func (st *shellState) writeBytes(fd int, b []byte) {
	switch st.fds[fd] {
	case sinkStdout:
		st.out.Write(b)
	case sinkStderr:
		st.errb.Write(b)
	}
}

// runScript runs a parsed script (or reports its syntax error the way sh
// does) and returns stdout, stderr and the exit status.
func runScript(l *seqList, parseErr error, host shellHost, name string) (stdout, stderr []byte, status int) {
	var out, errb bytes.Buffer
	if parseErr != nil {
		fmt.Fprintf(&errb, "%s: %v\n", name, parseErr)
		return nil, errb.Bytes(), 2
	}
	st := &shellState{host: host, out: &out, errb: &errb, fds: [3]sink{sinkNull, sinkStdout, sinkStderr}, vars: map[string]string{}, name: name}
	st.runTop(l)
	return out.Bytes(), errb.Bytes(), st.status
}

func (st *shellState) runTop(l *seqList) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitSignal); !ok {
				panic(r)
			}
		}
	}()
	st.runList(l)
}

func (st *shellState) runList(l *seqList) {
	for _, ao := range l.items {
		st.runAndOr(ao)
	}
}

func (st *shellState) runAndOr(ao *andOr) {
	// set -e does not apply to commands on the left of && or ||.
	st.runNode(ao.first, len(ao.rest) == 0)
	for i, part := range ao.rest {
		if part.op == "&&" && st.status != 0 || part.op == "||" && st.status == 0 {
			continue
		}
		st.runNode(part.cmd, i == len(ao.rest)-1)
	}
}

func (st *shellState) runNode(n node, checkErrexit bool) {
	switch n := n.(type) {
	case *simpleCmd:
		st.runSimple(n)
	case *groupCmd:
		saved := st.fds
		if !st.applyRedirs(n.redirs, 0) {
			st.fds = saved
			return
		}
		if n.subshell {
			sub := *st
			sub.vars = make(map[string]string, len(st.vars))
			for k, v := range st.vars {
				sub.vars[k] = v
			}
			sub.runTop(n.body)
			st.status = sub.status
		} else {
			st.runList(n.body)
		}
		st.fds = saved
	case *ifCmd:
		saved := st.fds
		if !st.applyRedirs(n.redirs, 0) {
			st.fds = saved
			return
		}
		ran := false
		for i, cond := range n.conds {
			st.runCondition(cond)
			if st.status == 0 {
				st.runList(n.bodies[i])
				ran = true
				break
			}
		}
		if !ran {
			st.status = 0
			if n.els != nil {
				st.runList(n.els)
			}
		}
		st.fds = saved
	case *notCmd:
		st.runNode(n.cmd, false)
		if st.status == 0 {
			st.status = 1
		} else {
			st.status = 0
		}
		return // set -e does not apply to a negated command
	}
	if checkErrexit && st.errexit && st.status != 0 {
		panic(exitSignal{})
	}
}

// runCondition runs an if's condition, where set -e does not apply.
func (st *shellState) runCondition(l *seqList) {
	saved := st.errexit
	st.errexit = false
	st.runList(l)
	st.errexit = saved
}

// applyRedirs applies redirections to st.fds; it reports false (after
// writing the error) when one cannot be done.
func (st *shellState) applyRedirs(rs []redirect, line int) bool {
	for _, r := range rs {
		target := r.target.expand(st)
		switch {
		case r.op == ">&" && (target == "1" || target == "2"):
			if r.fd <= 2 {
				st.fds[r.fd] = st.fds[target[0]-'0']
			}
		case r.op == ">&" && target == "-":
			if r.fd <= 2 {
				st.fds[r.fd] = sinkNull
			}
		case (r.op == ">" || r.op == ">>" || r.op == "&>" || r.op == "<") && target == "/dev/null":
			if r.op == "&>" {
				st.fds[1], st.fds[2] = sinkNull, sinkNull
			} else if r.fd <= 2 {
				st.fds[r.fd] = sinkNull
			}
		default:
			st.write(2, fmt.Sprintf("%s: line %d: %s: awsfake simulates no files (only /dev/null, >&1 and >&2)\n", st.name, line, target))
			st.status = 1
			return false
		}
	}
	return true
}

func (st *shellState) runSimple(c *simpleCmd) {
	saved := st.fds
	defer func() { st.fds = saved }()
	args := make([]string, 0, len(c.args))
	for _, w := range c.args {
		args = append(args, w.expand(st))
	}
	// Leading assignments NAME=value.
	for len(args) > 0 {
		eq := strings.IndexByte(args[0], '=')
		if eq <= 0 || !validName(args[0][:eq]) {
			break
		}
		st.vars[args[0][:eq]] = args[0][eq+1:]
		args = args[1:]
		if len(args) == 0 {
			st.status = 0
		}
	}
	if !st.applyRedirs(c.redirs, c.line) {
		return
	}
	if len(args) == 0 {
		return
	}
	st.status = st.builtin(args, c.line)
}

// builtin runs one command and returns its exit status.
func (st *shellState) builtin(args []string, line int) int {
	name := args[0]
	base := name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		base = name[i+1:]
	}
	switch name {
	case "echo":
		return st.echo(args[1:])
	case "printf":
		return st.printf(args[1:], line)
	case "true", ":":
		return 0
	case "false":
		return 1
	case "exit":
		code := st.status
		if len(args) > 1 {
			n, err := strconv.Atoi(args[1])
			if err != nil {
				st.write(2, fmt.Sprintf("%s: line %d: exit: %s: numeric argument required\n", st.name, line, args[1]))
				n = 2
			}
			code = n & 0xff
		}
		st.status = code
		panic(exitSignal{})
	case "set":
		for _, a := range args[1:] {
			if len(a) > 1 && (a[0] == '-' || a[0] == '+') {
				if strings.ContainsRune(a[1:], 'e') {
					st.errexit = a[0] == '-'
				}
			}
		}
		return 0
	case "command", "which", "type":
		return st.commandV(args, line)
	case "sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/bash":
		if len(args) >= 3 && args[1] == "-c" {
			l, err := parseCached(args[2])
			if err != nil {
				st.write(2, fmt.Sprintf("%s: -c: %v\n", base, err))
				return 2
			}
			sub := *st
			sub.vars = map[string]string{}
			sub.errexit = false
			sub.runTop(l)
			return sub.status
		}
		st.write(2, fmt.Sprintf("%s: line %d: %s: awsfake runs only `%s -c SCRIPT`\n", st.name, line, name, base))
		return 2
	}
	if base == "osqueryi" && (name == base || strings.HasPrefix(name, "/")) {
		if !st.host.hasOsquery() {
			st.write(2, fmt.Sprintf("%s: line %d: %s: command not found\n", st.name, line, name))
			return 127
		}
		return st.osqueryi(args[1:])
	}
	st.write(2, fmt.Sprintf("%s: line %d: %s: command not found\n", st.name, line, name))
	return 127
}

func (st *shellState) echo(args []string) int {
	newline, escapes := true, false
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "neE") == "" {
		if strings.ContainsRune(args[0], 'n') {
			newline = false
		}
		if strings.ContainsRune(args[0], 'e') {
			escapes = true
		}
		args = args[1:]
	}
	s := strings.Join(args, " ")
	if escapes {
		s, _ = unescape(s)
	}
	if newline {
		s += "\n"
	}
	st.write(1, s)
	return 0
}

// unescape interprets the backslash escapes of printf formats and echo -e;
// it reports false at \c (stop output).
func unescape(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		case 'a':
			b.WriteByte('\a')
		case 'c':
			return b.String(), false
		case '0':
			n, j := 0, i+1
			for ; j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7'; j++ {
				n = n*8 + int(s[j]-'0')
			}
			b.WriteByte(byte(n))
			i = j - 1
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String(), true
}

// printf implements printf FORMAT [ARG...] with %s, %d, %b, %% and
// backslash escapes; the format is reused while arguments remain.
func (st *shellState) printf(args []string, line int) int {
	if len(args) == 0 {
		st.write(2, fmt.Sprintf("%s: line %d: printf: usage: printf format [arguments]\n", st.name, line))
		return 2
	}
	format, rest := args[0], args[1:]
	var b strings.Builder
	status := 0
	for {
		used := 0
		for i := 0; i < len(format); i++ {
			c := format[i]
			if c == '\\' && i+1 < len(format) {
				j := i + 2
				if format[i+1] == '0' {
					for j < len(format) && j < i+5 && format[j] >= '0' && format[j] <= '7' {
						j++
					}
				}
				s, ok := unescape(format[i:j])
				b.WriteString(s)
				if !ok {
					st.write(1, b.String())
					return status
				}
				i = j - 1
				continue
			}
			if c != '%' || i+1 == len(format) {
				b.WriteByte(c)
				continue
			}
			i++
			// skip flags and width
			spec := "%"
			for i < len(format) && strings.IndexByte("-+ #0123456789.", format[i]) >= 0 {
				spec += string(format[i])
				i++
			}
			if i == len(format) {
				b.WriteString(spec)
				break
			}
			verb := format[i]
			arg := ""
			if verb != '%' && used < len(rest) {
				arg = rest[used]
			}
			if verb != '%' {
				used++
			}
			switch verb {
			case '%':
				b.WriteByte('%')
			case 's':
				fmt.Fprintf(&b, spec+"s", arg)
			case 'b':
				s, _ := unescape(arg)
				fmt.Fprintf(&b, spec+"s", s)
			case 'd', 'i':
				n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
				if err != nil && arg != "" {
					st.write(2, fmt.Sprintf("%s: line %d: printf: %s: invalid number\n", st.name, line, arg))
					status = 1
				}
				fmt.Fprintf(&b, spec+"d", n)
			default:
				st.write(2, fmt.Sprintf("%s: line %d: printf: %%%c: invalid directive\n", st.name, line, verb))
				st.write(1, b.String())
				return 1
			}
		}
		if used == 0 || used >= len(rest) {
			break
		}
		rest = rest[used:]
	}
	st.write(1, b.String())
	return status
}

// commandV implements `command -v NAME` (and which/type NAME): status 0
// and a path when the command exists on the host.
func (st *shellState) commandV(args []string, line int) int {
	if args[0] == "command" && (len(args) < 2 || args[1] != "-v" && args[1] != "-V") {
		if len(args) >= 2 {
			return st.builtin(args[1:], line)
		}
		return 0
	}
	names := args[1:]
	if args[0] == "command" {
		names = args[2:]
	}
	status := 0
	for _, n := range names {
		switch n {
		case "osqueryi", "/usr/bin/osqueryi":
			if !st.host.hasOsquery() {
				status = 1
				continue
			}
			st.write(1, "/usr/bin/osqueryi\n")
		case "echo", "printf", "true", "false", "exit", "set", "command", ":":
			st.write(1, n+"\n")
		case "sh", "bash":
			st.write(1, "/usr/bin/"+n+"\n")
		default:
			status = 1
		}
	}
	return status
}

// osqueryi runs `osqueryi [FLAGS] SQL` on the host.
func (st *shellState) osqueryi(args []string) int {
	var sql string
	json := false
	for _, a := range args {
		switch {
		case a == "--json":
			json = true
		case strings.HasPrefix(a, "-"):
			// other flags do not change the simulated output
		case sql == "":
			sql = a
		default:
			st.write(2, "osqueryi: awsfake takes one SQL argument\n")
			return 1
		}
	}
	if sql == "" {
		st.write(2, "osqueryi: awsfake simulates only `osqueryi --json SQL`, not an interactive shell\n")
		return 1
	}
	if !json {
		st.write(2, "osqueryi: awsfake simulates only --json output\n")
		return 1
	}
	out, errText, status := st.host.osquery(sql)
	st.writeBytes(1, out)
	if errText != "" {
		st.write(2, errText)
	}
	return status
}
