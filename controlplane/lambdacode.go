package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/johannesboyne/gofakes3"
)

// lambdaCode reads a Lambda deployment package from berth's S3, for
// CreateFunction's and UpdateFunctionCode's S3Bucket and S3Key. Lambda
// copies the object when the function is made, as this does: later changes
// to the object do not change the function.
func (c *ControlPlane) lambdaCode(_ context.Context, bucket, key string, limit int64) ([]byte, error) {
	objects := c.s3Objects()
	if objects == nil {
		return nil, errors.New("S3 Error Code: ServiceUnavailable. S3 Error Message: berth's S3 is not running")
	}
	obj, err := objects.GetObject(bucket, key, nil)
	if err != nil {
		return nil, s3ErrorText(err)
	}
	defer obj.Contents.Close()
	b, err := io.ReadAll(io.LimitReader(obj.Contents, limit+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("S3 Error Code: InternalError. S3 Error Message: %v", err)
	case int64(len(b)) > limit:
		return nil, fmt.Errorf("S3 Error Code: EntityTooLarge. S3 Error Message: the object is over Lambda's limit of %d bytes", limit)
	}
	return b, nil
}

// s3ErrorText says an S3 error as Lambda quotes it.
func s3ErrorText(err error) error {
	var coded interface{ ErrorCode() gofakes3.ErrorCode }
	if !errors.As(err, &coded) {
		return fmt.Errorf("S3 Error Code: InternalError. S3 Error Message: %v", err)
	}
	msg := err.Error()
	switch coded.ErrorCode() {
	case gofakes3.ErrNoSuchKey:
		msg = "The specified key does not exist."
	case gofakes3.ErrNoSuchBucket:
		msg = "The specified bucket does not exist"
	}
	return fmt.Errorf("S3 Error Code: %s. S3 Error Message: %s", coded.ErrorCode(), msg)
}
