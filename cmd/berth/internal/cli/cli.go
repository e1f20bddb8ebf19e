// Package cli is the berth command line: ECS's operations as `aws ecs` names
// and flags them, sent over berth's gRPC API (service berth.v1.ECS), SSM
// Parameter Store's and Secrets Manager's as `aws ssm` and `aws
// secretsmanager` name them (berth.v1.SSM, berth.v1.SecretsManager), ECR's
// as `aws ecr` names them (berth.v1.ECR, with get-login-password), and the
// commands aws ecs lacks, over service berth.v1.Berth: wait services-stable,
// explain, logs, exec and top; and rotate-encryption-key.
//
// The ECS commands are one table (ecsCommands) read by one runner: every
// member of an operation's request message is a flag named as the aws CLI
// names it (taskDefinition -> --task-definition), --cli-input-json reads the
// whole request, and flags given on the command line override its members.
//
// The package does no I/O but through Env and the gRPC connection, so tests
// run it in-process. Errors are one line on stderr and a non-zero exit: 2 for
// a usage error, 1 for anything else.
package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// DefaultEndpoint is the control plane's default gRPC address.
const DefaultEndpoint = "127.0.0.1:7400"

// Env is what the CLI reads and writes besides the control plane.
type Env struct {
	Stdout, Stderr io.Writer
	// Stdin is what exec sends a command (with a terminal, or -i); nil is
	// none.
	Stdin io.Reader
	// Terminal is the terminal stdin is, for exec's TTY; nil when it is none.
	Terminal Terminal
	// Getenv reads an environment variable (os.Getenv); nil reads none.
	Getenv func(string) string
}

// Run runs berth with args (without the program name) and returns the exit
// status. An error is printed as one line, "berth: <message>", on stderr.
func Run(ctx context.Context, args []string, env Env) int {
	a := &app{env: env}
	root := a.rootCommand()
	root.SetArgs(expandLists(root, args))
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit exitStatus
	if errors.As(err, &exit) { // exec's command's own status, as it is
		return int(exit)
	}
	fmt.Fprintf(env.Stderr, "berth: %s\n", oneLine(a.message(err)))
	var u usageError
	if errors.As(err, &u) || !a.ran {
		return 2
	}
	return 1
}

// app holds the global flags and the connection of one invocation.
type app struct {
	env Env
	// ran is set when a command's own code starts: errors before it (flag
	// parsing, unknown commands, arguments) are usage errors.
	ran bool

	endpoint, token, tokenFile, dataDir, output string
	// caFile, when set, makes the connection TLS trusting that CA (a
	// control plane beyond loopback: its data dir's ca.crt).
	caFile string
	// outputSet says --output was given: berth's own commands print their
	// readable view unless it was.
	outputSet bool
}

// usageError is an error in how berth was called; it exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func (a *app) getenv(name string) string {
	if a.env.Getenv == nil {
		return ""
	}
	return a.env.Getenv(name)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "berth",
		Short: "berth's command line: ECS's operations, and what aws ecs lacks",
		Long: "berth talks to a berth control plane over gRPC. Its ECS commands are named and flagged as\n" +
			"`aws ecs` names them and print ECS's JSON; --output table prints a readable table.",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	endpoint := a.getenv("BERTH_ENDPOINT")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	pf.StringVar(&a.endpoint, "endpoint", endpoint, "the control plane's gRPC address (env BERTH_ENDPOINT)")
	pf.StringVar(&a.token, "token", "", "the admin token (env BERTH_TOKEN)")
	pf.StringVar(&a.tokenFile, "token-file", "", "a file holding the admin token")
	pf.StringVar(&a.dataDir, "data-dir", "", "the control plane's data dir: the token is read from its admin.token")
	pf.StringVar(&a.caFile, "ca-file", "", "connect with TLS, trusting this CA (the control plane's ca.crt, or the CA of its --tls-cert)")
	pf.StringVar(&a.output, "output", "json", "output format: json, table or text (explain and top print their own view unless json is asked for)")

	root.AddGroup(&cobra.Group{ID: "ecs", Title: "ECS operations, as aws ecs names them:"},
		&cobra.Group{ID: "aws", Title: "Other AWS services, as the aws CLI names them:"},
		&cobra.Group{ID: "berth", Title: "Beyond aws ecs:"})
	for _, c := range ecsCommands {
		cmd := a.ecsCommand(c)
		cmd.GroupID = "ecs"
		root.AddCommand(cmd)
	}
	for _, cmd := range a.serviceCommands() {
		cmd.GroupID = "aws"
		if cmd.Name() == "rotate-encryption-key" || cmd.Name() == "rotate-join-token" || cmd.Name() == "dashboard-url" {
			cmd.GroupID = "berth"
		}
		root.AddCommand(cmd)
	}
	for _, cmd := range []*cobra.Command{a.waitCommand(), a.explainCommand(), a.logsCommand(), a.execCommand(), a.topCommand(), a.eventsCommand(),
		a.tokenCommand()} {
		cmd.GroupID = "berth"
		root.AddCommand(cmd)
	}
	return root
}

