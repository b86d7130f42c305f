package main

import (
	"context"
	"errors"
	"io"
)

// runDemo runs `diffy demo ARGS`.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("the demo is not built in yet: it needs the AWS plugins")
}
