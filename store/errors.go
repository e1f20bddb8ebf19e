package store

import "github.com/berth/berth/apierr"

// Why the store refuses a command or a read, for the API boundary to choose
// each service's exception name (ecs/ecserr does for ECS). The store names
// no wire's exceptions.
const (
	ReasonClusterNotFound          = "ClusterNotFound"
	ReasonServiceNotFound          = "ServiceNotFound"
	ReasonClusterHasServices       = "ClusterHasServices"
	ReasonClusterHasInstances      = "ClusterHasInstances"
	ReasonClusterHasTasks          = "ClusterHasTasks"
	ReasonCapacityProviderInUse    = "CapacityProviderInUse"
	ReasonCapacityProviderNotFound = "CapacityProviderNotFound"
	ReasonTaskNotFound             = "TaskNotFound"
	// ReasonBadParameter is a request parameter that names something the
	// store cannot take (a provider that does not exist, a name in use).
	ReasonBadParameter = "BadParameter"
)

// ECS's own texts for the store's refusals, word for word: quoted by moto's
// ECS tests and by aws CLI output in the issues of ECS tools. The store's
// own words, which name the cluster or service, stay in the error's Detail.
const (
	TextClusterNotFound = "Cluster not found."
	TextServiceNotFound = "Service not found."
	TextTaskNotFound    = "The referenced task was not found."
)

// refused returns an error of the class and reason.
func refused(class apierr.Class, reason, format string, args ...any) error {
	return apierr.New(class, reason, format, args...)
}

// badParameter returns the InvalidArgument error about a request parameter.
func badParameter(path, format string, args ...any) error {
	e := apierr.Field(path, format, args...)
	e.Reason = ReasonBadParameter
	return e
}
