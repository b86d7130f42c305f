package analyze

import (
	"strings"

	"github.com/diffy-dfir/diffy/collect"
)

// templateValue returns the template form of one normalized value: every
// chunk of it (a run of characters between separators, see isSeparator)
// that holds a digit becomes '#', as do the numeric placeholders of
// NormalizeText (<hex>, <num>, <port>). Words without a digit, separators
// and the other placeholders (<ip>, <uuid>, <id>, <host>) stay:
//
//	"/opt/shop/api-1.4.2/shop-api-1.4.2.jar"  "/opt/shop/#/#"
//	"kworker/u16:3-events_unbound"            "kworker/#"
//	"*/15"                                    "*/#"
//	"4444"                                    "#"
//	"/usr/sbin/sshd -D"                       "/usr/sbin/sshd -D"
//
// A row's template is the row with every value in this form, the same
// columns: what stays when versions, ports, worker numbers, minutes and
// ids are abstracted. Which of the abstracted numbers matter is learned
// per template from the fleet (see valueContext); which letter words
// vary is learned per context (see templateContexts).
func templateValue(s string) string {
	if !strings.ContainsAny(s, "0123456789<") {
		return s
	}
	s = coarseTokens.Replace(s)
	if !strings.ContainsAny(s, "0123456789") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if isSeparator(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j, digit := i, false
		for j < len(s) && !isSeparator(s[j]) {
			digit = digit || isDigit(s[j])
			j++
		}
		if digit {
			b.WriteByte('#')
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

// appendTemplateKey appends the template key of the normalized row key
// norm (RowKey encoding, columns sorted) to dst: the same columns, each
// value in templateValue form.
func appendTemplateKey(dst []byte, norm string) []byte {
	for col, val := range keyPairs([]byte(norm)) {
		dst = appendPair(dst, col, templateValue(val))
	}
	return dst
}

// abstracted is the value that stands for the part of a row a context
// abstracts (a column, or a word wherever it occurs).
const abstracted = "\x01"

// maxWordContexts bounds the word contexts of one template (see
// templateContexts): a cost bound, not a decision; the words of a command
// line beyond it are not tried one by one (the column context of the
// command line still is).
const maxWordContexts = 24

// templateContexts calls yield with the key of every context of the
// template key tkey (RowKey encoding), each prefixed by its kind:
//
//   - a column context ("c"): the template with one column's value
//     abstracted: the row "holding the rest fixed";
//   - a word context ("w"): the template with one word (a run of letters
//     or '_' in a free-text value, see FreeTextColumns) abstracted at
//     every place it occurs, in free text and as a whole structured
//     value: a per-host name that shows in both a path and a command
//     line varies in one context, not in two.
//
// Two templates of one command share a context when they differ only in
// what it abstracts; the templates of a context are its values. The key
// passed to yield is reused after yield returns.
func templateContexts(tkey []byte, buf []byte, yield func(key []byte)) []byte {
	type pair struct{ col, val string }
	var pairs []pair
	for c, v := range keyPairs(tkey) {
		pairs = append(pairs, pair{c, v})
	}
	for i := range pairs {
		buf = append(buf[:0], 'c')
		for j, p := range pairs {
			v := p.val
			if i == j {
				v = abstracted
			}
			buf = appendPair(buf, p.col, v)
		}
		yield(buf)
	}
	var words []string
	for _, p := range pairs {
		if !isFreeText(p.col) {
			continue
		}
		for w := range templateWords(p.val) {
			if len(words) == maxWordContexts {
				break
			}
			if !containsString(words, w) {
				words = append(words, w)
			}
		}
	}
	for _, w := range words {
		buf = append(buf[:0], 'w')
		for _, p := range pairs {
			v := p.val
			switch {
			case isFreeText(p.col):
				v = replaceWord(v, w)
			case v == w:
				v = abstracted
			}
			buf = appendPair(buf, p.col, v)
		}
		yield(buf)
	}
	return buf
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// isWordByte reports whether c is part of a word of templateWords.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// templateWords yields the words of a template value: maximal runs of
// letters and '_', in order, repeats included.
func templateWords(s string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for i := 0; i < len(s); {
			if !isWordByte(s[i]) {
				i++
				continue
			}
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if !yield(s[i:j]) {
				return
			}
			i = j
		}
	}
}

// replaceWord returns s with every whole word w (see templateWords)
// replaced by abstracted.
func replaceWord(s, w string) string {
	if !strings.Contains(s, w) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		if s[i:j] == w {
			b.WriteString(abstracted)
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

// templateRow returns the template of a row for display: the values of
// tkey with the column col (when not "") shown as "*".
func templateRow(tkey string, col string) collect.Row {
	row := collect.Row{}
	for c, v := range keyPairs([]byte(tkey)) {
		if c == col {
			v = "*"
		}
		row[c] = v
	}
	return row
}
