// Package diffyerr holds the error kinds shared by every Diffy package and
// plugin.
//
// Plugins return these sentinels (wrapped with %w and a message naming the
// input) so that callers can match them with errors.Is whatever plugin
// produced them. Package diffy re-exports them as diffy.ErrNotFound and so on;
// they are the same values.
//
// This package imports nothing from Diffy, so a plugin author can use it
// without compiling any other part of the module.
package diffyerr

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound means the thing asked for does not exist: an unknown
	// target key, an Auto Scaling group with no running instance, a store
	// document that was never written.
	ErrNotFound = errors.New("not found")

	// ErrNoBaseline means an analyzer needs a baseline and none is stored
	// for the key.
	ErrNoBaseline = errors.New("no baseline")

	// ErrInvalidKey means a key (of a target or of a store document) is
	// malformed or could escape its namespace: empty, containing a path
	// separator, "..", a NUL byte, or an absolute path.
	ErrInvalidKey = errors.New("invalid key")

	// ErrInvalidInput means input from outside (a file, a host's output, a
	// flag) could not be understood. The wrapping message names the input
	// and the problem.
	ErrInvalidInput = errors.New("invalid input")
)

// StageError says which stage of a run failed and which plugin failed it.
// It wraps the plugin's error, so errors.Is and errors.As see through it.
type StageError struct {
	// Stage is the step of the run: "target", "payload", "collect",
	// "persist", "analyze" or "inventory".
	Stage string
	// Plugin names the plugin, normally its Go type (for example
	// "*persist.Dir").
	Plugin string
	// Err is the plugin's error.
	Err error
}

// Error returns "STAGE (PLUGIN): ERR".
func (e *StageError) Error() string {
	if e.Plugin == "" {
		return fmt.Sprintf("%s: %v", e.Stage, e.Err)
	}
	return fmt.Sprintf("%s (%s): %v", e.Stage, e.Plugin, e.Err)
}

// Unwrap returns the plugin's error.
func (e *StageError) Unwrap() error { return e.Err }
