// Command deadendpoint measures how long the diffy CLI takes to fail when
// its AWS endpoint is dead: one that accepts connections and never
// answers, and one that refuses them (issue 10.6). It runs a built diffy
// binary as a user would,
//
//	diffy baseline web --target asg --collector ssm --region us-east-1
//
// with AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL_SSM pointing at each
// dead endpoint on loopback, and prints the time to exit, the exit status
// and the last line of stderr. A run still going after -limit is killed
// and reported as such.
//
// Usage:
//
//	go build -o /tmp/diffy ./examples/diffy
//	go run ./bench/deadendpoint -diffy /tmp/diffy [-limit 5m]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	bin := flag.String("diffy", "", "the diffy binary to run")
	limit := flag.Duration("limit", 5*time.Minute, "kill a run still going after this long")
	flag.Parse()
	if *bin == "" {
		log.Fatal("deadendpoint: -diffy BINARY is required")
	}
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var held []net.Conn
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never answered
		}
	}()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	fmt.Println("| endpoint | time to fail | exit | last line of stderr |")
	fmt.Println("|---|---:|---:|---|")
	for _, c := range []struct{ name, addr string }{
		{"accepts, never answers", silent.Addr().String()},
		{"refuses connections", refused},
	} {
		took, code, line := run(*bin, "http://"+c.addr, *limit)
		fmt.Printf("| %s | %s | %s | `%s` |\n", c.name, took, code, line)
	}
}

// run runs the CLI against endpoint and returns how long it took, its exit
// status and the last line of its stderr.
func run(bin, endpoint string, limit time.Duration) (took, code, line string) {
	store, err := os.MkdirTemp("", "deadendpoint-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(store)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "baseline", "web", "--target", "asg", "--collector", "ssm",
		"--region", "us-east-1", "--store", store)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + store,
		"AWS_ENDPOINT_URL_EC2=" + endpoint, "AWS_ENDPOINT_URL_SSM=" + endpoint,
		"AWS_ACCESS_KEY_ID=AKIAAWSFAKEEXAMPLE00", "AWS_SECRET_ACCESS_KEY=deadendpoint/not/a/real/secret/key",
		"AWS_CONFIG_FILE=" + store + "/none", "AWS_SHARED_CREDENTIALS_FILE=" + store + "/none",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	took = time.Since(start).Round(100 * time.Millisecond).String()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return "killed after " + took, "-", "(still waiting)"
	case errors.As(err, &exit):
		code = fmt.Sprint(exit.ExitCode())
	case err != nil:
		log.Fatal(err)
	default:
		code = "0"
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	return took, code, lines[len(lines)-1]
}
