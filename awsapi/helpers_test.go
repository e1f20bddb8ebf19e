package awsapi_test

import (
	"crypto/sha256"

	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/awsapi/awsjson"
)

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func awsjsonUnmarshal(b []byte, m proto.Message) error { return awsjson.Unmarshal(b, m) }
