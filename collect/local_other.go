//go:build !unix

package collect

import "os/exec"

// setProcessGroup leaves cmd as it is: without Unix process groups,
// cancelling kills the command's own process only (exec.CommandContext's
// default), and Cmd.WaitDelay bounds the wait for its children.
func setProcessGroup(cmd *exec.Cmd) {}

// killGroup kills cmd's process.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
