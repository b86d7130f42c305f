package redact

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
)

// handler is the slog.Handler NewHandler returns.
type handler struct {
	inner slog.Handler
	// secret is set inside a group whose name marks it as secret: every
	// value in it is replaced.
	secret bool
}

// NewHandler returns a slog.Handler that redacts secrets from every record
// and attribute and passes the result to h. It is safe for concurrent use
// if h is, and keeps h's level and grouping behaviour.
//
// Messages and string values go through String; so do the text forms of
// other values that a handler may print ([]byte as text, errors by Error
// and %+v, TextMarshalers, structs by %+v, %v and JSON), and such a value
// becomes that redacted text when one of them held a secret. Values of
// attributes whose key is a SensitiveKey, and of every attribute under a
// group so named, are replaced by Redacted, except booleans, times and
// durations. LogValuers are resolved first. Attribute keys and group names
// are kept as they are.
func NewHandler(h slog.Handler) slog.Handler {
	if h == nil {
		panic("redact: NewHandler of a nil handler")
	}
	return &handler{inner: h}
}

// Enabled reports whether the wrapped handler handles level.
func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle redacts r's message and attributes and passes a new record to the
// wrapped handler; r itself is not changed.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a, h.secret))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs redacts attrs and adds them to the wrapped handler.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a, h.secret)
	}
	return &handler{inner: h.inner.WithAttrs(red), secret: h.secret}
}

// WithGroup opens a group on the wrapped handler; inside a group whose
// name is a SensitiveKey every value is redacted.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &handler{inner: h.inner.WithGroup(name), secret: h.secret || SensitiveKey(name)}
}

// ReplaceAttr redacts one attribute, for use as slog.HandlerOptions
// ReplaceAttr when building a handler rather than wrapping one. groups are
// the names of the groups a is in; a value in a group whose name is a
// SensitiveKey is redacted whole. NewHandler is the better choice: a
// handler's ReplaceAttr does not see the record's message.
func ReplaceAttr(groups []string, a slog.Attr) slog.Attr {
	secret := false
	for _, g := range groups {
		secret = secret || SensitiveKey(g)
	}
	return redactAttr(a, secret)
}

// redactAttr returns a with its value redacted; secret says a is inside a
// group whose name marks it as secret.
func redactAttr(a slog.Attr, secret bool) slog.Attr {
	a.Value = a.Value.Resolve()
	secret = secret || SensitiveKey(a.Key)
	v := a.Value
	switch v.Kind() {
	case slog.KindGroup:
		in := v.Group()
		out := make([]slog.Attr, len(in))
		for i, g := range in {
			out[i] = redactAttr(g, secret)
		}
		a.Value = slog.GroupValue(out...)
	case slog.KindBool, slog.KindTime, slog.KindDuration:
		// Cannot hold a credential.
	case slog.KindString:
		switch s := v.String(); {
		case s == "":
		case secret:
			a.Value = slog.StringValue(Redacted)
		default:
			if red := String(s); red != s {
				a.Value = slog.StringValue(red)
			}
		}
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64:
		if secret {
			a.Value = slog.StringValue(Redacted)
		}
	default: // slog.KindAny
		if secret {
			a.Value = slog.StringValue(Redacted)
		} else if red, changed := redactAny(v.Any()); changed {
			a.Value = slog.StringValue(red)
		}
	}
	return a
}

// redactAny checks the text forms a handler could give x (a []byte as
// its text, as slog.TextHandler writes it; an error's Error text and its
// %+v form, which an error with a fmt.Formatter may make longer; a
// TextMarshaler's text; the %+v and %v forms; its JSON as
// slog.JSONHandler writes it) and returns the redacted text of the first
// one that held a secret.
func redactAny(x any) (string, bool) {
	if x == nil {
		return "", false
	}
	forms := make([]func() (string, bool), 0, 5)
	switch v := x.(type) {
	case []byte:
		forms = append(forms, func() (string, bool) { return string(v), true })
	case error:
		forms = append(forms,
			func() (string, bool) { return fmt.Sprintf("%+v", v), true },
			func() (string, bool) { return v.Error(), true })
	}
	if tm, ok := x.(encoding.TextMarshaler); ok {
		forms = append(forms, func() (string, bool) {
			b, err := tm.MarshalText()
			return string(b), err == nil
		})
	}
	forms = append(forms,
		func() (string, bool) { return fmt.Sprintf("%+v", x), true },
		func() (string, bool) { return fmt.Sprintf("%v", x), true },
		func() (string, bool) {
			js, err := json.Marshal(x)
			return string(js), err == nil
		})
	for _, form := range forms {
		text, ok := form()
		if !ok {
			continue
		}
		if red := String(text); red != text {
			return red, true
		}
	}
	return "", false
}
