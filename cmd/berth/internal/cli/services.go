package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// serviceCommand is one operation of another AWS service berth serves, as
// the aws CLI names it under the service's command (berth ssm get-parameter).
type serviceCommand struct {
	name, short string
	newRequest  func() proto.Message
	call        func(context.Context, grpc.ClientConnInterface, proto.Message) (proto.Message, error)
	// required are the request members (the service's names) that the
	// flags or --cli-input-json must give, as the aws CLI requires them.
	required []string
	// more, if set, adds flags beyond the members' (the aws CLI's
	// conveniences, such as create-function's --zip-file) and returns what
	// sets them in the request once the command line is parsed.
	more func(*pflag.FlagSet) func(proto.Message) error
}

// op makes a serviceCommand's request and call from a client constructor
// and one of its methods (berthv1.NewSSMClient, berthv1.SSMClient.GetParameter).
func op[C any, Req, Resp proto.Message](name, short string, newClient func(grpc.ClientConnInterface) C,
	method func(C, context.Context, Req, ...grpc.CallOption) (Resp, error), required ...string) serviceCommand {
	return serviceCommand{
		name: name, short: short, required: required,
		newRequest: func() proto.Message {
			var zero Req
			return zero.ProtoReflect().Type().New().Interface()
		},
		call: func(ctx context.Context, conn grpc.ClientConnInterface, req proto.Message) (proto.Message, error) {
			return method(newClient(conn), ctx, req.(Req))
		},
	}
}

