// Package awsjson decodes and encodes the JSON documents of AWS's JSON
// protocols (request and response bodies, ECS task definitions) into berth's
// protobuf messages.
//
// Decoding is strict: a member the message does not have is an error that names
// its path, e.g. "containerDefinitions[0].portBindings: unknown field", and so
// is a value of the wrong JSON type. protojson does the actual decoding; this
// package first walks the document against the message descriptor only to find
// such paths, since protojson reports positions as line:column. As protojson
// does, it accepts each field under its JSON name (ECS's member name) or its
// proto name, numbers written as strings ("256") and null as "not set".
//
// Encoding writes AWS's member names and leaves out members that are not set;
// a Rule names the members a service writes even when empty or zero (ECS's
// "serviceArns": []), which protobuf cannot tell from members not set.
// MarshalRule walks the message itself to write them in place, writing every
// value as protojson does (its test holds it to protojson's output).
//
// Errors are *apierr.Error of class InvalidArgument. The package does no I/O.
package awsjson

import (
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/apierr"
)

// Unmarshal decodes the JSON document data into m, strictly: a syntax
// error, an unknown member or a value of the wrong type is an InvalidArgument
// *apierr.Error naming the line and column or the field path.
func Unmarshal(data []byte, m proto.Message) error {
	doc, err := parse(data)
	if err != nil {
		return err
	}
	if err := walkMessage(doc, m.ProtoReflect().Descriptor(), ""); err != nil {
		return err
	}
	if err := protojson.Unmarshal(data, m); err != nil {
		// The walk accepts what protojson does, so this is rare: a value out of
		// range for its type, say. protojson's own text is the best there is.
		return apierr.New(apierr.InvalidArgument, "",
			"invalid request: %v", err)
	}
	return nil
}

// Marshal encodes m as AWS writes its JSON: AWS's member names, and members
// that are not set left out (MarshalRule also writes the members a service
// sends when they are empty). Like protojson's, the output's whitespace is not
// stable between releases: compare decoded messages, not bytes.
func Marshal(m proto.Message) ([]byte, error) {
	return protojson.MarshalOptions{UseProtoNames: false, EmitUnpopulated: false}.Marshal(m)
}
