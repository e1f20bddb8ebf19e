package ecserr

import "fmt"

// ECS's own texts for the errors berth raises where ECS has a known one,
// word for word, each with where it is quoted. berth's field path and rule
// stay beside the text (apierr.Error's Field and Detail), sent as extra
// members of the error body and as gRPC details.
//
// The store raises three of ECS's texts itself: store.TextClusterNotFound
// ("Cluster not found.", ClusterNotFoundException) and
// store.TextServiceNotFound ("Service not found.",
// ServiceNotFoundException), quoted by moto's ECS models and tests; and
// store.TextTaskNotFound ("The referenced task was not found.", StopTask's
// InvalidParameterException), quoted by Apache Airflow's ECS executor tests
// (a StopTask ClientError fixture) and fog-aws's ECS mock.
const (
	// TextRevisionMissing is DeregisterTaskDefinition's ClientException for
	// a family without a revision: moto's ECS tests
	// (test_deregister_task_definition_2).
	TextRevisionMissing = "Revision is missing."
	// TextTaskDefinitionUndescribable is the ClientException of
	// DescribeTaskDefinition and DeregisterTaskDefinition for a revision
	// that does not exist: aws CLI output quoted in sil-org/ecs-deploy#145
	// and hashicorp/terraform#12609; moto's ECS tests.
	TextTaskDefinitionUndescribable = "Unable to describe task definition."
	// TextTaskDefinitionNotFound is CreateService's (and UpdateService's)
	// ClientException for a task definition that does not exist or is not
	// ACTIVE: quoted in Cloud-CV/EvalAI#2419 and remind101/empire#353.
	TextTaskDefinitionNotFound = "TaskDefinition not found."
	// TextServiceScaledAbove0 is DeleteService's InvalidParameterException
	// for a service with a desiredCount above 0 and no force: moto's ECS
	// models and tests, and user reports of the ECS console and CLI.
	TextServiceScaledAbove0 = "The service cannot be stopped while it is scaled above 0."
)

// TextInvalidRevision is the InvalidParameterException for a revision that
// is not a number ("Invalid revision number. Number: latest" in an ECS
// error quoted from CodeDeploy's ECS_UPDATE_ERROR; moto's ECS tests with
// "foo").
func TextInvalidRevision(rev string) string { return "Invalid revision number. Number: " + rev }

// TextContainerMissing is RegisterTaskDefinition's ClientException for a
// container definition without a required member ("name", "image"): moto's
// ECS models (TaskDefinitionMissingPropertyError) and tests.
func TextContainerMissing(member string) string {
	return fmt.Sprintf("Container.%s should not be null or empty.", member)
}

// TextContainerNoMemory is RegisterTaskDefinition's ClientException for a
// container with neither memory nor memoryReservation in a task without
// task-level memory: ECS's error quoted in the aws-cdk Datadog construct
// ("confirmed live") and moto's ECS tests.
func TextContainerNoMemory(container string) string {
	return fmt.Sprintf("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", container)
}

// TextDependsOnMissing is RegisterTaskDefinition's ClientException for a
// dependsOn that names no container of the task, with ECS's own stray "+":
// quoted from ECS in dagster-io/dagster#6926.
func TextDependsOnMissing(container string) string {
	return fmt.Sprintf("Cannot depend on container + '%s' because it does not exist", container)
}

// TextTargetTypeIncompatible is CreateService's and UpdateService's
// InvalidParameterException for a target group whose target type the task
// definition's network mode cannot serve (instance with awsvpc, ip with
// bridge or host), as ECS answers it in user reports of awsvpc services
// put behind an instance target group.
func TextTargetTypeIncompatible(targetGroupArn, targetType, networkMode string) string {
	return fmt.Sprintf("The provided target group %s has target type %s, which is incompatible with the %s network mode specified in the task definition.", targetGroupArn, targetType, networkMode)
}
