// Package analyze defines the Analyzer plugin, which turns collected
// Results into a Report, the Report format itself, and the analyzers
// Baseline (row diff against one clean host) and Cluster (no clean host
// needed).
//
// # Testing
//
// diffytest.TestAnalyzer runs the Analyzer contract against any
// implementation.
package analyze
