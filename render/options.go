package render

import (
	"fmt"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// Option sets one of the settings of Table and HTML. Options are applied in
// order; afterwards every setting still unset takes its default. A setting
// that a writer does not use (the title, for Table) is ignored by it.
type Option func(*options)

// options holds the settings of Table and HTML once the Options are
// applied and the defaults filled in.
type options struct {
	// Title heads the HTML page; Version is named in its footer.
	Title, Version string
	// MaxFindings caps the findings listed per host; negative means all.
	// Its default depends on the writer (DefaultMaxFindings for Table,
	// DefaultHTMLMaxFindings for HTML): maxFindingsSet says whether it was
	// set.
	MaxFindings int
	// MaxTraits caps the traits Table lists per cluster; negative means
	// all.
	MaxTraits int
	// MaxHosts caps the hosts HTML lists with their findings; negative
	// means all.
	MaxHosts int
	// Open is the number of outliers HTML shows unfolded.
	Open int
	// MinMapHosts is the smallest group HTML draws a map for.
	MinMapHosts int
	// TableRows is the number of rows HTML's table of every host shows at
	// first; negative means all.
	TableRows int
	// Width is the width of Table's lines, in terminal columns.
	Width int
	// Verbose makes Table show every trait of every cluster and fold long
	// rows instead of cutting them.
	Verbose bool

	maxFindingsSet, maxTraitsSet, maxHostsSet, openSet, minMapSet, tableRowsSet, widthSet bool
}

// WithTitle sets the title heading the HTML page. Default: "Diffy report:
// KEY".
func WithTitle(title string) Option { return func(o *options) { o.Title = title } }

// WithVersion names the program's version in the HTML page's footer.
// Default: none.
func WithVersion(v string) Option { return func(o *options) { o.Version = v } }

// WithMaxFindings sets how many findings are listed per host (the rest are
// counted, and said to be in the JSON report); negative means all.
// Default: DefaultMaxFindings in Table, DefaultHTMLMaxFindings in HTML.
func WithMaxFindings(n int) Option {
	return func(o *options) { o.MaxFindings, o.maxFindingsSet = n, true }
}

// WithMaxTraits sets how many traits Table shows per cluster with -v
// (WithVerbose); negative means all. Default: DefaultMaxTraits.
func WithMaxTraits(n int) Option {
	return func(o *options) { o.MaxTraits, o.maxTraitsSet = n, true }
}

// WithMaxHosts sets how many hosts HTML lists with their findings, the
// outliers first, most telling first (the table of every host lists them
// all); negative means all. Default: DefaultHTMLMaxHosts.
func WithMaxHosts(n int) Option {
	return func(o *options) { o.MaxHosts, o.maxHostsSet = n, true }
}

// WithOpen sets how many outliers HTML shows unfolded at the top, from 0.
// Default: DefaultHTMLOpen.
func WithOpen(n int) Option { return func(o *options) { o.Open, o.openSet = n, true } }

// WithMinMapHosts sets the smallest number of hosts HTML draws a map for,
// from 1. Default: DefaultHTMLMinMapHosts.
func WithMinMapHosts(n int) Option {
	return func(o *options) { o.MinMapHosts, o.minMapSet = n, true }
}

// WithTableRows sets how many rows HTML's table of every host shows before
// a search or a click asks for more; negative means all. Default:
// DefaultHTMLTableRows.
func WithTableRows(n int) Option {
	return func(o *options) { o.TableRows, o.tableRowsSet = n, true }
}

// WithWidth sets the width of Table's lines in terminal columns, at least
// MinWidth. Default: DefaultWidth.
func WithWidth(cols int) Option { return func(o *options) { o.Width, o.widthSet = cols, true } }

// WithVerbose makes Table list each cluster's traits (not one line per
// cluster) and fold long rows onto more lines instead of cutting them.
// Default: false.
func WithVerbose(v bool) Option { return func(o *options) { o.Verbose = v } }

// resolve applies opts and fills in the defaults, with maxFindings the
// writer's default for MaxFindings. A setting out of its range is an error
// matching diffyerr.ErrInvalidInput.
func resolve(opts []Option, maxFindings int) (options, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	switch {
	case o.openSet && o.Open < 0:
		return o, fmt.Errorf("render: %d outliers unfolded: must be 0 or more: %w", o.Open, diffyerr.ErrInvalidInput)
	case o.minMapSet && o.MinMapHosts < 1:
		return o, fmt.Errorf("render: a map from %d hosts: must be at least 1: %w", o.MinMapHosts, diffyerr.ErrInvalidInput)
	case o.widthSet && o.Width < MinWidth:
		return o, fmt.Errorf("render: a table %d columns wide: must be at least %d: %w", o.Width, MinWidth, diffyerr.ErrInvalidInput)
	}
	if !o.maxFindingsSet {
		o.MaxFindings = maxFindings
	}
	if !o.maxTraitsSet {
		o.MaxTraits = DefaultMaxTraits
	}
	if !o.maxHostsSet {
		o.MaxHosts = DefaultHTMLMaxHosts
	}
	if !o.openSet {
		o.Open = DefaultHTMLOpen
	}
	if !o.minMapSet {
		o.MinMapHosts = DefaultHTMLMinMapHosts
	}
	if !o.tableRowsSet {
		o.TableRows = DefaultHTMLTableRows
	}
	if !o.widthSet {
		o.Width = DefaultWidth
	}
	return o, nil
}
