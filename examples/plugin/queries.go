package plugin

import (
	"context"
	"fmt"
	"slices"

	"github.com/diffy-dfir/diffy/payload"
)

// SUIDBinaries returns the osquery command "suid_binaries": the setuid and
// setgid binaries of the host (path, username, groupname, permissions). A
// root shell copy with the setuid bit is a classic way back in.
func SUIDBinaries() payload.Command {
	return payload.QueryCommand("suid_binaries",
		"setuid and setgid binaries: path, username, groupname, permissions",
		"SELECT path, username, groupname, permissions FROM suid_bin;")
}

// SystemdUnits returns the osquery command "systemd_units": the host's
// systemd units (id, description, load_state, active_state, sub_state,
// fragment_path), where persistence hides as a service.
func SystemdUnits() payload.Command {
	return payload.QueryCommand("systemd_units",
		"systemd units: id, description, load_state, active_state, sub_state, fragment_path",
		"SELECT id, description, load_state, active_state, sub_state, fragment_path FROM systemd_units;")
}

// Extended is a Payload of Base's commands followed by Extra. It keeps the
// Payload contract whatever Base does: its answer is checked with
// payload.Validate, so an Extra command whose ID Base already uses is an
// error naming it, not a second command of that ID.
type Extended struct {
	// Base gives the first commands.
	Base payload.Payload
	// Extra are added after Base's commands.
	Extra []payload.Command
}

var _ payload.Payload = Extended{}

// WithQueries returns the Payload of base's commands followed by extra.
func WithQueries(base payload.Payload, extra ...payload.Command) Extended {
	return Extended{Base: base, Extra: slices.Clone(extra)}
}

// Generate returns Base's commands followed by Extra.
func (e Extended) Generate(ctx context.Context, incident string) ([]payload.Command, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.Base == nil {
		return nil, fmt.Errorf("extended payload: no base payload")
	}
	cmds, err := e.Base.Generate(ctx, incident)
	if err != nil {
		return nil, fmt.Errorf("extended payload: base: %w", err)
	}
	cmds = append(slices.Clone(cmds), e.Extra...)
	if err := payload.Validate(cmds); err != nil {
		return nil, fmt.Errorf("extended payload: %w", err)
	}
	return cmds, nil
}
