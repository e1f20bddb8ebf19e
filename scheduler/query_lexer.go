package scheduler

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind classifies the tokens of the cluster query language.
type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
	tokComma
	tokAnd       // and, &&
	tokOr        // or, ||
	tokNot       // not, !
	tokCompare   // == != > >= < <= =~ !~
	tokExists    // exists
	tokNotExists // !exists
	tokIn        // in
	tokNotIn     // !in
	tokWord      // a subject or an unquoted value
	tokString    // a quoted value; text holds it unquoted
)

// token is one lexeme and the byte offset where it starts.
type token struct {
	kind tokenKind
	text string
	pos  int
}

// describe names the token for error messages.
func (t token) describe() string {
	if t.kind == tokEOF {
		return "end of expression"
	}
	return fmt.Sprintf("%q", t.text)
}

// SyntaxError is a query expression that does not parse or names an unknown subject.
// Offset is the byte offset of the offending token; Error reports it as a 1-based column.
type SyntaxError struct {
	Offset int
	Msg    string
}

// Error reports the column and what is wrong there.
func (e *SyntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.Offset+1, e.Msg) }

// Is makes a SyntaxError match ErrInvalidPlacement, since it is always bad user input.
func (e *SyntaxError) Is(target error) bool { return target == ErrInvalidPlacement }

// lexer splits an expression into tokens, one at a time.
type lexer struct {
	src string
	pos int
}

// symbols are the operator spellings, longest first so "!=" wins over "!".
var symbols = []struct {
	text string
	kind tokenKind
}{
	{"&&", tokAnd}, {"||", tokOr}, {"==", tokCompare}, {"!=", tokCompare},
	{">=", tokCompare}, {"<=", tokCompare}, {"=~", tokCompare}, {"!~", tokCompare},
	{">", tokCompare}, {"<", tokCompare}, {"!", tokNot},
	{"(", tokLParen}, {")", tokRParen}, {"[", tokLBracket}, {"]", tokRBracket}, {",", tokComma},
}

// keywords are the word operators, matched case-insensitively.
var keywords = map[string]tokenKind{
	"and": tokAnd, "or": tokOr, "not": tokNot, "exists": tokExists, "in": tokIn,
}

// next returns the next token, or a SyntaxError for an unterminated quote.
func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	start := l.pos
	if start == len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	if c := l.src[start]; c == '"' || c == '\'' {
		return l.quoted(c)
	}
	if t, ok := l.negatedKeyword(); ok {
		return t, nil
	}
	for _, s := range symbols {
		if strings.HasPrefix(l.src[start:], s.text) {
			l.pos += len(s.text)
			return token{kind: s.kind, text: s.text, pos: start}, nil
		}
	}
	for l.pos < len(l.src) && isWordByte(l.src[l.pos]) {
		l.pos++
	}
	if l.pos == start { // a byte that starts nothing, such as a lone '=' or '&'
		r, _ := utf8.DecodeRuneInString(l.src[start:])
		return token{}, &SyntaxError{Offset: start, Msg: fmt.Sprintf("unexpected %q", r)}
	}
	word := l.src[start:l.pos]
	if k, ok := keywords[strings.ToLower(word)]; ok {
		return token{kind: k, text: word, pos: start}, nil
	}
	return token{kind: tokWord, text: word, pos: start}, nil
}

// negatedKeyword lexes "!exists" and "!in", which ECS writes without a space.
func (l *lexer) negatedKeyword() (token, bool) {
	rest := l.src[l.pos:]
	for _, kw := range []struct {
		text string
		kind tokenKind
	}{{"!exists", tokNotExists}, {"!in", tokNotIn}} {
		n := len(kw.text)
		if len(rest) >= n && strings.EqualFold(rest[:n], kw.text) && (len(rest) == n || !isWordByte(rest[n])) {
			t := token{kind: kw.kind, text: rest[:n], pos: l.pos}
			l.pos += n
			return t, true
		}
	}
	return token{}, false
}

// quoted lexes a value in single or double quotes; there are no escapes.
func (l *lexer) quoted(q byte) (token, error) {
	start := l.pos
	end := strings.IndexByte(l.src[start+1:], q)
	if end < 0 {
		return token{}, &SyntaxError{Offset: start, Msg: "unterminated quoted value"}
	}
	l.pos = start + 1 + end + 1
	return token{kind: tokString, text: l.src[start+1 : start+1+end], pos: start}, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isWordByte reports whether c may appear in an unquoted subject or value. Values with
// spaces, parentheses, brackets, commas or operator characters must be quoted.
func isWordByte(c byte) bool {
	if c >= utf8.RuneSelf {
		return true
	}
	switch c {
	case '(', ')', '[', ']', ',', '"', '\'', '=', '!', '<', '>', '&', '|':
		return false
	}
	return !unicode.IsSpace(rune(c)) && unicode.IsPrint(rune(c))
}
