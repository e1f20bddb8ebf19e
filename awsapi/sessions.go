package awsapi

import "errors"

// Session is who a request signed with temporary credentials acts as: a
// role, on behalf of a subject (the task, or later the Lambda function, the
// credentials were issued to). berth has no IAM policy engine: every role
// may call every service; the front door keeps the session on the request's
// context (CallerFrom) and in its audit log line, for a later policy check.
type Session struct {
	RoleARN string
	Subject string
}

// SessionKeys checks temporary credentials: an access key that comes with a
// session token (X-Amz-Security-Token).
type SessionKeys interface {
	// CheckSession returns who accessKeyID with token acts as and the secret
	// the request must be signed with. A refusal wraps ErrTokenExpired or
	// ErrTokenInvalid; any other error is a failure to check.
	CheckSession(accessKeyID, token string) (Session, string, error)
}

// The refusals of SessionKeys: the front door answers them as AWS does
// (ExpiredTokenException; UnrecognizedClientException, InvalidClientTokenId
// in the query protocol), with 403.
var (
	ErrTokenExpired = errors.New("the security token included in the request is expired")
	ErrTokenInvalid = errors.New("the security token included in the request is invalid")
)
