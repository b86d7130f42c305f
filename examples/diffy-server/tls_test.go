package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "diffy-server test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestMainTLS: with a certificate the server speaks HTTPS only (a plain
// HTTP request gets no API answer), and the token is still required.
func TestMainTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	t.Setenv(TokenEnv, testToken)
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	code := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		code <- run(ctx, []string{"--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--store", t.TempDir()},
			io.Discard, &syncWriter{w: &stderr}, func(a string) { addr <- a })
	}()
	var a string
	select {
	case a = <-addr:
	case c := <-code:
		t.Fatalf("exit %d: %s", c, stderr.String())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	tokenRequired(t, client, "https://"+a+"/v1/jobs")
	req, _ := http.NewRequest("GET", "http://"+a+"/v1/jobs", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP to the TLS port answered 200: %s", b)
		}
	}
	cancel()
	if c := <-code; c != 0 {
		t.Errorf("exit %d: %s", c, stderr.String())
	}
}

// TestUsage: the command line is checked before anything starts; each
// mistake is a usage error (status 2) saying what to do.
func TestUsage(t *testing.T) {
	t.Setenv(TokenEnv, testToken)
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--listen", "0.0.0.0:8470"}, "--tls-cert"},
		{[]string{"--listen", "nonsense"}, "HOST:PORT"},
		{[]string{"--tls-cert", "c.pem"}, "go together"},
		{[]string{"--collector", "ssm"}, "EC2 target"},
		{[]string{"--watch-inventory"}, "--target asg"},
		{[]string{"--jobs", "0"}, "--jobs"},
		{[]string{"--target", "moon"}, "unknown --target"},
		{[]string{"extra"}, "no arguments"},
		{[]string{"--osquery-url", "https://x.example/o"}, "go together"},
		{[]string{"--osquery-url", "https://x.example/o", "--osquery-sha256", strings.Repeat("a", 64)}, "applies to --collector ssm"},
		{[]string{"--job-retention", "-1"}, "--job-retention"},
		{[]string{"--max-streams", "0"}, "--max-streams"},
		{[]string{"--max-conns", "0"}, "--max-conns"},
		{[]string{"--target", "asg", "--collector", "ssm", "--store", "s3://b/diffy", "--output-bucket", "b"}, "lies under --output-bucket"},
		{[]string{"--target", "asg", "--collector", "ssm", "--store", "s3://b/out/store", "--output-bucket", "s3://b/out/"}, "lies under --output-bucket"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), c.args, io.Discard, &stderr, nil); code != 2 || !strings.Contains(stderr.String(), c.says) {
			t.Errorf("%v: exit %d, %q; want 2 saying %q", c.args, code, stderr.String(), c.says)
		}
	}
	t.Setenv(TokenEnv, "short")
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--store", t.TempDir()}, io.Discard, &stderr, nil); code != 1 || !strings.Contains(stderr.String(), TokenEnv) {
		t.Errorf("a short token: exit %d, %q", code, stderr.String())
	}
}

// TestStoreUnderOutput: a store is under the SSM output location when it
// is in the output's bucket at or below its prefix (every instance may
// write there); beside it, or in another bucket, it is not.
func TestStoreUnderOutput(t *testing.T) {
	for _, c := range []struct {
		store, output string
		under         bool
	}{
		{"s3://b", "b", true},
		{"s3://b/p", "b", true},
		{"s3://b/out", "s3://b/out", true},
		{"s3://b/out/store/", "b/out/", true},
		{"s3://b/outside", "b/out", false},
		{"s3://b/store", "b/out", false},
		{"s3://b", "b/out", false},
		{"s3://c/out", "b/out", false},
		{"/var/lib/diffy", "b", false},
		{"s3://b", "", false},
	} {
		if got := storeUnderOutput(c.store, c.output); got != c.under {
			t.Errorf("store %q, output %q: under %v, want %v", c.store, c.output, got, c.under)
		}
	}
}
