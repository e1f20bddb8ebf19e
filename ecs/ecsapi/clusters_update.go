package ecsapi

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// UpdateCluster changes a cluster's settings, configuration and service
// connect defaults. They are stored and shown; nothing acts on them yet.
func (s *Server) UpdateCluster(ctx context.Context, req *berthv1.UpdateClusterRequest) (*berthv1.UpdateClusterResponse, error) {
	cmd, err := s.updateClusterCommand(req.GetCluster(), req.GetSettings())
	if err != nil {
		return nil, err
	}
	if err := validateClusterConfiguration("configuration", req.GetConfiguration()); err != nil {
		return nil, err
	}
	if err := validateServiceConnectDefaults("serviceConnectDefaults", req.GetServiceConnectDefaults()); err != nil {
		return nil, err
	}
	cmd.Configuration = req.GetConfiguration()
	cmd.ServiceConnectDefaults = req.GetServiceConnectDefaults()
	cl, err := s.updateCluster(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &berthv1.UpdateClusterResponse{Cluster: cl}, nil
}

// UpdateClusterSettings changes a cluster's settings (containerInsights).
func (s *Server) UpdateClusterSettings(ctx context.Context, req *berthv1.UpdateClusterSettingsRequest) (*berthv1.UpdateClusterSettingsResponse, error) {
	if len(req.GetSettings()) == 0 {
		return nil, ecserr.Param("settings", "is required")
	}
	cmd, err := s.updateClusterCommand(req.GetCluster(), req.GetSettings())
	if err != nil {
		return nil, err
	}
	cl, err := s.updateCluster(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &berthv1.UpdateClusterSettingsResponse{Cluster: cl}, nil
}

func (s *Server) updateClusterCommand(cluster string, settings []*berthv1.ClusterSetting) (*berthv1.UpdateClusterCommand, error) {
	if cluster == "" {
		return nil, ecserr.Param("cluster", "is required")
	}
	name, err := s.parseClusterName("cluster", cluster)
	if err != nil {
		return nil, err
	}
	if err := validateClusterSettings("settings", settings); err != nil {
		return nil, err
	}
	return &berthv1.UpdateClusterCommand{ClusterName: name, Settings: settings}, nil
}

func (s *Server) updateCluster(ctx context.Context, cmd *berthv1.UpdateClusterCommand) (*berthv1.Cluster, error) {
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_UpdateCluster{UpdateCluster: cmd}})
	if err != nil {
		return nil, err
	}
	cl := s.renderCluster(res.(*berthv1.Cluster), true)
	if err := s.count(cl); err != nil {
		return nil, err
	}
	return cl, nil
}

// validateClusterSettings checks cluster settings: ECS has one,
// containerInsights, set to enabled, disabled or enhanced, at most once.
func validateClusterSettings(field string, settings []*berthv1.ClusterSetting) error {
	seen := map[string]bool{}
	for i, st := range settings {
		path := fmt.Sprintf("%s[%d]", field, i)
		if st.GetName() != "containerInsights" {
			return ecserr.Param(path+".name", "must be containerInsights, not %q", st.GetName())
		}
		if !includes([]string{"enabled", "disabled", "enhanced"}, st.GetValue()) {
			return ecserr.Param(path+".value", "must be enabled, disabled or enhanced, not %q", st.GetValue())
		}
		if seen[st.GetName()] {
			return ecserr.Param(path+".name", "%q is given twice", st.GetName())
		}
		seen[st.GetName()] = true
	}
	return nil
}

// validateClusterConfiguration checks a cluster's configuration: the execute
// command logging is NONE, DEFAULT or OVERRIDE, and a log configuration is
// given exactly when it is OVERRIDE.
func validateClusterConfiguration(field string, conf *berthv1.ClusterConfiguration) error {
	e := conf.GetExecuteCommandConfiguration()
	if e == nil {
		return nil
	}
	path := field + ".executeCommandConfiguration"
	switch e.GetLogging() {
	case "OVERRIDE":
		lc := e.GetLogConfiguration()
		if lc == nil {
			return ecserr.Param(path+".logConfiguration", "is required when logging is OVERRIDE")
		}
		if lc.GetCloudWatchLogGroupName() == "" && lc.GetS3BucketName() == "" {
			return ecserr.Param(path+".logConfiguration", "must name a cloudWatchLogGroupName or an s3BucketName when logging is OVERRIDE")
		}
	case "", "NONE", "DEFAULT":
		if e.GetLogConfiguration() != nil {
			return ecserr.Param(path+".logConfiguration", "is allowed only when logging is OVERRIDE")
		}
	default:
		return ecserr.Param(path+".logging", "must be NONE, DEFAULT or OVERRIDE, not %q", e.GetLogging())
	}
	return nil
}

// validateServiceConnectDefaults checks a default Service Connect namespace:
// a name (up to 1024 characters, none of > < " /) or an ARN; "" removes the
// defaults.
func validateServiceConnectDefaults(field string, d *berthv1.ClusterServiceConnectDefaults) error {
	ns := d.GetNamespace()
	if ns == "" || strings.HasPrefix(ns, "arn:") {
		return nil
	}
	if utf8.RuneCountInString(ns) > 1024 {
		return ecserr.Param(field+".namespace", "must be at most 1024 characters")
	}
	if strings.ContainsAny(ns, `<>"/`) {
		return ecserr.Param(field+".namespace", "%q: a namespace name cannot contain > < \" or /", ns)
	}
	return nil
}
