// Package inventory defines the Inventory plugin, which lists the target
// keys that should have a baseline, and the dependency-free Static. The EC2
// inventory (newly launched Auto Scaling groups) lives in
// inventory/ec2inventory.
//
// # Testing
//
// diffytest.TestInventory runs the Inventory contract against any
// implementation.
package inventory
