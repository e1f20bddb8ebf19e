package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// lambdaOps are Lambda's operations, as aws lambda names them; invoke is
// among lambdaCommands, since it writes the payload to a file as aws does.
var lambdaOps = []serviceCommand{
	withZipFile(op("create-function", "Create a function (--package-type Image --code ImageUri=...; or --runtime, --handler and --zip-file fileb://PATH)", berthv1.NewLambdaClient, berthv1.LambdaClient.CreateFunction, "FunctionName", "Role")),
	op("get-function", "Get a function: its configuration, code location, tags and concurrency", berthv1.NewLambdaClient, berthv1.LambdaClient.GetFunction, "FunctionName"),
	op("get-function-configuration", "Get a version's configuration", berthv1.NewLambdaClient, berthv1.LambdaClient.GetFunctionConfiguration, "FunctionName"),
	op("list-functions", "List functions (--function-version ALL: every version)", berthv1.NewLambdaClient, berthv1.LambdaClient.ListFunctions),
	op("update-function-code", "Replace a function's code (--zip-file fileb://PATH or --image-uri)", berthv1.NewLambdaClient, berthv1.LambdaClient.UpdateFunctionCode, "FunctionName"),
	op("update-function-configuration", "Change a function's settings", berthv1.NewLambdaClient, berthv1.LambdaClient.UpdateFunctionConfiguration, "FunctionName"),
	op("delete-function", "Delete a function, or with --qualifier one version", berthv1.NewLambdaClient, berthv1.LambdaClient.DeleteFunction, "FunctionName"),
	op("publish-version", "Publish $LATEST as a version", berthv1.NewLambdaClient, berthv1.LambdaClient.PublishVersion, "FunctionName"),
	op("list-versions-by-function", "List a function's versions", berthv1.NewLambdaClient, berthv1.LambdaClient.ListVersionsByFunction, "FunctionName"),
	op("create-alias", "Create an alias of a version", berthv1.NewLambdaClient, berthv1.LambdaClient.CreateAlias, "FunctionName", "Name", "FunctionVersion"),
	op("get-alias", "Get an alias", berthv1.NewLambdaClient, berthv1.LambdaClient.GetAlias, "FunctionName", "Name"),
	op("update-alias", "Change an alias's version or routing", berthv1.NewLambdaClient, berthv1.LambdaClient.UpdateAlias, "FunctionName", "Name"),
	op("delete-alias", "Delete an alias", berthv1.NewLambdaClient, berthv1.LambdaClient.DeleteAlias, "FunctionName", "Name"),
	op("list-aliases", "List a function's aliases", berthv1.NewLambdaClient, berthv1.LambdaClient.ListAliases, "FunctionName"),
	op("put-function-concurrency", "Reserve concurrency for a function", berthv1.NewLambdaClient, berthv1.LambdaClient.PutFunctionConcurrency, "FunctionName", "ReservedConcurrentExecutions"),
	op("get-function-concurrency", "Get a function's reserved concurrency", berthv1.NewLambdaClient, berthv1.LambdaClient.GetFunctionConcurrency, "FunctionName"),
	op("delete-function-concurrency", "Give a function's reserved concurrency back", berthv1.NewLambdaClient, berthv1.LambdaClient.DeleteFunctionConcurrency, "FunctionName"),
	op("get-account-settings", "Get the account's limits and use", berthv1.NewLambdaClient, berthv1.LambdaClient.GetAccountSettings),
	op("add-permission", "Add a statement to a function's resource-based policy", berthv1.NewLambdaClient, berthv1.LambdaClient.AddPermission, "FunctionName", "StatementId", "Action", "Principal"),
	op("remove-permission", "Remove a statement from a function's policy", berthv1.NewLambdaClient, berthv1.LambdaClient.RemovePermission, "FunctionName", "StatementId"),
	op("get-policy", "Get a function's resource-based policy", berthv1.NewLambdaClient, berthv1.LambdaClient.GetPolicy, "FunctionName"),
	op("put-function-event-invoke-config", "Set retries, maximum age and destinations of Event invocations", berthv1.NewLambdaClient, berthv1.LambdaClient.PutFunctionEventInvokeConfig, "FunctionName"),
	op("get-function-event-invoke-config", "Get a function's event invoke config", berthv1.NewLambdaClient, berthv1.LambdaClient.GetFunctionEventInvokeConfig, "FunctionName"),
	op("delete-function-event-invoke-config", "Delete a function's event invoke config", berthv1.NewLambdaClient, berthv1.LambdaClient.DeleteFunctionEventInvokeConfig, "FunctionName"),
	op("tag-resource", "Tag a function", berthv1.NewLambdaClient, berthv1.LambdaClient.TagResource, "Resource", "Tags"),
	op("untag-resource", "Remove a function's tags", berthv1.NewLambdaClient, berthv1.LambdaClient.UntagResource, "Resource", "TagKeys"),
	op("list-tags", "List a function's tags", berthv1.NewLambdaClient, berthv1.LambdaClient.ListTags, "Resource"),
	op("create-function-url-config", "Give a function a URL", berthv1.NewLambdaClient, berthv1.LambdaClient.CreateFunctionUrlConfig, "FunctionName", "AuthType"),
	op("get-function-url-config", "Get a function's URL", berthv1.NewLambdaClient, berthv1.LambdaClient.GetFunctionUrlConfig, "FunctionName"),
	op("update-function-url-config", "Change a function URL's auth type or CORS", berthv1.NewLambdaClient, berthv1.LambdaClient.UpdateFunctionUrlConfig, "FunctionName"),
	op("get-function-usage", "berth's own: invocations, GB-seconds and their cost at Lambda's us-east-1 prices (the free tier apart)", berthv1.NewLambdaUsageClient, berthv1.LambdaUsageClient.GetFunctionUsage),
	op("delete-function-url-config", "Delete a function's URL", berthv1.NewLambdaClient, berthv1.LambdaClient.DeleteFunctionUrlConfig, "FunctionName"),
}

