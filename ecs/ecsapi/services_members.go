package ecsapi

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/awsapi/awsjson"
	"github.com/berth/berth/ecs/ecserr"
)

// CreateService's and UpdateService's members beyond the scheduler's:
// load balancers, service registries and Service Connect are checked as ECS
// checks them and stored (issue 21's load balancing acts on loadBalancers;
// berth has no Cloud Map for the others); the alarms of a deployment
// configuration are stored (berth has no CloudWatch alarms); the members of
// services berth does not have are refused by name.

// Limits, as ECS's.
const (
	maxLoadBalancers    = 5
	maxServiceRegistry  = 1
	availabilityEnabled = "ENABLED"
)

// unsupported refuses a member of a feature berth does not have.
func unsupported(path, why string) error {
	return ecserr.Param(path, "not supported: %s", why)
}

// checkRefusedCreate refuses CreateService's members berth cannot honour.
func checkRefusedCreate(req *berthv1.CreateServiceRequest) error {
	if len(req.GetVolumeConfigurations().GetValues()) > 0 {
		return unsupported("volumeConfigurations", "berth has no Amazon EBS volumes; use a task definition volume")
	}
	if len(req.GetVpcLatticeConfigurations().GetValues()) > 0 {
		return unsupported("vpcLatticeConfigurations", "berth has no Amazon VPC Lattice")
	}
	return checkRefusedDeploymentConfig(req.GetDeploymentConfiguration())
}

// checkRefusedDeploymentConfig refuses the members of the deployment
// strategies berth does not have (only ROLLING).
func checkRefusedDeploymentConfig(c *berthv1.DeploymentConfiguration) error {
	const why = "berth has the ROLLING deployment strategy only"
	switch {
	case c.GetStrategy() != "" && c.GetStrategy() != "ROLLING":
		if !includes([]string{"BLUE_GREEN", "LINEAR", "CANARY"}, c.GetStrategy()) {
			return ecserr.Param("deploymentConfiguration.strategy", "must be ROLLING, BLUE_GREEN, LINEAR or CANARY, not %q", c.GetStrategy())
		}
		return unsupported("deploymentConfiguration.strategy", why+", not "+c.GetStrategy())
	case c != nil && c.BakeTimeInMinutes != nil:
		return unsupported("deploymentConfiguration.bakeTimeInMinutes", why)
	case c.GetLifecycleHooks() != nil:
		return unsupported("deploymentConfiguration.lifecycleHooks", why)
	case c.GetLinearConfiguration() != nil:
		return unsupported("deploymentConfiguration.linearConfiguration", why)
	case c.GetCanaryConfiguration() != nil:
		return unsupported("deploymentConfiguration.canaryConfiguration", why)
	}
	if a := c.GetAlarms(); a != nil && len(a.GetAlarmNames()) == 0 && a.GetEnable() {
		return ecserr.Param("deploymentConfiguration.alarms.alarmNames", "at least one alarm name is required when alarms are enabled")
	}
	return nil
}

// checkLoadBalancers checks a service's load balancers against its task
// definition: each names a target group (or a Classic Load Balancer), a
// container of the task definition and one of its container ports.
func checkLoadBalancers(td *berthv1.TaskDefinition, lbs []*berthv1.LoadBalancer) error {
	if len(lbs) > maxLoadBalancers {
		return ecserr.Param("loadBalancers", "at most %d load balancers (target groups) per service, got %d", maxLoadBalancers, len(lbs))
	}
	for i, lb := range lbs {
		path := fmt.Sprintf("loadBalancers[%d]", i)
		switch {
		case lb.AdvancedConfiguration != nil:
			return unsupported(path+".advancedConfiguration", "berth has no blue/green deployments")
		case lb.GetTargetGroupArn() == "" && lb.GetLoadBalancerName() == "":
			return ecserr.Param(path, "give targetGroupArn (Application or Network Load Balancer) or loadBalancerName (Classic Load Balancer)")
		case lb.GetTargetGroupArn() != "" && lb.GetLoadBalancerName() != "":
			return ecserr.Param(path, "give targetGroupArn or loadBalancerName, not both")
		case lb.GetTargetGroupArn() != "" && !strings.HasPrefix(lb.GetTargetGroupArn(), "arn:") || lb.GetTargetGroupArn() != "" && !strings.Contains(lb.GetTargetGroupArn(), ":targetgroup/"):
			return ecserr.Param(path+".targetGroupArn", "%q is not a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)", lb.GetTargetGroupArn())
		case lb.GetContainerName() == "":
			return ecserr.Param(path+".containerName", "is required")
		case lb.ContainerPort == nil:
			return ecserr.Param(path+".containerPort", "is required")
		}
		if err := checkLBContainerPort(td, path, lb.GetContainerName(), lb.GetContainerPort()); err != nil {
			return err
		}
	}
	return nil
}

