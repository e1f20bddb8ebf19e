package awsapi_test

import (
	"bytes"
	"crypto/sha256"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/awsapi/awsjson"
)

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func awsjsonUnmarshal(b []byte, m proto.Message) error { return awsjson.Unmarshal(b, m) }

func ioNopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
