// Package ssm is the pure half of berth's SSM Parameter Store: the rules SSM
// puts on parameter names, values, tiers, labels and filters, and the
// decisions that turn a stored parameter and a request into the next stored
// parameter (a new version, a label moved, the oldest version dropped).
//
// It does no I/O: no store, no clock (times come in), no keys (values come in
// sealed by the caller). Errors are *apierr.Error carrying SSM's own
// exception names (ParameterAlreadyExists, ValidationException, ...), so the
// wire sends exactly what SSM sends; ssm/ssmapi does the I/O around it.
// No error of this package quotes a parameter's value.
package ssm
