package lambdaapi

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/awsapi/awsjson"
)

// Wire is Lambda on the AWS front door: REST-JSON, signed for "lambda",
// each operation served by s's gRPC handler of the same name, at Lambda's
// paths.
func Wire(s *Server) awsapi.Service {
	return awsapi.Service{
		Name: "lambda", SigningName: "lambda", Protocols: []awsapi.Protocol{awsapi.RESTJSON},
		Desc: &berthv1.Lambda_ServiceDesc, Impl: s, Routes: Routes, Render: render,
		Exception: Exception, ErrorMembers: ErrorMembers,
	}
}

const fn = "/2015-03-31/functions/{FunctionName}"

var qualifier = map[string]string{"Qualifier": "Qualifier"}

var paging = map[string]string{"Marker": "Marker", "MaxItems": "MaxItems"}

// Routes place Lambda's operations as its API reference does.
var Routes = map[string]awsapi.Route{
	"CreateFunction":                  {Method: "POST", Path: "/2015-03-31/functions", Status: 201},
	"GetFunction":                     {Method: "GET", Path: fn, Query: qualifier},
	"GetFunctionConfiguration":        {Method: "GET", Path: fn + "/configuration", Query: qualifier},
	"ListFunctions":                   {Method: "GET", Path: "/2015-03-31/functions", Query: map[string]string{"Marker": "Marker", "MaxItems": "MaxItems", "FunctionVersion": "FunctionVersion", "MasterRegion": "MasterRegion"}},
	"UpdateFunctionCode":              {Method: "PUT", Path: fn + "/code"},
	"UpdateFunctionConfiguration":     {Method: "PUT", Path: fn + "/configuration"},
	"DeleteFunction":                  {Method: "DELETE", Path: fn, Query: qualifier, Status: 204},
	"PublishVersion":                  {Method: "POST", Path: fn + "/versions", Status: 201},
	"ListVersionsByFunction":          {Method: "GET", Path: fn + "/versions", Query: paging},
	"CreateAlias":                     {Method: "POST", Path: fn + "/aliases", Status: 201},
	"GetAlias":                        {Method: "GET", Path: fn + "/aliases/{Name}"},
	"UpdateAlias":                     {Method: "PUT", Path: fn + "/aliases/{Name}"},
	"DeleteAlias":                     {Method: "DELETE", Path: fn + "/aliases/{Name}", Status: 204},
	"ListAliases":                     {Method: "GET", Path: fn + "/aliases", Query: map[string]string{"Marker": "Marker", "MaxItems": "MaxItems", "FunctionVersion": "FunctionVersion"}},
	"PutFunctionConcurrency":          {Method: "PUT", Path: "/2017-10-31/functions/{FunctionName}/concurrency"},
	"GetFunctionConcurrency":          {Method: "GET", Path: "/2019-09-30/functions/{FunctionName}/concurrency"},
	"DeleteFunctionConcurrency":       {Method: "DELETE", Path: "/2017-10-31/functions/{FunctionName}/concurrency", Status: 204},
	"GetAccountSettings":              {Method: "GET", Path: "/2016-08-19/account-settings"},
	"AddPermission":                   {Method: "POST", Path: fn + "/policy", Query: qualifier, Status: 201},
	"RemovePermission":                {Method: "DELETE", Path: fn + "/policy/{StatementId}", Query: map[string]string{"Qualifier": "Qualifier", "RevisionId": "RevisionId"}, Status: 204},
	"GetPolicy":                       {Method: "GET", Path: fn + "/policy", Query: qualifier},
	"PutFunctionEventInvokeConfig":    {Method: "PUT", Path: "/2019-09-25/functions/{FunctionName}/event-invoke-config", Query: qualifier},
	"GetFunctionEventInvokeConfig":    {Method: "GET", Path: "/2019-09-25/functions/{FunctionName}/event-invoke-config", Query: qualifier},
	"DeleteFunctionEventInvokeConfig": {Method: "DELETE", Path: "/2019-09-25/functions/{FunctionName}/event-invoke-config", Query: qualifier, Status: 204},
	"TagResource":                     {Method: "POST", Path: "/2017-03-31/tags/{Resource}", Status: 204},
	"UntagResource":                   {Method: "DELETE", Path: "/2017-03-31/tags/{Resource}", Query: map[string]string{"tagKeys": "TagKeys"}, Status: 204},
	"ListTags":                        {Method: "GET", Path: "/2017-03-31/tags/{Resource}"},
	"Invoke": {Method: "POST", Path: fn + "/invocations", Query: qualifier,
		Header:  map[string]string{"X-Amz-Invocation-Type": "InvocationType", "X-Amz-Log-Type": "LogType", "X-Amz-Client-Context": "ClientContext"},
		Payload: "Payload", ResponsePayload: "Payload", ResponseStatus: "StatusCode",
		ResponseHeader: map[string]string{"FunctionError": "X-Amz-Function-Error", "LogResult": "X-Amz-Log-Result", "ExecutedVersion": "X-Amz-Executed-Version"}},
	"CreateFunctionUrlConfig": {Method: "POST", Path: "/2021-10-31/functions/{FunctionName}/url", Query: qualifier, Status: 201},
	"GetFunctionUrlConfig":    {Method: "GET", Path: "/2021-10-31/functions/{FunctionName}/url", Query: qualifier},
	"UpdateFunctionUrlConfig": {Method: "PUT", Path: "/2021-10-31/functions/{FunctionName}/url", Query: qualifier},
	"DeleteFunctionUrlConfig": {Method: "DELETE", Path: "/2021-10-31/functions/{FunctionName}/url", Query: qualifier, Status: 204},
}

// render writes the members Lambda sends when empty: its lists, and a
// function's Timeout and MemorySize.
var render = awsjson.Rule{
	"berth.v1.LambdaListFunctionsResponse":          {{Name: "Functions"}},
	"berth.v1.LambdaListVersionsByFunctionResponse": {{Name: "Versions"}},
	"berth.v1.LambdaListAliasesResponse":            {{Name: "Aliases"}},
	"berth.v1.LambdaListTagsResponse":               {{Name: "Tags"}},
	"berth.v1.LambdaAccountUsage":                   {{Name: "TotalCodeSize"}, {Name: "FunctionCount"}},
	"berth.v1.LambdaAccountLimit":                   {{Name: "TotalCodeSize"}, {Name: "CodeSizeUnzipped"}, {Name: "CodeSizeZipped"}, {Name: "ConcurrentExecutions"}, {Name: "UnreservedConcurrentExecutions"}},
	"berth.v1.LambdaFunctionConfiguration":          {{Name: "CodeSize"}, {Name: "Description"}},
}
