package analyze_test

import (
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest"
)

// TestClusteringSuite runs the Analyzer conformance suite on Clustering.
func TestClusteringSuite(t *testing.T) {
	diffytest.TestAnalyzer(t, func(t *testing.T) analyze.Analyzer { return analyze.Clustering{} })
}
