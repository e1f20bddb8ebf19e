package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi/awsjson"
)

// ecsCommand is one ECS operation as a berth command.
type ecsCommand struct {
	name  string // as aws ecs names it
	short string
	op    operation
	// required are the request members (ECS's names) that the flags or
	// --cli-input-json must give, as aws ecs requires them.
	required []string
}

// ecsCommands are the ECS operations berth's CLI offers.
var ecsCommands = []ecsCommand{
	{"register-task-definition", "Register a task definition revision", rpc(berthv1.ECSClient.RegisterTaskDefinition), []string{"family", "containerDefinitions"}},
	{"describe-task-definition", "Describe a task definition (family, family:revision or ARN)", rpc(berthv1.ECSClient.DescribeTaskDefinition), []string{"taskDefinition"}},
	{"list-task-definitions", "List task definition ARNs", rpc(berthv1.ECSClient.ListTaskDefinitions), nil},
	{"list-task-definition-families", "List task definition families", rpc(berthv1.ECSClient.ListTaskDefinitionFamilies), nil},
	{"deregister-task-definition", "Deregister a task definition revision", rpc(berthv1.ECSClient.DeregisterTaskDefinition), []string{"taskDefinition"}},

	{"create-cluster", "Create a cluster", rpc(berthv1.ECSClient.CreateCluster), nil},
	{"describe-clusters", "Describe clusters (the default cluster when none is named)", rpc(berthv1.ECSClient.DescribeClusters), nil},
	{"list-clusters", "List cluster ARNs", rpc(berthv1.ECSClient.ListClusters), nil},
	{"delete-cluster", "Delete a cluster", rpc(berthv1.ECSClient.DeleteCluster), []string{"cluster"}},

	{"describe-container-instances", "Describe container instances", rpc(berthv1.ECSClient.DescribeContainerInstances), []string{"containerInstances"}},
	{"list-container-instances", "List container instance ARNs (--filter takes the cluster query language)", rpc(berthv1.ECSClient.ListContainerInstances), nil},
	{"update-container-instances-state", "Set container instances ACTIVE or DRAINING", rpc(berthv1.ECSClient.UpdateContainerInstancesState), []string{"containerInstances", "status"}},
	{"deregister-container-instance", "Deregister a container instance", rpc(berthv1.ECSClient.DeregisterContainerInstance), []string{"containerInstance"}},
	{"put-attributes", "Put custom attributes on container instances", rpc(berthv1.ECSClient.PutAttributes), []string{"attributes"}},

	{"run-task", "Run tasks, placed by the scheduler", rpc(berthv1.ECSClient.RunTask), []string{"taskDefinition"}},
	{"start-task", "Start tasks on named container instances", rpc(berthv1.ECSClient.StartTask), []string{"taskDefinition", "containerInstances"}},
	{"stop-task", "Stop a task", rpc(berthv1.ECSClient.StopTask), []string{"task"}},
	{"describe-tasks", "Describe tasks", rpc(berthv1.ECSClient.DescribeTasks), []string{"tasks"}},
	{"list-tasks", "List task ARNs", rpc(berthv1.ECSClient.ListTasks), nil},

	{"create-service", "Create a service", rpc(berthv1.ECSClient.CreateService), []string{"serviceName"}},
	{"update-service", "Update a service: desired count, task definition, deployment", rpc(berthv1.ECSClient.UpdateService), []string{"service"}},
	{"delete-service", "Delete a service", rpc(berthv1.ECSClient.DeleteService), []string{"service"}},
	{"describe-services", "Describe services", rpc(berthv1.ECSClient.DescribeServices), []string{"services"}},
	{"list-services", "List service ARNs", rpc(berthv1.ECSClient.ListServices), nil},

	{"create-task-set", "Create a task set in a service with the EXTERNAL deployment controller", rpc(berthv1.ECSClient.CreateTaskSet), []string{"service", "cluster", "taskDefinition"}},
	{"describe-task-sets", "Describe a service's task sets (all when none is named)", rpc(berthv1.ECSClient.DescribeTaskSets), []string{"cluster", "service"}},
	{"update-task-set", "Change a task set's scale (a percent of the service's desired count)", rpc(berthv1.ECSClient.UpdateTaskSet), []string{"cluster", "service", "taskSet", "scale"}},
	{"delete-task-set", "Delete a task set: it drains (--force for the primary)", rpc(berthv1.ECSClient.DeleteTaskSet), []string{"cluster", "service", "taskSet"}},
	{"update-service-primary-task-set", "Make a task set the service's primary one", rpc(berthv1.ECSClient.UpdateServicePrimaryTaskSet), []string{"cluster", "service", "primaryTaskSet"}},

	{"create-capacity-provider", "Create a capacity provider", rpc(berthv1.ECSClient.CreateCapacityProvider), []string{"name"}},
	{"describe-capacity-providers", "Describe capacity providers", rpc(berthv1.ECSClient.DescribeCapacityProviders), nil},
	{"put-cluster-capacity-providers", "Set a cluster's capacity providers", rpc(berthv1.ECSClient.PutClusterCapacityProviders), []string{"cluster", "capacityProviders", "defaultCapacityProviderStrategy"}},

	{"tag-resource", "Add tags to a resource (a key it has takes the new value)", rpc(berthv1.ECSClient.TagResource), []string{"resourceArn", "tags"}},
	{"untag-resource", "Remove tags from a resource by key", rpc(berthv1.ECSClient.UntagResource), []string{"resourceArn", "tagKeys"}},
	{"list-tags-for-resource", "List a resource's tags", rpc(berthv1.ECSClient.ListTagsForResource), []string{"resourceArn"}},
	{"list-account-settings", "List account settings (--effective-settings: as they apply)", rpc(berthv1.ECSClient.ListAccountSettings), nil},
	{"put-account-setting", "Set an account setting for a principal", rpc(berthv1.ECSClient.PutAccountSetting), []string{"name", "value"}},
	{"put-account-setting-default", "Set an account setting's default for the account", rpc(berthv1.ECSClient.PutAccountSettingDefault), []string{"name", "value"}},
	{"delete-account-setting", "Delete a principal's account setting", rpc(berthv1.ECSClient.DeleteAccountSetting), []string{"name"}},
	{"delete-task-definitions", "Delete INACTIVE task definition revisions", rpc(berthv1.ECSClient.DeleteTaskDefinitions), []string{"taskDefinitions"}},
	{"update-cluster", "Update a cluster's settings, configuration and Service Connect defaults", rpc(berthv1.ECSClient.UpdateCluster), []string{"cluster"}},
	{"update-cluster-settings", "Update a cluster's settings (containerInsights)", rpc(berthv1.ECSClient.UpdateClusterSettings), []string{"cluster", "settings"}},
	{"list-attributes", "List container instances' attributes (--target-type container-instance)", rpc(berthv1.ECSClient.ListAttributes), []string{"targetType"}},
	{"delete-attributes", "Delete custom attributes from container instances", rpc(berthv1.ECSClient.DeleteAttributes), []string{"attributes"}},
	{"delete-capacity-provider", "Delete a capacity provider no cluster or service uses", rpc(berthv1.ECSClient.DeleteCapacityProvider), []string{"capacityProvider"}},
	{"update-capacity-provider", "Update a capacity provider's managed scaling, termination protection and draining", rpc(berthv1.ECSClient.UpdateCapacityProvider), []string{"name", "autoScalingGroupProvider"}},
	{"execute-command", "ECS Exec's Session Manager session, which berth refuses as ECS would or names berth exec", rpc(berthv1.ECSClient.ExecuteCommand), []string{"command", "task"}},
}