// withZipFile adds the aws CLI's --zip-file fileb://PATH: the zip's bytes
// as Code.ZipFile (update-function-code has a ZipFile member, so its own
// --zip-file flag).
func withZipFile(c serviceCommand) serviceCommand {
	c.more = func(fs *pflag.FlagSet) func(proto.Message) error {
		var zip string
		fs.StringVar(&zip, "zip-file", "", "the deployment package: fileb://PATH")
		return func(m proto.Message) error {
			if zip == "" {
				return nil
			}
			path, ok := strings.CutPrefix(zip, "fileb://")
			if !ok {
				return usagef("--zip-file takes fileb://PATH")
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			switch req := m.(type) {
			case *berthv1.LambdaCreateFunctionRequest:
				if req.Code == nil {
					req.Code = &berthv1.LambdaFunctionCode{}
				}
				req.Code.ZipFile = b
			case *berthv1.LambdaUpdateFunctionCodeRequest:
				req.ZipFile = b
			}
			return nil
		}
	}
	return c
}

// lambdaCommands are Lambda's commands that are not one generic operation:
// invoke, which writes the function's response to a file (or - for
// standard output) and prints the status, as aws lambda invoke does.
func (a *app) lambdaCommands() []*cobra.Command {
	var req berthv1.LambdaInvokeRequest
	var payload string
	cmd := &cobra.Command{Use: "invoke OUTFILE", Args: cobra.ExactArgs(1),
		Short: "Invoke a function; its response goes to OUTFILE (- for standard output)"}
	fs := cmd.Flags()
	fs.StringVar(&req.FunctionName, "function-name", "", "the function's name or ARN (NAME:QUALIFIER too)")
	fs.StringVar(&req.Qualifier, "qualifier", "", "a version or alias")
	fs.StringVar(&req.InvocationType, "invocation-type", "", "RequestResponse (default), Event or DryRun")
	fs.StringVar(&req.LogType, "log-type", "", "Tail: the last 4 KB of the log in LogResult (base64)")
	fs.StringVar(&req.ClientContext, "client-context", "", "base64 JSON passed to the function")
	fs.StringVar(&payload, "payload", "", "the JSON event, inline or fileb://PATH")
	fs.String("cli-binary-format", "", "accepted for the aws CLI's raw-in-base64-out; berth reads --payload as raw JSON")
	cmd.RunE = a.run(func(cmd *cobra.Command, args []string) error {
		if req.FunctionName == "" {
			return usagef("the following arguments are required: --function-name")
		}
		req.Payload = []byte(payload)
		if path, ok := strings.CutPrefix(payload, "fileb://"); ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			req.Payload = b
		}
		return a.withConn(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
			resp, err := berthv1.NewLambdaClient(conn).Invoke(ctx, &req)
			if err != nil {
				return err
			}
			if args[0] == "-" {
				cmd.OutOrStdout().Write(resp.GetPayload())
				fmt.Fprintln(cmd.OutOrStdout())
			} else if err := os.WriteFile(args[0], resp.GetPayload(), 0o644); err != nil {
				return err
			}
			status := map[string]any{"StatusCode": resp.GetStatusCode()}
			if resp.GetExecutedVersion() != "" {
				status["ExecutedVersion"] = resp.GetExecutedVersion()
			}
			if resp.GetFunctionError() != "" {
				status["FunctionError"] = resp.GetFunctionError()
			}
			if resp.GetLogResult() != "" {
				status["LogResult"] = resp.GetLogResult()
			}
			out := cmd.OutOrStdout()
			if args[0] == "-" {
				out = cmd.ErrOrStderr()
			}
			b, _ := json.MarshalIndent(status, "", "    ")
			_, err = fmt.Fprintln(out, string(b))
			return err
		})
	})
	return []*cobra.Command{cmd}
}