// checkContainerPort checks that the task definition has the container and
// that it maps the port, in ECS's words.
func checkLBContainerPort(td *berthv1.TaskDefinition, path, name string, port int32) error {
	for _, c := range td.GetContainerDefinitions() {
		if c.GetName() != name {
			continue
		}
		for _, pm := range c.GetPortMappings() {
			if pm.GetContainerPort() == port {
				return nil
			}
		}
		return ecserr.Param(path+".containerPort", "The container %s did not have a container port %d defined.", name, port)
	}
	return ecserr.Param(path+".containerName", "The container %s does not exist in the task definition.", name)
}

// checkServiceRegistries checks service discovery registries (one per
// service, as ECS): a registry ARN, and a container of the task definition
// when one is named.
func checkServiceRegistries(td *berthv1.TaskDefinition, regs []*berthv1.ServiceRegistry) error {
	if len(regs) > maxServiceRegistry {
		return ecserr.Param("serviceRegistries", "a service has at most %d service registry, got %d", maxServiceRegistry, len(regs))
	}
	for i, r := range regs {
		path := fmt.Sprintf("serviceRegistries[%d]", i)
		switch {
		case !strings.HasPrefix(r.GetRegistryArn(), "arn:"):
			return ecserr.Param(path+".registryArn", "%q is not a service registry ARN", r.GetRegistryArn())
		case r.ContainerPort != nil && r.GetContainerName() == "":
			return ecserr.Param(path+".containerName", "is required with containerPort")
		case r.Port != nil && r.ContainerPort != nil:
			return ecserr.Param(path, "give port or containerName and containerPort, not both")
		}
		if r.GetContainerName() != "" && !hasContainer(td, r.GetContainerName()) {
			return ecserr.Param(path+".containerName", "The container %s does not exist in the task definition.", r.GetContainerName())
		}
	}
	return nil
}

func hasContainer(td *berthv1.TaskDefinition, name string) bool {
	for _, c := range td.GetContainerDefinitions() {
		if c.GetName() == name {
			return true
		}
	}
	return false
}

// checkServiceConnect checks a Service Connect configuration: each service
// names a port mapping of the task definition by its name.
func checkServiceConnect(td *berthv1.TaskDefinition, sc *berthv1.ServiceConnectConfiguration) error {
	if sc == nil {
		return nil
	}
	if !sc.GetEnabled() && len(sc.GetServices()) > 0 {
		return ecserr.Param("serviceConnectConfiguration.services", "requires enabled true")
	}
	names := map[string]bool{}
	for _, c := range td.GetContainerDefinitions() {
		for _, pm := range c.GetPortMappings() {
			if pm.GetName() != "" {
				names[pm.GetName()] = true
			}
		}
	}
	for i, s := range sc.GetServices() {
		path := fmt.Sprintf("serviceConnectConfiguration.services[%d].portName", i)
		if s.GetPortName() == "" {
			return ecserr.Param(path, "is required")
		}
		if !names[s.GetPortName()] {
			return ecserr.Param(path, "%q is not the name of a port mapping in the task definition", s.GetPortName())
		}
	}
	if lc := sc.GetLogConfiguration(); lc != nil && len(lc.GetSecretOptions()) > 0 {
		return unsupported("serviceConnectConfiguration.logConfiguration.secretOptions", "berth has no Secrets Manager or Parameter Store")
	}
	return nil
}

// checkAZRebalancing checks availabilityZoneRebalancing.
func checkAZRebalancing(v string) error {
	if v != "" && v != availabilityEnabled && v != "DISABLED" {
		return ecserr.Param("availabilityZoneRebalancing", "must be ENABLED or DISABLED, not %q", v)
	}
	return nil
}

