package analyze_test

import (
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest"
)

// Baseline passes the Analyzer conformance suite plugin authors use.
func TestBaselineSuite(t *testing.T) {
	diffytest.TestAnalyzer(t, func(t *testing.T) analyze.Analyzer { return analyze.Baseline{} })
}