// run wraps a command's own code: it marks the invocation as past usage
// checks and checks --output.
func (a *app) run(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		switch a.output {
		case "json", "table", "text":
		default:
			return usagef("--output: %q is not one of json, table, text", a.output)
		}
		a.ran = true
		a.outputSet = cmd.Flags().Changed("output")
		return f(cmd, args)
	}
}

// tokenValue finds the admin token: --token, --token-file, --data-dir's
// admin.token, then BERTH_TOKEN. "" means none was given.
func (a *app) tokenValue() (string, error) {
	if a.token != "" {
		return a.token, nil
	}
	file := a.tokenFile
	if file == "" && a.dataDir != "" {
		file = filepath.Join(a.dataDir, "admin.token")
	}
	if file == "" {
		return a.getenv("BERTH_TOKEN"), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// connect dials the control plane and returns a context carrying the token;
// the caller closes the connection.
func (a *app) connect(ctx context.Context) (context.Context, *grpc.ClientConn, error) {
	token, err := a.tokenValue()
	if err != nil {
		return nil, nil, err
	}
	creds := insecure.NewCredentials()
	if a.caFile != "" {
		pem, err := os.ReadFile(a.caFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("--ca-file %s: no PEM certificate", a.caFile)
		}
		creds = credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(a.endpoint, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, nil, fmt.Errorf("endpoint %q: %w", a.endpoint, err)
	}
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return ctx, conn, nil
}

// withECS runs f with an ECS client.
func (a *app) withECS(ctx context.Context, f func(context.Context, berthv1.ECSClient) error) error {
	ctx, conn, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return f(ctx, berthv1.NewECSClient(conn))
}

// withBerth runs f with clients of both services.
func (a *app) withBerth(ctx context.Context, f func(context.Context, berthv1.ECSClient, berthv1.BerthClient) error) error {
	ctx, conn, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return f(ctx, berthv1.NewECSClient(conn), berthv1.NewBerthClient(conn))
}

// message is what berth prints for err: a gRPC status's own message (ECS's
// text, or berth's words naming the field or the missing thing), with
// berth's words beside ECS's text (details) and a hint where one helps.
func (a *app) message(err error) string {
	s, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	switch s.Code() {
	case codes.Unavailable:
		return fmt.Sprintf("control plane at %s unavailable: %s", a.endpoint, s.Message())
	case codes.Unauthenticated:
		if t, _ := a.tokenValue(); t == "" {
			return s.Message() + " (give the admin token: --token, BERTH_TOKEN, --token-file or --data-dir)"
		}
	case codes.DeadlineExceeded, codes.Canceled:
		return s.Code().String() + ": " + s.Message()
	}
	if own := ownWords(s); own != "" && own != s.Message() {
		return s.Message() + " (" + own + ")"
	}
	return s.Message()
}

// ownWords are berth's own words in a status's details: the ErrorInfo's
// "detail" when the message is ECS's text, else the field violation's
// "field: rule" when the message does not name the field.
func ownWords(s *status.Status) string {
	var field string
	for _, d := range s.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if detail := d.GetMetadata()["detail"]; detail != "" {
				return detail
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				if !strings.Contains(s.Message(), v.GetField()) {
					field = v.GetField() + ": " + v.GetDescription()
				}
			}
		}
	}
	return field
}

// oneLine joins a message's lines with "; ", so that an error is one line.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
