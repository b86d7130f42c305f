package target

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// LocalID is the instance ID of this machine, as Local reports it and as
// collect.Local expects it.
const LocalID = "local"

// Local is the Target for this machine. It answers the keys "local" and
// "localhost" with one Instance whose ID is LocalID, named by the host name.
// The zero value is ready to use.
type Local struct{}

// Targets returns this machine for the keys "local" and "localhost".
func (Local) Targets(ctx context.Context, key string) ([]Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if key != "local" && key != "localhost" {
		return nil, fmt.Errorf("target %q: the local target knows only \"local\" and \"localhost\": %w", key, diffyerr.ErrNotFound)
	}
	name, _ := os.Hostname()
	inst := Instance{ID: LocalID, Name: name, Tags: map[string]string{"os": runtime.GOOS}}
	if ip := firstPrivateIP(); ip != "" {
		inst.PrivateIP = ip
	}
	return []Instance{inst}, nil
}

// firstPrivateIP returns this machine's first non-loopback IPv4 address, or
// "" when there is none.
func firstPrivateIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}
