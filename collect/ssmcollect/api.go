package ssmcollect

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SendCommandAPI sends a Run Command; *ssm.Client implements it.
type SendCommandAPI interface {
	SendCommand(ctx context.Context, in *ssm.SendCommandInput, optFns ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
}

// ListCommandInvocationsAPI lists a command's invocations (the SDK's
// paginator takes it); *ssm.Client implements it.
type ListCommandInvocationsAPI interface {
	ListCommandInvocations(ctx context.Context, in *ssm.ListCommandInvocationsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error)
}

// GetCommandInvocationAPI reads one invocation's output; *ssm.Client
// implements it.
type GetCommandInvocationAPI interface {
	GetCommandInvocation(ctx context.Context, in *ssm.GetCommandInvocationInput, optFns ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error)
}

// CancelCommandAPI cancels a command; *ssm.Client implements it.
type CancelCommandAPI interface {
	CancelCommand(ctx context.Context, in *ssm.CancelCommandInput, optFns ...func(*ssm.Options)) (*ssm.CancelCommandOutput, error)
}

// DescribeInstanceInformationAPI tells which instances SSM manages (the
// SDK's paginator takes it); *ssm.Client implements it.
type DescribeInstanceInformationAPI interface {
	DescribeInstanceInformation(ctx context.Context, in *ssm.DescribeInstanceInformationInput, optFns ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error)
}

// GetObjectAPI reads an S3 object; *s3.Client implements it.
type GetObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var (
	_ SendCommandAPI                 = (*ssm.Client)(nil)
	_ ListCommandInvocationsAPI      = (*ssm.Client)(nil)
	_ GetCommandInvocationAPI        = (*ssm.Client)(nil)
	_ CancelCommandAPI               = (*ssm.Client)(nil)
	_ DescribeInstanceInformationAPI = (*ssm.Client)(nil)
	_ GetObjectAPI                   = (*s3.Client)(nil)
)

// Clients are the AWS clients the Collector calls, one field per
// operation, so that a caller (or NewFromConfig) can give each operation
// its own client, and with it its own adaptive retry token bucket: AWS
// throttles each API action on its own, and one bucket shared by all would
// slow SendCommand down when GetCommandInvocation is throttled.
type Clients struct {
	Send   SendCommandAPI
	List   ListCommandInvocationsAPI
	Get    GetCommandInvocationAPI
	Cancel CancelCommandAPI
	// Describe, when set, is asked which instances are managed and
	// online before sending (see the package doc); nil skips that step.
	Describe DescribeInstanceInformationAPI
	// S3 reads the output objects; required with WithOutputBucket.
	S3 GetObjectAPI
}