// operation is one method of the ECS service with its message types erased.
type operation struct {
	newRequest func() proto.Message
	call       func(context.Context, berthv1.ECSClient, proto.Message) (proto.Message, error)
}

// rpc makes the operation of an ECSClient method (a method expression such
// as berthv1.ECSClient.RunTask).
func rpc[Req, Resp proto.Message](method func(berthv1.ECSClient, context.Context, Req, ...grpc.CallOption) (Resp, error)) operation {
	return operation{
		newRequest: func() proto.Message {
			var zero Req
			return zero.ProtoReflect().Type().New().Interface()
		},
		call: func(ctx context.Context, c berthv1.ECSClient, req proto.Message) (proto.Message, error) {
			return method(c, ctx, req.(Req))
		},
	}
}

// ecsCommand builds the command of c: a flag per request member, then
// --cli-input-json, and the aws CLI's pagination flags for List operations.
func (a *app) ecsCommand(c ecsCommand) *cobra.Command {
	md := c.op.newRequest().ProtoReflect().Descriptor()
	paged := md.Fields().ByJSONName("nextToken") != nil && md.Fields().ByJSONName("maxResults") != nil
	cmd := &cobra.Command{Use: c.name, Short: c.short, Args: noArgs}
	var skip []string
	if paged {
		skip = []string{"nextToken", "maxResults"}
	}
	flags := addFieldFlags(cmd.Flags(), md, skip...)
	var input string
	cmd.Flags().StringVar(&input, "cli-input-json", "", "the request as JSON, inline or file://PATH; flags override its members")
	var p pager
	if paged {
		p.addFlags(cmd)
	}
	cmd.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		req, err := c.request(input, flags)
		if err != nil {
			return err
		}
		return a.withECS(cmd.Context(), func(ctx context.Context, ecs berthv1.ECSClient) error {
			var resp proto.Message
			if paged {
				resp, err = p.call(ctx, ecs, c.op, req)
			} else {
				resp, err = c.op.call(ctx, ecs, req)
			}
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), resp, req)
		})
	})
	return cmd
}

