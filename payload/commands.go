package payload

import (
	"context"
	"fmt"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// Commands is a Payload of a fixed list of commands. Generate checks the
// list (Validate) and returns a copy of it. The incident ID is not used.
type Commands []Command

// Generate returns a copy of the list after checking it with Validate.
func (c Commands) Generate(ctx context.Context, incident string) ([]Command, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := Validate(c); err != nil {
		return nil, err
	}
	return append([]Command(nil), c...), nil
}

// ValidID reports whether id can be a command ID: 1 to 64 characters, each
// a lower-case ASCII letter, a digit, '_' or '-'.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Validate checks a list of commands: at least one, every ID valid
// (ValidID) and unique, and each command with a Query or a Shell script.
// Errors match diffyerr.ErrInvalidInput and name the command.
func Validate(cmds []Command) error {
	if len(cmds) == 0 {
		return fmt.Errorf("payload has no command: %w", diffyerr.ErrInvalidInput)
	}
	seen := make(map[string]bool, len(cmds))
	for i, c := range cmds {
		if !ValidID(c.ID) {
			return fmt.Errorf("command %d: ID %q is not 1-64 of [a-z0-9_-]: %w", i+1, c.ID, diffyerr.ErrInvalidInput)
		}
		if seen[c.ID] {
			return fmt.Errorf("command %q appears twice: %w", c.ID, diffyerr.ErrInvalidInput)
		}
		seen[c.ID] = true
		if c.Query == "" && c.Shell == "" {
			return fmt.Errorf("command %q has neither a query nor a shell script: %w", c.ID, diffyerr.ErrInvalidInput)
		}
	}
	return nil
}
