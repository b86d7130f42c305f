package diffy

// Progress reports how far a run has got, to the function given to
// WithProgress.
type Progress struct {
	// Stage is "target" (instances found: Done = Total = their number),
	// "collect" (Done of Total instances collected, reported before the
	// first batch and after each), "analyze" (0 of 1 before the analysis,
	// 1 of 1 after) or "inventory" (Done of Total entries handled).
	Stage string
	// Done and Total count the stage's units.
	Done, Total int
	// Failed counts, of the Done units of stage "collect", the instances
	// with at least one Result that is not OK (collect.Result.OK): a
	// command failed, was cut, or could not be delivered. Other stages
	// leave it 0.
	Failed int
}

// report calls the progress function, if there is one.
func (d *Diffy) report(stage string, done, total int) {
	d.reportFailed(stage, done, total, 0)
}

// reportFailed is report with a count of failed instances.
func (d *Diffy) reportFailed(stage string, done, total, failed int) {
	if d.progress != nil {
		d.progress(Progress{Stage: stage, Done: done, Total: total, Failed: failed})
	}
}