// request builds the request: --cli-input-json first, then the flags given,
// then the check for required members.
func (c ecsCommand) request(input string, flags []*fieldFlag) (proto.Message, error) {
	req := c.op.newRequest()
	if input != "" {
		if err := readInput(input, req); err != nil {
			return nil, err
		}
	}
	m := req.ProtoReflect()
	for _, f := range flags {
		if err := f.set(m); err != nil {
			return nil, err
		}
	}
	var missing []string
	for _, name := range c.required {
		if !m.Has(m.Descriptor().Fields().ByJSONName(name)) {
			missing = append(missing, "--"+kebab(name))
		}
	}
	if len(missing) > 0 {
		return nil, usagef("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	return req, nil
}

// readInput decodes --cli-input-json, inline JSON or file://PATH, strictly:
// an unknown member is an error naming its path.
func readInput(input string, req proto.Message) error {
	data, source := []byte(input), "(inline JSON)"
	if path, ok := strings.CutPrefix(input, "file://"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--cli-input-json: %w", err)
		}
		data, source = b, path
	}
	if err := awsjson.Unmarshal(data, req); err != nil {
		return fmt.Errorf("--cli-input-json %s: %v", source, err)
	}
	return nil
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

// pager follows nextToken as the aws CLI does: all pages by default,
// --max-items at most (then nextToken says where to go on), --page-size per
// call, --starting-token to go on.
type pager struct {
	maxItems, pageSize int32
	startingToken      string
}

func (p *pager) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.Int32Var(&p.maxItems, "max-items", 0, "at most this many items in all (0: all); nextToken says where to go on")
	fs.Int32Var(&p.pageSize, "page-size", 0, "items per call (maxResults)")
	fs.StringVar(&p.startingToken, "starting-token", "", "a nextToken to go on from")
}

func (p *pager) call(ctx context.Context, ecs berthv1.ECSClient, op operation, req proto.Message) (proto.Message, error) {
	if p.maxItems < 0 || p.pageSize < 0 {
		return nil, usagef("--max-items and --page-size must not be negative")
	}
	m := req.ProtoReflect()
	next, maxResults := m.Descriptor().Fields().ByJSONName("nextToken"), m.Descriptor().Fields().ByJSONName("maxResults")
	token := p.startingToken
	var out protoreflect.Message
	var items protoreflect.List
	for {
		m.Set(next, protoreflect.ValueOfString(token))
		size := p.pageSize
		if rest := p.maxItems - int32(itemCount(items)); p.maxItems > 0 && rest <= 100 && (size == 0 || rest < size) {
			size = rest
		}
		m.Set(maxResults, protoreflect.ValueOfInt32(size))
		resp, err := op.call(ctx, ecs, req)
		if err != nil {
			return nil, err
		}
		r := resp.ProtoReflect()
		field := firstList(r.Descriptor())
		if out == nil {
			out, items = r, r.Mutable(field).List()
		} else {
			l := r.Get(field).List()
			for i := 0; i < l.Len(); i++ {
				items.Append(l.Get(i))
			}
		}
		token = r.Get(r.Descriptor().Fields().ByJSONName("nextToken")).String()
		if token == "" || (p.maxItems > 0 && int32(items.Len()) >= p.maxItems) {
			out.Set(out.Descriptor().Fields().ByJSONName("nextToken"), protoreflect.ValueOfString(token))
			return out.Interface(), nil
		}
	}
}

func itemCount(l protoreflect.List) int {
	if l == nil {
		return 0
	}
	return l.Len()
}

// firstList is a List response's list of results: its first repeated member.
func firstList(md protoreflect.MessageDescriptor) protoreflect.FieldDescriptor {
	for i := 0; i < md.Fields().Len(); i++ {
		if fd := md.Fields().Get(i); fd.IsList() {
			return fd
		}
	}
	panic(fmt.Sprintf("%s has no list", md.FullName()))
}
