package lambdaapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/berth/berth/lambda/lambdaapi"
)

// A Zip function's code may come from an S3 object: it is copied when the
// function is made or updated, and an object that cannot be read is
// Lambda's InvalidParameterValueException quoting S3's error.
func TestCodeFromS3Object(t *testing.T) {
	objects := map[string][]byte{}
	e := start(t, nil, lambdaapi.Config{CodeObject: func(_ context.Context, bucket, key string, limit int64) ([]byte, error) {
		b, ok := objects[bucket+"/"+key]
		if !ok {
			return nil, errors.New("S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.")
		}
		return b, nil
	}})
	ctx := context.Background()
	v1, v2 := zipOf(t, "bootstrap"), zipOf(t, "bootstrap", "lib")
	objects["code/fn-v1.zip"], objects["code/fn-v2.zip"] = v1, v2
	sha := func(b []byte) string { s := sha256.Sum256(b); return base64.StdEncoding.EncodeToString(s[:]) }

	out, err := e.client.CreateFunction(ctx, &sdk.CreateFunctionInput{
		FunctionName: aws.String("froms3"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &types.FunctionCode{S3Bucket: aws.String("code"), S3Key: aws.String("fn-v1.zip")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.CodeSha256); got != sha(v1) {
		t.Fatalf("CodeSha256 %s, want the object's %s", got, sha(v1))
	}
	e.active(t, "froms3")
	delete(objects, "code/fn-v1.zip") // copied: the function does not need the object any more
	up, err := e.client.UpdateFunctionCode(ctx, &sdk.UpdateFunctionCodeInput{FunctionName: aws.String("froms3"), S3Bucket: aws.String("code"), S3Key: aws.String("fn-v2.zip")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(up.CodeSha256); got != sha(v2) {
		t.Fatalf("updated CodeSha256 %s, want %s", got, sha(v2))
	}

	for _, c := range []struct {
		name string
		code types.FunctionCode
		want string
	}{
		{"missing object", types.FunctionCode{S3Bucket: aws.String("code"), S3Key: aws.String("nope.zip")}, "NoSuchKey"},
		{"key without bucket", types.FunctionCode{S3Key: aws.String("fn-v2.zip")}, "S3Bucket"},
		{"bucket without key", types.FunctionCode{S3Bucket: aws.String("code")}, "S3Key"},
		{"zip and object", types.FunctionCode{ZipFile: v1, S3Bucket: aws.String("code"), S3Key: aws.String("fn-v2.zip")}, "other FunctionCode parameters"},
		{"object version", types.FunctionCode{S3Bucket: aws.String("code"), S3Key: aws.String("fn-v2.zip"), S3ObjectVersion: aws.String("3")}, "S3ObjectVersion"},
	} {
		_, err := e.client.CreateFunction(ctx, &sdk.CreateFunctionInput{
			FunctionName: aws.String("bad"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &c.code,
		})
		if code(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want InvalidParameterValueException naming %q", c.name, err, c.want)
		}
	}
	objects["code/notazip.zip"] = []byte("not a zip")
	_, err = e.client.CreateFunction(ctx, &sdk.CreateFunctionInput{
		FunctionName: aws.String("bad"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &types.FunctionCode{S3Bucket: aws.String("code"), S3Key: aws.String("notazip.zip")},
	})
	if code(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), "unzip") {
		t.Errorf("an object that is not a zip: %v", err)
	}
	if _, err := e.client.GetFunction(ctx, &sdk.GetFunctionInput{FunctionName: aws.String("bad")}); code(err) != "ResourceNotFoundException" {
		t.Errorf("a refused function was stored: %v", err)
	}
}
