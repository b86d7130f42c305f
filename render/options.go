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
	// Title heads the HTML page.
	Title string
	// MaxOutliers, MaxFindings and MaxTraits cap what is listed; negative
	// means all.
	MaxOutliers, MaxFindings, MaxTraits int
	// MaxPoints bounds the hosts drawn on the HTML map.
	MaxPoints int
	// MapWidth and MapHeight size the HTML map in points.
	MapWidth, MapHeight float64

	maxOutliersSet, maxFindingsSet, maxTraitsSet, maxPointsSet, mapSizeSet bool
}

// WithTitle sets the title heading the HTML page. Default: "Diffy report:
// KEY".
func WithTitle(title string) Option { return func(o *options) { o.Title = title } }

// WithMaxOutliers sets how many outliers HTML lists with their findings,
// highest score first; negative means all. Default:
// DefaultHTMLMaxOutliers.
func WithMaxOutliers(n int) Option {
	return func(o *options) { o.MaxOutliers, o.maxOutliersSet = n, true }
}

// WithMaxFindings sets how many findings are shown per outlier (the rest
// are counted); negative means all. Default: DefaultMaxFindings.
func WithMaxFindings(n int) Option {
	return func(o *options) { o.MaxFindings, o.maxFindingsSet = n, true }
}

// WithMaxTraits sets how many traits Table shows per cluster (the rest are
// counted); negative means all. Default: DefaultMaxTraits.
func WithMaxTraits(n int) Option {
	return func(o *options) { o.MaxTraits, o.maxTraitsSet = n, true }
}

// WithMaxPoints bounds the hosts drawn on the HTML map: every outlier, and
// the others evenly sampled. n must be positive; Table and HTML refuse
// anything else. Default: DefaultHTMLMaxPoints.
func WithMaxPoints(n int) Option {
	return func(o *options) { o.MaxPoints, o.maxPointsSet = n, true }
}

// WithMapSize sets the size of the HTML map in points (1/72 inch); both
// must be positive, Table and HTML refuse anything else. Default:
// DefaultHTMLMapWidth × DefaultHTMLMapHeight.
func WithMapSize(width, height float64) Option {
	return func(o *options) { o.MapWidth, o.MapHeight, o.mapSizeSet = width, height, true }
}

// resolve applies opts and fills in the defaults. A setting out of its
// range is an error matching diffyerr.ErrInvalidInput.
func resolve(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	switch {
	case o.maxPointsSet && o.MaxPoints <= 0:
		return o, fmt.Errorf("render: map points %d: must be at least 1: %w", o.MaxPoints, diffyerr.ErrInvalidInput)
	case o.mapSizeSet && !(o.MapWidth > 0 && o.MapHeight > 0):
		return o, fmt.Errorf("render: map size %g×%g: both must be positive: %w", o.MapWidth, o.MapHeight, diffyerr.ErrInvalidInput)
	}
	if !o.maxOutliersSet {
		o.MaxOutliers = DefaultHTMLMaxOutliers
	}
	if !o.maxFindingsSet {
		o.MaxFindings = DefaultMaxFindings
	}
	if !o.maxTraitsSet {
		o.MaxTraits = DefaultMaxTraits
	}
	if !o.maxPointsSet {
		o.MaxPoints = DefaultHTMLMaxPoints
	}
	if !o.mapSizeSet {
		o.MapWidth, o.MapHeight = DefaultHTMLMapWidth, DefaultHTMLMapHeight
	}
	return o, nil
}
