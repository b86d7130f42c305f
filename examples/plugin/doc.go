// Package plugin is a worked example of custom Diffy plugins, written,
// wired and tested the way docs/plugins.md describes.
//
// FileTarget is a Target (and an Inventory) read from a CSV inventory
// file, the kind an incident team keeps when its fleet is not in one cloud
// account:
//
//	# key,instance_id,name,region,role
//	payments,i-0a1b2c3d4e5f60001,pay-1,eu-west-1,api
//	payments,i-0a1b2c3d4e5f60002,pay-2,eu-west-1,api
//	ledger,i-0a1b2c3d4e5f60009,ledger-1,eu-west-1,db
//
// Extended is a Payload that adds queries of its own to another payload:
// WithQueries(payload.Osquery{}, SUIDBinaries(), SystemdUnits()) collects
// the standard pack plus setuid binaries and systemd units, two places
// attackers hide that the standard pack does not look at.
//
// Both are wired through diffy.New with diffy.WithTarget, diffy.WithPayload
// and diffy.WithInventory; the package's tests run them through the
// diffytest suites and through a whole baseline-and-analyze run.
//
// # Errors
//
// A key the file does not hold matches diffyerr.ErrNotFound and names the
// key and the file; a key that cannot appear in the file (empty, with a
// comma, a quote or a control character) matches diffyerr.ErrInvalidKey; a
// malformed file matches diffyerr.ErrInvalidInput and names the file and
// line. A file that cannot be read keeps its os error (errors.Is(err,
// fs.ErrNotExist) for a missing one).
//
// # Testing
//
// plugin_test.go shows the suites at work: diffytest.TestTarget and
// diffytest.TestInventory on FileTarget, diffytest.TestPayload on
// Extended, and a run of diffy.Diffy with a diffytest.FakeCollector.
package plugin