// roleArn is the ARN of an IAM role given by name or ARN, as ECS returns
// it in roleArn.
func (s *Server) roleArn(role string) string {
	if role == "" || strings.HasPrefix(role, "arn:") {
		return role
	}
	if strings.Contains(role, "/") {
		return "arn:aws:iam::" + s.arns.Account + ":role" + "/" + strings.TrimPrefix(role, "/")
	}
	return "arn:aws:iam::" + s.arns.Account + ":role/" + role
}

// listOf decodes an UpdateService list member kept as JSON (so that an
// empty list is told from none) into messages, with ECS's field paths.
func listOf[T proto.Message](field string, list *structpb.ListValue, newT func() T) ([]T, error) {
	out := make([]T, 0, len(list.GetValues()))
	for i, v := range list.GetValues() {
		data, err := protojson.Marshal(v)
		if err != nil {
			return nil, err
		}
		m := newT()
		if err := awsjson.Unmarshal(data, m); err != nil {
			e := apierr.From(err)
			path := fmt.Sprintf("%s[%d]", field, i)
			if e.Field != "" {
				return nil, ecserr.Param(path+"."+e.Field, "%s", strings.TrimPrefix(e.Message, e.Field+": "))
			}
			return nil, ecserr.Param(path, "%s", e.Message)
		}
		out = append(out, m)
	}
	return out, nil
}

// updateMembers applies UpdateService's members beyond the scheduler's to
// svc (sc is the Service Connect configuration the next deployment takes)
// and reports whether they change what runs: load balancers, service
// registries, Service Connect and the platform version start a new
// deployment, as in ECS.
func (s *Server) updateMembers(svc *berthv1.Service, req *berthv1.UpdateServiceRequest, sc **berthv1.ServiceConnectConfiguration) (bool, error) {
	switch {
	case len(req.GetVolumeConfigurations().GetValues()) > 0:
		return false, unsupported("volumeConfigurations", "berth has no Amazon EBS volumes; use a task definition volume")
	case len(req.GetVpcLatticeConfigurations().GetValues()) > 0:
		return false, unsupported("vpcLatticeConfigurations", "berth has no Amazon VPC Lattice")
	case req.DeploymentController != nil && req.DeploymentController.GetType() != svc.GetDeploymentController().GetType():
		return false, unsupported("deploymentController", "berth cannot change a service's deployment controller; create a new service")
	}
	if err := checkAZRebalancing(req.GetAvailabilityZoneRebalancing()); err != nil {
		return false, err
	}
	if err := checkPropagateTags(req.GetPropagateTags()); err != nil {
		return false, err
	}
	family, rev, err := arn.TaskDefinition(svc.TaskDefinition)
	if err != nil {
		return false, err
	}
	tdRec, err := s.store.TaskDefinition(family, rev)
	if err != nil {
		return false, err
	}
	td := tdRec.TaskDefinition
	changed := false
	if req.LoadBalancers != nil {
		lbs, err := listOf("loadBalancers", req.LoadBalancers, func() *berthv1.LoadBalancer { return &berthv1.LoadBalancer{} })
		if err != nil {
			return false, err
		}
		if err := checkLoadBalancers(td, lbs); err != nil {
			return false, err
		}
		if cluster, err := arn.ClusterName(svc.ClusterArn); err != nil {
			return false, err
		} else if err := s.checkSharedTargetGroups(cluster, svc.ServiceName, lbs); err != nil {
			return false, err
		}
		if err := s.checkTargetTypes(td, lbs); err != nil {
			return false, err
		}
		changed = changed || !equalList(lbs, svc.LoadBalancers)
		svc.LoadBalancers = lbs
	} else if err := checkLoadBalancers(td, svc.LoadBalancers); err != nil {
		return false, err // a new task definition must still have the containers and ports
	} else if req.GetTaskDefinition() != "" {
		if err := s.checkTargetTypes(td, svc.LoadBalancers); err != nil {
			return false, err // and a network mode its target groups' type serves
		}
	}
	if req.ServiceRegistries != nil {
		regs, err := listOf("serviceRegistries", req.ServiceRegistries, func() *berthv1.ServiceRegistry { return &berthv1.ServiceRegistry{} })
		if err != nil {
			return false, err
		}
		if err := checkServiceRegistries(td, regs); err != nil {
			return false, err
		}
		changed = changed || !equalList(regs, svc.ServiceRegistries)
		svc.ServiceRegistries = regs
	}
	if req.ServiceConnectConfiguration != nil {
		if err := checkServiceConnect(td, req.ServiceConnectConfiguration); err != nil {
			return false, err
		}
		changed = changed || !proto.Equal(req.ServiceConnectConfiguration, *sc)
		*sc = req.ServiceConnectConfiguration
	}
	if v := req.GetPlatformVersion(); v != "" && v != svc.PlatformVersion {
		svc.PlatformVersion, changed = v, true
	}
	updateSettings(svc, req)
	return changed, nil
}

