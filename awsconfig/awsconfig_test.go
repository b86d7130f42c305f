package awsconfig_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/diffy-dfir/diffy/awsconfig"
)

// TestProfileAndRegion loads a profile from a shared config file.
func TestProfileAndRegion(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config")
	if err := os.WriteFile(cfgFile, []byte("[profile ir]\nregion = eu-west-3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Profile: "ir"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-3" {
		t.Errorf("region %q, want the profile's eu-west-3", cfg.Region)
	}
	cfg, err = awsconfig.Load(context.Background(), awsconfig.Options{Profile: "ir", Region: "us-west-2"})
	if err != nil || cfg.Region != "us-west-2" {
		t.Errorf("region override: %q %v", cfg.Region, err)
	}
	if _, err := awsconfig.Load(context.Background(), awsconfig.Options{Profile: "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown profile: %v", err)
	}
	if cfg.Retryer == nil || cfg.Retryer().MaxAttempts() != awsconfig.DefaultMaxAttempts {
		t.Error("the retryer is not Diffy's")
	}
}

// TestAssumeRole assumes a role through an STS endpoint on loopback (the
// real STS client and stscreds provider): the credentials are the role's.
func TestAssumeRole(t *testing.T) {
	var calls atomic.Int32
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), "Action=AssumeRole") || !strings.Contains(string(body), "RoleSessionName=diffy") ||
			!strings.Contains(string(body), "arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2FIR") {
			http.Error(w, "unexpected request "+string(body), 400)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAROLEEXAMPLE00000</AccessKeyId><SecretAccessKey>rolesecret</SecretAccessKey>
<SessionToken>roletoken</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/IR/diffy</Arn><AssumedRoleId>AROA:diffy</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`)
	}))
	defer sts.Close()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{
		Region: "us-east-1", RoleARN: "arn:aws:iam::210987654321:role/IR", Endpoint: sts.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIABASEEXAMPLE00000", "base", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIAROLEEXAMPLE00000" || creds.SessionToken != "roletoken" {
		t.Errorf("credentials %+v are not the role's", creds)
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil || calls.Load() != 1 {
		t.Errorf("second Retrieve: %v, %d AssumeRole calls (want 1: cached)", err, calls.Load())
	}
	var _ aws.CredentialsProvider = cfg.Credentials
}
