// Package diffytest is what a plugin author imports to prove a Diffy
// plugin right: a conformance suite for each of the six plugin interfaces,
// in-memory fakes of all six, and function adapters for quick stubs. The
// simulated fleet (instances and their osquery rows, with roles, benign
// variation and planted anomalies) is in package diffytest/fleet, and
// in-process AWS endpoints are in diffytest/awsfake.
//
// # Suites
//
// Each interface has one entry point taking a *testing.T and a
// constructor, which runs every rule of the interface's contract as a
// named subtest on a fresh plugin, and an error-returning form without
// *testing.T that joins every violation, as testing/slogtest and
// testing/fstest.TestFS do:
//
//	TestTarget(t, func(*testing.T) TargetHarness)              CheckTarget
//	TestPayload(t, func(*testing.T) payload.Payload)           CheckPayload
//	TestCollector(t, func(*testing.T) CollectorHarness)        CheckCollector
//	TestStore(t, func(*testing.T) persist.Store)               CheckStore
//	TestAnalyzer(t, func(*testing.T) analyze.Analyzer)         CheckAnalyzer
//	TestInventory(t, func(*testing.T) inventory.Inventory)     CheckInventory
//
// The doc comment of each entry point lists its rules; every rule comes
// from the doc comment of the interface (target.Target, payload.Payload,
// collect.Collector, persist.Store, analyze.Analyzer, inventory.Inventory).
// A broken rule fails its subtest, or is a *Violation in the Check form's
// error, with a message naming the suite, the rule and what went wrong:
//
//	diffytest: Collector rule failing-instance: Collect with 2 failing
//	instances among 5: the run failed (instance unreachable), want each
//	failure in its instance's Results
//
// Violations and BrokenRules take a Check error apart. Rules that need
// something the harness does not give (a malformed key, a failing instance,
// a command that hangs) are skipped, and say so. A call that panics, or
// that does not return within HangTimeout, breaks the rule that made it
// rather than crashing or blocking the test binary; no rule measures
// speed.
//
// Harnesses are small. A Store needs nothing: the suite writes and reads
// its own documents. A Target needs a key that exists (and, optionally, the
// instance IDs it stands for), a key that does not, and optionally a
// malformed one. A Collector needs instances it can reach, commands that
// succeed there, and optionally instances that fail and a command that
// hangs until cancelled. Analyzers get fleets the suite builds itself
// (identical hosts, CleanRows, and a host with PlantedRow added); one that
// implements analyze.BaselineUser gets a clean host as in.Baseline.
//
// # Fakes
//
// FakeTarget, FakePayload, FakeCollector, FakeStore, FakeAnalyzer and
// FakeInventory are real in-memory plugins: they keep their contracts
// (each passes its own suite in this package's tests), are safe for
// concurrent use, record what they were asked (Calls, Incidents, Inputs)
// and return copies. FakeCollector answers from rows set per instance and
// command, from a simulated fleet (NewFleetCollector), or from raw output
// that it passes through collect.Limits.Fill as a real collector does; it
// can make instances fail and commands hang.
// FakeAnalyzer flags the rows that not every host has, or, with
// UseBaseline, the rows that differ from the baseline.
//
// TargetFunc, PayloadFunc, CollectorFunc, AnalyzerFunc, InventoryFunc and
// StoreFuncs turn functions into plugins, for a stub that does one thing.
//
// # Testing your plugin
//
// Say you wrote a Target that reads instances from your CMDB. In its
// package's tests, give the suite a constructor that builds a fresh one and
// says what it knows:
//
//	func TestCMDBTarget(t *testing.T) {
//		diffytest.TestTarget(t, func(t *testing.T) diffytest.TargetHarness {
//			db := newTestCMDB(t) // your fixture: a file, a test server on loopback
//			db.Add("payments", "i-0aaa", "i-0bbb")
//			return diffytest.TargetHarness{
//				Target:  cmdb.NewTarget(db.URL()),
//				Key:     "payments",
//				Want:    []string{"i-0aaa", "i-0bbb"},
//				Missing: "no-such-service",
//			}
//		})
//	}
//
// go test -race -v then prints one subtest per rule (known-key,
// no-duplicates, deterministic, unknown-key, malformed-key,
// cancelled-context, concurrent-use, returns-copies). Run with -race: the
// concurrent-use rules are there for the race detector to watch.
//
// A Store is simpler still:
//
//	diffytest.TestStore(t, func(t *testing.T) persist.Store {
//		return mystore.New(t.TempDir())
//	})
//
// A Collector names instances it can reach and commands that succeed
// there; to test the failure and cancellation rules too, add an instance
// it cannot reach and a command that hangs:
//
//	diffytest.TestCollector(t, func(t *testing.T) diffytest.CollectorHarness {
//		return diffytest.CollectorHarness{
//			Collector: myssh.New(sshConfigForTest(t)),
//			Instances: []target.Instance{{ID: "host-1"}, {ID: "host-2"}},
//			Commands:  []payload.Command{{ID: "hostname", Shell: `printf '[{"h":"%s"}]' "$(hostname)"`}},
//			Failing:   []target.Instance{{ID: "host-unreachable"}},
//			Hang:      &payload.Command{ID: "hang", Shell: "sleep 3600"},
//		}
//	})
//
// Outside go test (a command that vets a plugin, a table of plugins), the
// Check forms return the same findings as an error:
//
//	if err := diffytest.CheckStore(newStore); err != nil {
//		for _, v := range diffytest.Violations(err) {
//			log.Printf("%s: %v", v.Rule, v.Err)
//		}
//	}
//
// Every built-in implementation runs its suite in its own tests, and every
// later one must too. A suite passing does not make a plugin right (no
// suite knows what your Target's keys mean), but a suite failing means the
// plugin breaks a promise the rest of Diffy relies on.
//
// docs/plugins.md is the plugin author's guide: how to write a plugin, wire
// it with diffy.New, and test it; examples/plugin is a worked plugin with
// its tests.
package diffytest
