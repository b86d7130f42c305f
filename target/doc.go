// Package target defines the Target plugin, which turns a key into the
// instances to collect from, and its dependency-free implementations.
//
// Local stands for this machine (the keys "local" and "localhost"); Static
// serves fixed lists of instances. The EC2 implementation (Auto Scaling
// groups, tags, instance IDs) lives in package target/ec2target so that this
// package imports no AWS code.
//
// # Errors
//
// An unknown key is an error matching diffyerr.ErrNotFound, with the key in
// its message.
//
// # Testing
//
// diffytest.TestTarget runs the Target contract against any implementation.
package target
