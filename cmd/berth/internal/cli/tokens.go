package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// tokenCommand is "berth token create|list|revoke": scoped tokens (admin,
// viewer, per-service deployer) on berth's AccessTokens API.
func (a *app) tokenCommand() *cobra.Command {
	root := &cobra.Command{Use: "token", Short: "Make, list and revoke scoped tokens: admin, viewer, and deployers of named services and families", Args: noArgs}

	create := &cobra.Command{
		Use:   "create",
		Short: "Make a token (shown once): a bearer token for gRPC, and SigV4 credentials for the aws CLI",
		Long: `Make a token. Scope admin may call everything; viewer the read-only calls
(ECS's and ELB's Describe* and List*, explain) and the dashboard's data; deployer
only UpdateService and RegisterTaskDefinition, of the services (--service NAME or
CLUSTER/NAME) and task definition families (--family) it names.

The answer holds the token (for berth: BERTH_TOKEN, or --token) and, for the aws
CLI and SDKs, accessKeyId, secretAccessKey and the token as the session token
(aws_session_token). Only the token's SHA-256 is kept: it cannot be shown again.`,
		Args: noArgs,
	}
	scope := create.Flags().String("scope", "", "admin, viewer or deployer")
	services := create.Flags().StringArray("service", nil, "a service a deployer may update (NAME or CLUSTER/NAME; repeat for more)")
	families := create.Flags().StringArray("family", nil, "a task definition family a deployer may register and deploy (repeat for more)")
	desc := create.Flags().String("description", "", "kept and listed")
	valid := create.Flags().Duration("valid-for", 0, "how long the token works (0: until revoked)")
	create.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		if *scope == "" {
			return usagef("the following arguments are required: --scope")
		}
		return a.withConn(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
			resp, err := berthv1.NewAccessTokensClient(conn).CreateAccessToken(ctx, &berthv1.CreateAccessTokenRequest{
				Scope: *scope, Services: *services, Families: *families, Description: *desc, ValidSeconds: int64(*valid / time.Second)})
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), resp, nil)
		})
	})

	list := &cobra.Command{Use: "list", Short: "List the scoped tokens (never their secrets)", Args: noArgs}
	list.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		return a.withConn(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
			resp, err := berthv1.NewAccessTokensClient(conn).ListAccessTokens(ctx, &berthv1.ListAccessTokensRequest{})
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), resp, nil)
		})
	})

	revoke := &cobra.Command{Use: "revoke ID", Short: "Revoke a token (by its id, or the token): it is refused from now on", Args: cobra.ExactArgs(1)}
	revoke.RunE = a.run(func(cmd *cobra.Command, args []string) error {
		return a.withConn(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
			resp, err := berthv1.NewAccessTokensClient(conn).RevokeAccessToken(ctx, &berthv1.RevokeAccessTokenRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), resp, nil)
		})
	})
	root.AddCommand(create, list, revoke)
	return root
}