// awsServices are the services besides ECS, each a command with its
// operations under it.
var awsServices = []struct {
	name, short string
	ops         []serviceCommand
	// extra are the service's commands that are not one operation each.
	extra func(*app) []*cobra.Command
}{
	{"ssm", "SSM Parameter Store, as aws ssm names its operations", []serviceCommand{
		op("put-parameter", "Create a parameter, or with --overwrite a new version", berthv1.NewSSMClient, berthv1.SSMClient.PutParameter, "Name", "Value"),
		op("get-parameter", "Get a parameter (name, name:version or name:label; --with-decryption)", berthv1.NewSSMClient, berthv1.SSMClient.GetParameter, "Name"),
		op("get-parameters", "Get up to 10 parameters", berthv1.NewSSMClient, berthv1.SSMClient.GetParameters, "Names"),
		op("get-parameters-by-path", "Get the parameters under a path (--recursive)", berthv1.NewSSMClient, berthv1.SSMClient.GetParametersByPath, "Path"),
		op("describe-parameters", "List parameters' metadata", berthv1.NewSSMClient, berthv1.SSMClient.DescribeParameters),
		op("get-parameter-history", "List a parameter's versions", berthv1.NewSSMClient, berthv1.SSMClient.GetParameterHistory, "Name"),
		op("delete-parameter", "Delete a parameter", berthv1.NewSSMClient, berthv1.SSMClient.DeleteParameter, "Name"),
		op("delete-parameters", "Delete up to 10 parameters", berthv1.NewSSMClient, berthv1.SSMClient.DeleteParameters, "Names"),
		op("label-parameter-version", "Put labels on a version (the latest by default)", berthv1.NewSSMClient, berthv1.SSMClient.LabelParameterVersion, "Name", "Labels"),
		op("unlabel-parameter-version", "Remove labels from a version", berthv1.NewSSMClient, berthv1.SSMClient.UnlabelParameterVersion, "Name", "ParameterVersion", "Labels"),
	}, nil},
	{"secretsmanager", "Secrets Manager, as aws secretsmanager names its operations", []serviceCommand{
		op("create-secret", "Create a secret", berthv1.NewSecretsManagerClient, berthv1.SecretsManagerClient.CreateSecret, "Name"),
		op("get-secret-value", "Get a secret's value (AWSCURRENT, or --version-id / --version-stage)", berthv1.NewSecretsManagerClient, berthv1.SecretsManagerClient.GetSecretValue, "SecretId"),
		op("put-secret-value", "Store a new version of a secret", berthv1.NewSecretsManagerClient, berthv1.SecretsManagerClient.PutSecretValue, "SecretId"),
		op("update-secret", "Change a secret's description or KMS key id, or its value", berthv1.NewSecretsManagerClient, berthv1.SecretsManagerClient.UpdateSecret, "SecretId"),
		op("describe-secret", "Describe a secret (never its value)", berthv1.NewSecretsManagerClient, berthv1.SecretsManagerClient.DescribeSecret, "SecretId"),
		op("list-secrets", "List secrets (--filters, --include-planned-deletion)", berthv1.NewSecretsManagerClient, berthv1.SecretsManagerClient.ListSecrets),
		op("delete-secret", "Schedule a secret's deletion, or --force-delete-without-recovery", berthv1.NewSecretsManagerClient, berthv1.SecretsManagerClient.DeleteSecret, "SecretId"),
		op("restore-secret", "Cancel a secret's scheduled deletion", berthv1.NewSecretsManagerClient, berthv1.SecretsManagerClient.RestoreSecret, "SecretId"),
		op("update-secret-version-stage", "Move a stage between a secret's versions", berthv1.NewSecretsManagerClient, berthv1.SecretsManagerClient.UpdateSecretVersionStage, "SecretId", "VersionStage"),
		op("list-secret-version-ids", "List a secret's versions", berthv1.NewSecretsManagerClient, berthv1.SecretsManagerClient.ListSecretVersionIds, "SecretId"),
	}, nil},
	{"ecr", "ECR, berth's image registry, as aws ecr names its operations", []serviceCommand{
		op("get-authorization-token", "Get a token for the registry (base64 AWS:password, 12 hours)", berthv1.NewECRClient, berthv1.ECRClient.GetAuthorizationToken),
		op("create-repository", "Create a repository", berthv1.NewECRClient, berthv1.ECRClient.CreateRepository, "repositoryName"),
		op("describe-repositories", "Describe repositories (all, or --repository-names)", berthv1.NewECRClient, berthv1.ECRClient.DescribeRepositories),
		op("delete-repository", "Delete a repository (with its images only with --force)", berthv1.NewECRClient, berthv1.ECRClient.DeleteRepository, "repositoryName"),
		op("put-image-tag-mutability", "Make a repository's tags MUTABLE or IMMUTABLE", berthv1.NewECRClient, berthv1.ECRClient.PutImageTagMutability, "repositoryName", "imageTagMutability"),
		op("put-image-scanning-configuration", "Store a repository's scanOnPush (berth scans nothing)", berthv1.NewECRClient, berthv1.ECRClient.PutImageScanningConfiguration, "repositoryName", "imageScanningConfiguration"),
		op("list-images", "List a repository's image ids", berthv1.NewECRClient, berthv1.ECRClient.ListImages, "repositoryName"),
		op("describe-images", "Describe a repository's images (digest, tags, size, pushedAt)", berthv1.NewECRClient, berthv1.ECRClient.DescribeImages, "repositoryName"),
		op("batch-get-image", "Get images' manifests", berthv1.NewECRClient, berthv1.ECRClient.BatchGetImage, "repositoryName", "imageIds"),
		op("batch-delete-image", "Delete images by tag or digest", berthv1.NewECRClient, berthv1.ECRClient.BatchDeleteImage, "repositoryName", "imageIds"),
		op("put-image", "Tag a manifest (retag an image)", berthv1.NewECRClient, berthv1.ECRClient.PutImage, "repositoryName", "imageManifest"),
		op("put-lifecycle-policy", "Put a repository's lifecycle policy and apply it", berthv1.NewECRClient, berthv1.ECRClient.PutLifecyclePolicy, "repositoryName", "lifecyclePolicyText"),
		op("get-lifecycle-policy", "Get a repository's lifecycle policy", berthv1.NewECRClient, berthv1.ECRClient.GetLifecyclePolicy, "repositoryName"),
		op("delete-lifecycle-policy", "Delete a repository's lifecycle policy", berthv1.NewECRClient, berthv1.ECRClient.DeleteLifecyclePolicy, "repositoryName"),
		op("start-lifecycle-policy-preview", "Preview what a lifecycle policy (given, or the repository's) would expire; nothing is deleted", berthv1.NewECRClient, berthv1.ECRClient.StartLifecyclePolicyPreview, "repositoryName"),
		op("get-lifecycle-policy-preview", "Get the last lifecycle policy preview's images", berthv1.NewECRClient, berthv1.ECRClient.GetLifecyclePolicyPreview, "repositoryName"),
	}, (*app).ecrCommands},
	{"lambda", "Lambda, as aws lambda names its operations", lambdaOps, (*app).lambdaCommands},
}

