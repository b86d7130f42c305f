package redact_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/diffy-dfir/diffy/redact"
)

// sdkErrors returns the text of errors the real AWS SDK returns when
// credentials, profiles, endpoints or the API refuse: a corpus of
// ordinary error messages (full of "credentials", "token", "signature")
// that hold no secret. They are made here, by the SDK, on loopback: the
// credential chain with nothing to find, a missing profile, a failing
// credential_process, a missing web identity token file, an SSO session
// never logged in, a refused connection, a deadline, and API error answers
// (their messages as AWS writes them) parsed by each service's client.
func sdkErrors(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config")
	conf := "[profile proc]\ncredential_process = /bin/false\n" +
		"[profile webid]\nrole_arn = arn:aws:iam::123456789012:role/IR\nweb_identity_token_file = " + filepath.Join(dir, "no-token") + "\n" +
		"[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = IR\n" +
		"[sso-session corp]\nsso_region = us-east-1\nsso_start_url = https://corp.awsapps.com/start\n"
	if err := os.WriteFile(cfgFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": cfgFile, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
	} {
		t.Setenv(k, v)
	}
	var msgs []string
	add := func(what string, err error) {
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		msgs = append(msgs, err.Error())
	}
	refused := func() string { // a loopback port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	noRetry := func(o *sts.Options) { o.RetryMaxAttempts = 1; o.BaseEndpoint = aws.String(refused) }

	// The credential chain with nothing to find, and each kind of profile
	// failing.
	for _, profile := range []string{"", "proc", "webid", "sso"} {
		cfg, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigProfile(profile))
		if err != nil {
			add("profile "+profile, err)
			continue
		}
		_, err = sts.NewFromConfig(cfg, noRetry).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		add("GetCallerIdentity with profile "+profile, err)
	}
	_, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigProfile("no-such-profile"))
	add("missing profile", err)

	static := config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(accessKeyID, secretKey, ""))
	cfg, err := config.LoadDefaultConfig(ctx, static, config.WithRetryMaxAttempts(2))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(refused) }).
		SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript")})
	add("refused", err)
	dctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	<-dctx.Done()
	_, err = ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(refused) }).DescribeInstances(dctx, &ec2.DescribeInstancesInput{})
	add("deadline", err)

	// API errors, as each service writes them.
	answer := func(status int, ctype, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("x-amzn-RequestId", "5d2a7b5c-1c4e-4f3e-9a57-1f2b3c4d5e6f")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	ssmErr := func(code, msg string) {
		url := answer(400, "application/x-amz-json-1.1", fmt.Sprintf(`{"__type":%q,"message":%q}`, code, msg))
		_, err := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(url); o.RetryMaxAttempts = 1 }).
			SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript")})
		add(code, err)
	}
	ssmErr("ExpiredTokenException", "The security token included in the request is expired")
	ssmErr("UnrecognizedClientException", "The security token included in the request is invalid.")
	ssmErr("InvalidSignatureException", "Signature expired: 20261126T120000Z is now earlier than 20261126T120500Z (20261126T121000Z - 5 min.)")
	ssmErr("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/IR/diffy is not authorized to perform: ssm:SendCommand "+
		"on resource: arn:aws:ssm:us-east-1::document/AWS-RunShellScript because no identity-based policy allows the ssm:SendCommand action")
	ssmErr("MissingAuthenticationTokenException", "Missing Authentication Token")
	ssmErr("IncompleteSignatureException", "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter.")

	stsURL := answer(403, "text/xml", `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>`+
		`<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error>`+
		`<RequestId>5d2a7b5c-1c4e-4f3e-9a57-1f2b3c4d5e6f</RequestId></ErrorResponse>`)
	_, err = sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(stsURL); o.RetryMaxAttempts = 1 }).
		GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	add("InvalidClientTokenId", err)

	ec2URL := answer(401, "text/xml", `<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors><RequestID>5d2a7b5c-1c4e-4f3e-9a57-1f2b3c4d5e6f</RequestID></Response>`)
	_, err = ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(ec2URL); o.RetryMaxAttempts = 1 }).
		DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	add("AuthFailure", err)

	s3URL := answer(403, "application/xml", `<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message><RequestId>5D2A7B5C1C4E4F3E</RequestId><HostId>dGVzdA==</HostId></Error>`)
	_, err = s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(s3URL); o.UsePathStyle = true; o.RetryMaxAttempts = 1 }).
		GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	add("SignatureDoesNotMatch", err)
	return msgs
}

// TestSDKErrorsKept: redaction leaves the AWS SDK's own error messages as
// they are, in String and through NewHandler (as a message, a string and
// an error), and they held no secret to begin with.
func TestSDKErrorsKept(t *testing.T) {
	msgs := sdkErrors(t)
	for _, msg := range msgs {
		t.Log(msg)
		for _, s := range secrets {
			if strings.Contains(msg, s) {
				t.Fatalf("the corpus holds a secret: %q", msg)
			}
		}
		if got := redact.String(msg); got != msg {
			t.Errorf("String changed an SDK error:\n  in %q\n got %q", msg, got)
		}
		var plain, red bytes.Buffer
		log := func(l *slog.Logger) { l.Error(msg, "text", msg, "err", fmt.Errorf("diffy: %s", msg)) }
		log(slog.New(slog.NewJSONHandler(&plain, nil)))
		log(slog.New(redact.NewHandler(slog.NewJSONHandler(&red, nil))))
		if strip(red.String()) != strip(plain.String()) {
			t.Errorf("NewHandler changed a record of an SDK error:\n got %s\nwant %s", red.String(), plain.String())
		}
	}
	if len(msgs) < 15 {
		t.Errorf("%d messages: the corpus lost cases", len(msgs))
	}
}

// strip drops a JSON record's time.
func strip(rec string) string {
	if i := strings.Index(rec, `"level"`); i >= 0 {
		return rec[i:]
	}
	return rec
}
