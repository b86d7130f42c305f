// Package payload defines the Payload plugin, which says what to run on
// every instance, and its dependency-free implementations.
//
// A payload is a list of Commands, each with a stable ID. Output is always
// kept apart per command ID: the original Diffy ran every query in one shell
// and parsed stdout as one JSON document, which broke with two queries.
//
// Osquery is the standard pack (listening ports with their process,
// processes, crontab, kernel modules, users, authorized keys), plus any
// queries of the caller's; Commands is a fixed list.
//
// # Defaults
//
// diffy.New uses Osquery{} when no payload is set.
//
// # Security
//
// Commands never carry credentials: the original put the operator's AWS keys
// into the script sent to every host. OsqueryShell needs none.
//
// Hosts without osqueryi can download it when asked (OsqueryFetch,
// FetchPayload): from a URL that needs no credential, an S3 presigned URL
// typically, and only an executable whose SHA-256 digest matches the one
// given ever runs, from a cache folder that no other user of the host can
// change (the script checks every folder on the way, from /). Without it,
// an osquery command on such a host exits with ExitNoOsquery and its
// Result says that osqueryi is missing; with it, a copy that cannot be
// fetched or trusted exits with ExitFetchFailed and the Result says why.
//
// # Testing
//
// diffytest.TestPayload runs the Payload contract against any implementation.
package payload
