package kurakms

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
	"github.com/kura-secrets/kura/pkg/publish"
)

// publishSecretsManager writes the document, compact JSON, as the secret
// string of an AWS Secrets Manager secret: a new version of an existing
// secret (PutSecretValue), or a new secret (CreateSecret) when there is
// none of that name. Credentials, region and endpoint come from the SDK's
// default chain (AWS_PROFILE, ~/.aws, AWS_REGION,
// AWS_ENDPOINT_URL_SECRETS_MANAGER...); the target's region wins.
func publishSecretsManager(ctx context.Context, t publish.Target, doc json.RawMessage) (*kmsproto.Published, error) {
	var opts []func(*config.LoadOptions) error
	if t.Region != "" {
		opts = append(opts, config.WithRegion(t.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s: loading the AWS configuration: %s", t, oneLine(err.Error(), nil))
	}
	if cfg.Region == "" {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s: no AWS region: set AWS_REGION, or add ?region=REGION to the target", t)
	}
	client := secretsmanager.NewFromConfig(cfg)
	secret := string(doc)
	out := &kmsproto.Published{Target: t.String()}
	put, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(t.Name),
		SecretString: aws.String(secret),
	})
	if err == nil {
		out.Version = aws.ToString(put.VersionId)
		return out, nil
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ResourceNotFoundException" || strings.HasPrefix(t.Name, "arn:") {
		return nil, secretsManagerFailure(ctx, t, err, secret)
	}
	created, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(t.Name),
		SecretString: aws.String(secret),
		Description:  aws.String("published by kura"),
	})
	if err != nil {
		return nil, secretsManagerFailure(ctx, t, err, secret)
	}
	out.Version = aws.ToString(created.VersionId)
	out.Created = true
	return out, nil
}

// secretsManagerFailure classifies an SDK error in one line that names
// the target. Service messages are quoted for the codes whose messages
// never echo the request; the secret string is cut out of anything
// quoted, whatever the code.
func secretsManagerFailure(ctx context.Context, t publish.Target, err error, secret string) error {
	redact := []string{secret}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, msg := apiErr.ErrorCode(), oneLine(apiErr.ErrorMessage(), redact)
		switch code {
		case "AccessDeniedException", "AccessDenied":
			return kmsproto.Errorf(kmsproto.AccessDenied, "%s: access denied: the AWS credentials may not write this secret (%s)", t, code)
		case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch", "ExpiredTokenException":
			return kmsproto.Errorf(kmsproto.AccessDenied, "%s: AWS does not accept the credentials (%s)", t, code)
		case "ResourceNotFoundException":
			return kmsproto.Errorf(kmsproto.NotFound, "%s: the secret does not exist (%s)", t, code)
		case "InvalidRequestException", "InvalidParameterException", "LimitExceededException", "ResourceExistsException", "MalformedPolicyDocumentException", "EncryptionFailure", "DecryptionFailure":
			return kmsproto.Errorf(kmsproto.Invalid, "%s: Secrets Manager refused the secret (%s: %s)", t, code, msg)
		case "InternalServiceError", "ServiceUnavailable", "ThrottlingException":
			return kmsproto.Errorf(kmsproto.Unreachable, "%s: Secrets Manager is unavailable (%s)", t, code)
		}
		return kmsproto.Errorf(kmsproto.Internal, "%s: Secrets Manager failed the write (%s: %s)", t, code, msg)
	}
	text := err.Error()
	var ne net.Error
	switch {
	case strings.Contains(text, "failed to retrieve credentials") || strings.Contains(text, "no EC2 IMDS role found") || strings.Contains(text, "failed to refresh cached credentials"):
		return kmsproto.Errorf(kmsproto.NoCredentials, "%s: no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run `aws sso login` (%s)", t, oneLine(innermost(err), redact))
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return kmsproto.Errorf(kmsproto.Timeout, "%s: Secrets Manager did not answer in time", t)
	case errors.Is(err, syscall.ECONNREFUSED):
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: connection refused: nothing listens at the Secrets Manager endpoint", t)
	case errors.As(err, &ne) && ne.Timeout():
		return kmsproto.Errorf(kmsproto.Timeout, "%s: Secrets Manager did not answer in time", t)
	}
	return kmsproto.Errorf(kmsproto.Unreachable, "%s: cannot reach Secrets Manager: %s", t, oneLine(innermost(err), redact))
}
