package ecsapi

import (
	"context"
	"regexp"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// accountSetting is one of ECS's account settings: the values it takes,
// ECS's default, and who may set it.
type accountSetting struct {
	name       string
	values     []string
	def        string
	rootOnly   bool // only the account's default (the root user) has it
	awsManaged bool // read-only: AWS sets it (guardDutyActivate)
}

var (
	onOff        = []string{"enabled", "disabled"}
	longArnRules = onOff
)

// accountSettings are ECS's settings in the order ECS's API model lists
// them, with ECS's documented defaults. None of them changes what berth does
// (berth's ARNs are always the long format).
var accountSettings = []accountSetting{
	{name: "serviceLongArnFormat", values: longArnRules, def: "enabled"},
	{name: "taskLongArnFormat", values: longArnRules, def: "enabled"},
	{name: "containerInstanceLongArnFormat", values: longArnRules, def: "enabled"},
	{name: "awsvpcTrunking", values: onOff, def: "disabled"},
	{name: "containerInsights", values: []string{"enabled", "disabled", "enhanced"}, def: "disabled"},
	{name: "dualStackIPv6", values: onOff, def: "disabled"},
	{name: "fargateFIPSMode", values: onOff, def: "disabled", rootOnly: true},
	{name: "tagResourceAuthorization", values: []string{"on", "off"}, def: "on"},
	{name: "fargateTaskRetirementWaitPeriod", values: []string{"0", "7", "14"}, def: "7", rootOnly: true},
	{name: "guardDutyActivate", values: onOff, def: "disabled", awsManaged: true},
	{name: "defaultLogDriverMode", values: []string{"blocking", "non-blocking"}, def: "non-blocking"},
	{name: "fargateEventWindows", values: onOff, def: "disabled"},
}

func findAccountSetting(name string) (accountSetting, int, bool) {
	for i, st := range accountSettings {
		if st.name == name {
			return st, i, true
		}
	}
	return accountSetting{}, 0, false
}

// settingName checks the name member.
func settingName(name string) (accountSetting, error) {
	if name == "" {
		return accountSetting{}, ecserr.Param("name", "is required")
	}
	st, _, ok := findAccountSetting(name)
	if !ok {
		names := make([]string, len(accountSettings))
		for i, s := range accountSettings {
			names[i] = s.name
		}
		return accountSetting{}, ecserr.Param("name", "%q is not an account setting: one of %s", name, strings.Join(names, ", "))
	}
	return st, nil
}

// checkValue checks the value member for setting st.
func (st accountSetting) checkValue(value string) error {
	if value == "" {
		return ecserr.Param("value", "is required")
	}
	if !includes(st.values, value) {
		return ecserr.Param("value", "%q is not a value of %s: one of %s", value, st.name, strings.Join(st.values, ", "))
	}
	return nil
}

func (st accountSetting) settingType() string {
	if st.awsManaged {
		return "aws_managed"
	}
	return "user"
}

// principalPattern is an IAM principal of an account: its root user, a user
// or a role (with a path).
var principalPattern = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):(root|user/[\w+=,.@/-]+|role/[\w+=,.@/-]+)$`)

// rootArn is the account's root user: the caller of every request, as berth
// has one account and its callers hold the admin token.
func (s *Server) rootArn() string { return "arn:aws:iam::" + s.arns.Account + ":root" }

// principal reads principalArn: the caller (the root user) when empty, else
// a user, role or the root user of berth's account.
func (s *Server) principal(v string) (string, error) {
	if v == "" {
		return s.rootArn(), nil
	}
	m := principalPattern.FindStringSubmatch(v)
	if m == nil {
		return "", ecserr.Param("principalArn", "%q is not the ARN of an IAM user, role or root user (arn:aws:iam::ACCOUNT:user/NAME)", v)
	}
	if m[1] != s.arns.Account {
		return "", ecserr.Param("principalArn", "%q is not a principal of account %s", v, s.arns.Account)
	}
	return v, nil
}

// PutAccountSetting sets one setting for a principal (the caller, the root
// user, when none is named); the root user's settings are the account's
// defaults.
func (s *Server) PutAccountSetting(ctx context.Context, req *berthv1.PutAccountSettingRequest) (*berthv1.PutAccountSettingResponse, error) {
	st, err := settingName(req.GetName())
	if err != nil {
		return nil, err
	}
	principal, err := s.principal(req.GetPrincipalArn())
	if err != nil {
		return nil, err
	}
	out, err := s.putSetting(ctx, st, principal, req.GetValue())
	if err != nil {
		return nil, err
	}
	return &berthv1.PutAccountSettingResponse{Setting: out}, nil
}

// PutAccountSettingDefault sets one setting for every principal of the
// account that has none of its own: the root user's setting.
func (s *Server) PutAccountSettingDefault(ctx context.Context, req *berthv1.PutAccountSettingDefaultRequest) (*berthv1.PutAccountSettingDefaultResponse, error) {
	st, err := settingName(req.GetName())
	if err != nil {
		return nil, err
	}
	out, err := s.putSetting(ctx, st, s.rootArn(), req.GetValue())
	if err != nil {
		return nil, err
	}
	return &berthv1.PutAccountSettingDefaultResponse{Setting: out}, nil
}

func (s *Server) putSetting(ctx context.Context, st accountSetting, principal, value string) (*berthv1.Setting, error) {
	if err := st.checkValue(value); err != nil {
		return nil, err
	}
	if st.awsManaged {
		return nil, ecserr.Param("name", "%s is managed by AWS and cannot be set", st.name)
	}
	if st.rootOnly && principal != s.rootArn() {
		return nil, ecserr.Param("principalArn", "%s can only be set for the root user (the account's default), not %s", st.name, principal)
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_PutAccountSetting{PutAccountSetting: &berthv1.PutAccountSettingCommand{
		Setting: &berthv1.Setting{Name: st.name, Value: value, PrincipalArn: principal, Type: st.settingType()},
	}}})
	if err != nil {
		return nil, err
	}
	return res.(*berthv1.Setting), nil
}

// DeleteAccountSetting removes a principal's own setting, so that the
// account's default (or, for the root user, ECS's default) applies again. It
// returns the setting removed; when the principal had none, the setting as
// it stands.
func (s *Server) DeleteAccountSetting(ctx context.Context, req *berthv1.DeleteAccountSettingRequest) (*berthv1.DeleteAccountSettingResponse, error) {
	st, err := settingName(req.GetName())
	if err != nil {
		return nil, err
	}
	principal, err := s.principal(req.GetPrincipalArn())
	if err != nil {
		return nil, err
	}
	if st.awsManaged {
		return nil, ecserr.Param("name", "%s is managed by AWS and cannot be deleted", st.name)
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeleteAccountSetting{DeleteAccountSetting: &berthv1.DeleteAccountSettingCommand{
		PrincipalArn: principal, Name: st.name,
	}}})
	if err != nil {
		return nil, err
	}
	out := res.(*berthv1.Setting)
	if out.GetName() == "" {
		eff, err := s.effectiveSettings(principal)
		if err != nil {
			return nil, err
		}
		_, i, _ := findAccountSetting(st.name)
		out = eff[i]
	}
	return &berthv1.DeleteAccountSettingResponse{Setting: out}, nil
}

// effectiveSettings is every setting as it applies to principal, in
// accountSettings' order: its own, else the account's default (the root
// user's), else ECS's default.
func (s *Server) effectiveSettings(principal string) ([]*berthv1.Setting, error) {
	own, err := s.store.AccountSettings(principal)
	if err != nil {
		return nil, err
	}
	var defaults []*berthv1.Setting
	if principal != s.rootArn() {
		if defaults, err = s.store.AccountSettings(s.rootArn()); err != nil {
			return nil, err
		}
	}
	value := func(list []*berthv1.Setting, name string) (string, bool) {
		for _, x := range list {
			if x.GetName() == name {
				return x.GetValue(), true
			}
		}
		return "", false
	}
	out := make([]*berthv1.Setting, len(accountSettings))
	for i, st := range accountSettings {
		v, ok := value(own, st.name)
		if !ok {
			v, ok = value(defaults, st.name)
		}
		if !ok {
			v = st.def
		}
		out[i] = &berthv1.Setting{Name: st.name, Value: v, PrincipalArn: principal, Type: st.settingType()}
	}
	return out, nil
}

// ListAccountSettings lists a principal's settings (the caller's, the root
// user's, when none is named): those it has set, or with effectiveSettings
// every setting as it applies to it. name and value filter; pages of up to
// 10, in ECS's order of the settings.
func (s *Server) ListAccountSettings(ctx context.Context, req *berthv1.ListAccountSettingsRequest) (*berthv1.ListAccountSettingsResponse, error) {
	if req.GetName() != "" {
		if _, err := settingName(req.GetName()); err != nil {
			return nil, err
		}
	} else if req.GetValue() != "" {
		return nil, ecserr.Param("value", "filters only with a setting name: give name too")
	}
	principal, err := s.principal(req.GetPrincipalArn())
	if err != nil {
		return nil, err
	}
	limit, after, err := page(req.GetMaxResults(), req.GetNextToken(), 10)
	if err != nil {
		return nil, err
	}
	start := 0
	if after != "" {
		_, i, ok := findAccountSetting(after)
		if !ok {
			return nil, ecserr.Param("nextToken", "is not a token returned by a previous call")
		}
		start = i + 1
	}
	var list []*berthv1.Setting
	if req.GetEffectiveSettings() {
		list, err = s.effectiveSettings(principal)
	} else {
		var own []*berthv1.Setting
		own, err = s.store.AccountSettings(principal)
		for _, st := range accountSettings { // in ECS's order, not the store's
			for _, x := range own {
				if x.GetName() == st.name {
					list = append(list, x)
				}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	out := &berthv1.ListAccountSettingsResponse{}
	for _, x := range list {
		if _, i, _ := findAccountSetting(x.GetName()); i < start {
			continue
		}
		if (req.GetName() != "" && x.GetName() != req.GetName()) || (req.GetValue() != "" && x.GetValue() != req.GetValue()) {
			continue
		}
		if len(out.Settings) == limit {
			out.NextToken = token(out.Settings[limit-1].GetName())
			break
		}
		out.Settings = append(out.Settings, x)
	}
	return out, nil
}