// serviceCommands are the services' commands, and berth's key rotation.
func (a *app) serviceCommands() []*cobra.Command {
	var out []*cobra.Command
	for _, svc := range awsServices {
		parent := &cobra.Command{Use: svc.name, Short: svc.short, Args: noArgs}
		for _, c := range svc.ops {
			parent.AddCommand(a.serviceCommand(c))
		}
		if svc.extra != nil {
			parent.AddCommand(svc.extra(a)...)
		}
		out = append(out, parent)
	}
	rotate := &cobra.Command{
		Use: "rotate-encryption-key", Args: noArgs,
		Short: "Make a new key for the values SSM and Secrets Manager keep, re-encrypt them all and forget the old key",
	}
	rotate.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		return a.withConn(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
			resp, err := berthv1.NewEncryptionKeysClient(conn).RotateEncryptionKey(ctx, &berthv1.RotateEncryptionKeyRequest{})
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), resp, nil)
		})
	})
	rotateJoin := &cobra.Command{
		Use: "rotate-join-token", Args: noArgs,
		Short: "Make a new join token: the old one is refused from now on; agents that joined keep working with their certificates",
	}
	rotateJoin.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		return a.withConn(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
			resp, err := berthv1.NewJoinTokensClient(conn).RotateJoinToken(ctx, &berthv1.RotateJoinTokenRequest{})
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), resp, nil)
		})
	})
	share := &cobra.Command{
		Use: "dashboard-url", Args: noArgs,
		Short: "Print a signed link to the dashboard that reads its data (not its controls) until it expires",
	}
	valid := share.Flags().Duration("valid-for", 7*24*time.Hour, "how long the link works (at most 90 days)")
	share.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		return a.withConn(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
			resp, err := berthv1.NewDashboardLinksClient(conn).ShareDashboard(ctx, &berthv1.ShareDashboardRequest{ValidSeconds: int64(*valid / time.Second)})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), resp.GetUrl())
			return err
		})
	})
	return append(out, rotate, rotateJoin, share)
}

// serviceCommand builds the command of c: a flag per request member, then
// --cli-input-json.
func (a *app) serviceCommand(c serviceCommand) *cobra.Command {
	md := c.newRequest().ProtoReflect().Descriptor()
	cmd := &cobra.Command{Use: c.name, Short: c.short, Args: noArgs}
	flags := addFieldFlags(cmd.Flags(), md)
	var more func(proto.Message) error
	if c.more != nil {
		more = c.more(cmd.Flags())
	}
	var input string
	cmd.Flags().StringVar(&input, "cli-input-json", "", "the request as JSON, inline or file://PATH; flags override its members")
	cmd.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		req := c.newRequest()
		if input != "" {
			if err := readInput(input, req); err != nil {
				return err
			}
		}
		m := req.ProtoReflect()
		for _, f := range flags {
			if err := f.set(m); err != nil {
				return err
			}
		}
		if more != nil {
			if err := more(req); err != nil {
				return err
			}
		}
		var missing []string
		for _, name := range c.required {
			if !m.Has(md.Fields().ByJSONName(name)) {
				missing = append(missing, "--"+kebab(name))
			}
		}
		if len(missing) > 0 {
			return usagef("the following arguments are required: %s", strings.Join(missing, ", "))
		}
		return a.withConn(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
			resp, err := c.call(ctx, conn, req)
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), resp, req)
		})
	})
	return cmd
}

// withConn runs f with a connection to the control plane.
func (a *app) withConn(ctx context.Context, f func(context.Context, *grpc.ClientConn) error) error {
	ctx, conn, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return f(ctx, conn)
}

// ecrCommands are ECR's commands that are not one operation:
// get-login-password, the registry's password alone, for `docker login
// --username AWS --password-stdin`.
func (a *app) ecrCommands() []*cobra.Command {
	login := &cobra.Command{Use: "get-login-password", Args: noArgs,
		Short: "Print a password for the registry, for docker login --username AWS --password-stdin"}
	login.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		return a.withConn(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
			resp, err := berthv1.NewECRClient(conn).GetAuthorizationToken(ctx, &berthv1.GetAuthorizationTokenRequest{})
			if err != nil {
				return err
			}
			pw, err := loginPassword(resp)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), pw)
			return err
		})
	})
	return []*cobra.Command{login}
}

// loginPassword is the password of GetAuthorizationToken's token
// (base64 "AWS:<password>").
func loginPassword(resp *berthv1.GetAuthorizationTokenResponse) (string, error) {
	if len(resp.GetAuthorizationData()) == 0 {
		return "", errors.New("GetAuthorizationToken returned no authorizationData")
	}
	raw, err := base64.StdEncoding.DecodeString(resp.GetAuthorizationData()[0].GetAuthorizationToken())
	if err != nil {
		return "", fmt.Errorf("authorizationToken is not base64: %v", err)
	}
	user, pw, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" {
		return "", errors.New("authorizationToken is not AWS:<password>")
	}
	return pw, nil
}
