package schedulerapi

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/awsapi/awsjson"
)

// routes place Scheduler's operations, as its REST-JSON model does.
var routes = map[string]awsapi.Route{
	"CreateSchedule":      {Method: "POST", Path: "/schedules/{Name}"},
	"GetSchedule":         {Method: "GET", Path: "/schedules/{Name}", Query: map[string]string{"groupName": "GroupName"}},
	"UpdateSchedule":      {Method: "PUT", Path: "/schedules/{Name}"},
	"DeleteSchedule":      {Method: "DELETE", Path: "/schedules/{Name}", Query: map[string]string{"groupName": "GroupName", "clientToken": "ClientToken"}},
	"ListSchedules":       {Method: "GET", Path: "/schedules", Query: map[string]string{"ScheduleGroup": "GroupName", "MaxResults": "MaxResults", "NamePrefix": "NamePrefix", "NextToken": "NextToken", "State": "State"}},
	"CreateScheduleGroup": {Method: "POST", Path: "/schedule-groups/{Name}"},
	"GetScheduleGroup":    {Method: "GET", Path: "/schedule-groups/{Name}"},
	"DeleteScheduleGroup": {Method: "DELETE", Path: "/schedule-groups/{Name}", Query: map[string]string{"clientToken": "ClientToken"}},
	"ListScheduleGroups":  {Method: "GET", Path: "/schedule-groups", Query: map[string]string{"MaxResults": "MaxResults", "NamePrefix": "NamePrefix", "NextToken": "NextToken"}},
}

// render: the members Scheduler writes when empty.
var render = awsjson.Rule{
	"berth.v1.ListSchedulesResponse":      {{Name: "Schedules"}},
	"berth.v1.ListScheduleGroupsResponse": {{Name: "ScheduleGroups"}},
}

// Wire is Scheduler on the AWS front door: REST-JSON, signed for
// "scheduler".
func Wire(s *Server) awsapi.Service {
	return awsapi.Service{
		Name: "scheduler", SigningName: "scheduler", Protocols: []awsapi.Protocol{awsapi.RESTJSON},
		Desc: &berthv1.Scheduler_ServiceDesc, Impl: s, Routes: routes, Exception: Exception, Render: render,
	}
}
