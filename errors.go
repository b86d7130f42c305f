package diffy

import (
	"errors"
	"fmt"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// The error kinds of Diffy, the same values as package diffyerr's, so that
// errors.Is matches them whichever plugin returned them.
var (
	// ErrNotFound: an unknown target key, an instance that is not among the
	// key's instances, a document never stored.
	ErrNotFound = diffyerr.ErrNotFound
	// ErrNoBaseline: the analyzer needs a baseline and none is stored for
	// the key.
	ErrNoBaseline = diffyerr.ErrNoBaseline
	// ErrInvalidKey: a target or store key that is malformed or could
	// escape the store.
	ErrInvalidKey = diffyerr.ErrInvalidKey
	// ErrInvalidInput: input from outside (a file, an option, a host's
	// output) that could not be understood.
	ErrInvalidInput = diffyerr.ErrInvalidInput
)

// ErrAllFailed means every command of a collection failed, so there is
// nothing to keep as a baseline. Baseline returns it (with the Results, so
// that the caller can see why each failed) and stores nothing.
var ErrAllFailed = errors.New("every command failed")

// ErrStopped is the cause of the *IncompleteError of a collection that
// stopped at a batch boundary because the channel of WithStopAfterBatch
// was closed.
var ErrStopped = errors.New("stopped at a batch boundary")

// StageError says which stage of a run failed and which plugin failed it.
// Every error of a plugin reaches the caller wrapped in one, so
// errors.As(err, &stageErr) tells "collect (*ssmcollect.Collector)" from
// "persist (*persist.Dir)", and errors.Is still sees the plugin's own error.
type StageError = diffyerr.StageError

// IncompleteError is returned by Collect and Analyze when a collection
// stopped before every instance was collected: the context was cancelled, or
// the collector or the store failed part way. Everything collected before
// the stop has been kept in the store as parts (see Diffy.Partial), and
// Results holds it too. Running again with the same incident ID (see
// WithIncident) resumes: instances already collected are not asked again.
//
// It unwraps to its cause, so errors.Is(err, context.Canceled) and
// errors.As(err, &stageErr) work through it.
type IncompleteError struct {
	// Key is the target key of the run; Incident its incident ID.
	Key, Incident string
	// Done is how many instances were collected; Total how many the
	// target named.
	Done, Total int
	// Results holds every Result collected before the stop (instances not
	// reached have none).
	Results []collect.Result
	// Err is the cause: the context's error, or a *StageError.
	Err error
}

// Error says what stopped the run, how far it got and how to resume.
func (e *IncompleteError) Error() string {
	return fmt.Sprintf("collection of %q stopped after %d of %d instances (kept in the store as incident %s; run again with that incident to resume): %v",
		e.Key, e.Done, e.Total, e.Incident, e.Err)
}

// Unwrap returns the cause.
func (e *IncompleteError) Unwrap() error { return e.Err }

// stageErr wraps a plugin's error in a *StageError naming the stage and the
// plugin's Go type; nil stays nil.
func stageErr(stage string, plugin any, err error) error {
	if err == nil {
		return nil
	}
	return &StageError{Stage: stage, Plugin: fmt.Sprintf("%T", plugin), Err: err}
}