// updateSettings applies UpdateService's members that start no deployment
// and apply to every kind of service: AZ rebalancing, managed tags, tag
// propagation and ECS Exec (for the tasks started from now on).
func updateSettings(svc *berthv1.Service, req *berthv1.UpdateServiceRequest) {
	if v := req.GetAvailabilityZoneRebalancing(); v != "" {
		svc.AvailabilityZoneRebalancing = v
	}
	if req.EnableEcsManagedTags != nil {
		svc.EnableEcsManagedTags = req.GetEnableEcsManagedTags()
	}
	if v := req.GetPropagateTags(); v != "" {
		svc.PropagateTags = v
	}
	if req.EnableExecuteCommand != nil {
		svc.EnableExecuteCommand = req.GetEnableExecuteCommand()
	}
}

func equalList[T proto.Message](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// With the EXTERNAL deployment controller, load balancers, service
// registries and what runs belong to the task sets: the service's own
// members of them are refused, naming each.
const externalMember = "not allowed with the EXTERNAL deployment controller: give it to CreateTaskSet"

// checkExternalCreateMembers checks CreateService's members beyond the
// scheduler's for a service with the EXTERNAL deployment controller.
func checkExternalCreateMembers(req *berthv1.CreateServiceRequest) error {
	switch {
	case len(req.GetLoadBalancers()) > 0:
		return ecserr.Param("loadBalancers", externalMember)
	case len(req.GetServiceRegistries()) > 0:
		return ecserr.Param("serviceRegistries", externalMember)
	case req.ServiceConnectConfiguration != nil:
		return ecserr.Param("serviceConnectConfiguration", externalMember)
	}
	if err := checkRefusedCreate(req); err != nil {
		return err
	}
	if err := checkPropagateTags(req.GetPropagateTags()); err != nil {
		return err
	}
	return checkAZRebalancing(req.GetAvailabilityZoneRebalancing())
}

// updateExternalMembers applies UpdateService's members beyond the
// scheduler's to a service with the EXTERNAL deployment controller.
func updateExternalMembers(svc *berthv1.Service, req *berthv1.UpdateServiceRequest) error {
	switch {
	case len(req.GetVolumeConfigurations().GetValues()) > 0:
		return unsupported("volumeConfigurations", "berth has no Amazon EBS volumes; use a task definition volume")
	case len(req.GetVpcLatticeConfigurations().GetValues()) > 0:
		return unsupported("vpcLatticeConfigurations", "berth has no Amazon VPC Lattice")
	case req.DeploymentController != nil && req.DeploymentController.GetType() != svc.GetDeploymentController().GetType():
		return unsupported("deploymentController", "berth cannot change a service's deployment controller; create a new service")
	case req.LoadBalancers != nil:
		return ecserr.Param("loadBalancers", externalMember)
	case req.ServiceRegistries != nil:
		return ecserr.Param("serviceRegistries", externalMember)
	case req.ServiceConnectConfiguration != nil:
		return ecserr.Param("serviceConnectConfiguration", externalMember)
	}
	if err := checkAZRebalancing(req.GetAvailabilityZoneRebalancing()); err != nil {
		return err
	}
	if err := checkPropagateTags(req.GetPropagateTags()); err != nil {
		return err
	}
	updateSettings(svc, req)
	return nil
}
