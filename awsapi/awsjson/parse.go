package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/berth/berth/apierr"
)

// maxDepth bounds the nesting of a document. ECS documents nest a handful of
// levels; the bound keeps hostile input from recursing without end.
const maxDepth = 64

// object is a JSON object with its members in document order, so that the
// first bad member reported is the first one in the document.
type object struct {
	members []member
}

type member struct {
	key   string
	value any // object, []any, string, json.Number, bool or nil
}

// parse reads one JSON value from data into a tree of object, []any, string,
// json.Number, bool and nil, or returns an error that says where the syntax
// breaks.
func parse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, syntaxError(data, dec, err)
	}
	if rest := nextByte(data, dec.InputOffset()); rest < int64(len(data)) {
		return nil, syntaxAt(data, rest, "data after the top-level value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		return parseObject(dec, depth)
	case json.Delim('['):
		return parseArray(dec, depth)
	}
	return tok, nil // string, json.Number, bool or nil
}

func parseObject(dec *json.Decoder, depth int) (any, error) {
	obj := object{}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		v, err := parseValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		obj.members = append(obj.members, member{key: key.(string), value: v})
	}
	_, err := dec.Token() // '}'
	return obj, err
}

func parseArray(dec *json.Decoder, depth int) (any, error) {
	list := []any{}
	for dec.More() {
		v, err := parseValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	_, err := dec.Token() // ']'
	return list, err
}

var errTooDeep = errors.New("nested too deeply")

// syntaxError turns a decoder error into an InvalidArgument error that gives
// the line and column. In the decoder's token mode a SyntaxError's Offset is
// not always from the start of the input, so the position is taken from the
// decoder: the first non-blank byte it has not consumed is the offending one.
func syntaxError(data []byte, dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return syntaxAt(data, int64(len(data)), "unexpected end of input")
	}
	return syntaxAt(data, nextByte(data, dec.InputOffset()), err.Error())
}

// nextByte returns the offset of the first non-blank byte at or after off.
func nextByte(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n", data[off]) >= 0 {
		off++
	}
	return off
}

// syntaxAt reports a syntax error at the byte at offset as line:column, both
// 1-based; the column counts bytes.
func syntaxAt(data []byte, offset int64, msg string) error {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return apierr.New(apierr.InvalidArgument, "",
		"invalid JSON at line %d, column %d: %s", line, col, msg)
}
