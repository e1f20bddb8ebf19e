package scheduler

import (
	"fmt"
	"strings"
)

// Expression is a parsed cluster query language expression, the argument of a memberOf
// constraint and of ListContainerInstances' filter:
//
//	attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d
//	not(task:group == service:web)
//	attribute:ecs.availability-zone in [us-east-1a, us-east-1b]
//
// See query_eval.go for what each subject and operator means. An Expression is immutable
// and safe to share.
type Expression struct {
	root node
}

// node is one node of an expression's syntax tree.
type node interface {
	eval(in *Instance) bool
	// write appends the node in canonical form, fully parenthesized.
	write(b *strings.Builder)
}

type andNode struct{ left, right node }
type orNode struct{ left, right node }
type notNode struct{ operand node }

// ParseExpression parses src. Its errors are *SyntaxError with the offending column.
func ParseExpression(src string) (*Expression, error) {
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, &SyntaxError{Offset: 0, Msg: "empty expression"}
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf("unexpected %s; expected and, or or the end", p.tok.describe())
	}
	return &Expression{root: root}, nil
}

// Match reports whether the instance satisfies the expression.
func (e *Expression) Match(in *Instance) bool { return e.root.eval(in) }

// String renders the expression in canonical form; parsing it gives the same expression.
func (e *Expression) String() string {
	var b strings.Builder
	e.root.write(&b)
	return b.String()
}

// parser is a recursive-descent parser with one token of lookahead.
type parser struct {
	lex lexer
	tok token
}

func (p *parser) advance() (err error) {
	p.tok, err = p.lex.next()
	return err
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: p.tok.pos, Msg: fmt.Sprintf(format, args...)}
}

// parseOr: and-expr { (or | ||) and-expr }
func (p *parser) parseOr() (node, error) {
	left, err := p.parseAnd()
	for err == nil && p.tok.kind == tokOr {
		var right node
		if err = p.advance(); err == nil {
			right, err = p.parseAnd()
		}
		left = &orNode{left, right}
	}
	return left, err
}

// parseAnd: unary { (and | &&) unary }
func (p *parser) parseAnd() (node, error) {
	left, err := p.parseUnary()
	for err == nil && p.tok.kind == tokAnd {
		var right node
		if err = p.advance(); err == nil {
			right, err = p.parseUnary()
		}
		left = &andNode{left, right}
	}
	return left, err
}

// parseUnary: (not | !) unary | "(" or-expr ")" | comparison
func (p *parser) parseUnary() (node, error) {
	switch p.tok.kind {
	case tokNot:
		if err := p.advance(); err != nil {
			return nil, err
		}
		operand, err := p.parseUnary()
		return &notNode{operand}, err
	case tokLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		inner, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.errorf("expected ) but found %s", p.tok.describe())
		}
		return inner, p.advance()
	case tokWord:
		return p.parseComparison()
	}
	return nil, p.errorf("expected a subject such as attribute:NAME, not or ( but found %s", p.tok.describe())
}

// parseComparison: subject (exists | !exists | (in | !in) list | compare value)
func (p *parser) parseComparison() (node, error) {
	subj, err := parseSubject(p.tok)
	if err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	opTok := p.tok
	op, ok := operatorOf(opTok)
	if !ok {
		return nil, p.errorf("expected an operator (==, !=, >, >=, <, <=, =~, !~, in, !in, exists, !exists) after %q but found %s", subj.text, opTok.describe())
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var args []token
	switch operators[op].op {
	case opExists:
	case opIn:
		args, err = p.parseList()
	default:
		var v token
		v, err = p.parseValue(opTok.text)
		args = []token{v}
	}
	if err != nil {
		return nil, err
	}
	return newComparison(subj, op, opTok, args)
}

// parseList: "[" value { "," value } "]"
func (p *parser) parseList() ([]token, error) {
	if p.tok.kind != tokLBracket {
		return nil, p.errorf("expected [ to start a list but found %s", p.tok.describe())
	}
	var vals []token
	for {
		if err := p.advance(); err != nil {
			return nil, err
		}
		v, err := p.parseValue("[")
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		switch p.tok.kind {
		case tokComma:
			continue
		case tokRBracket:
			return vals, p.advance()
		}
		return nil, p.errorf("expected , or ] in the list but found %s", p.tok.describe())
	}
}

// parseValue takes one quoted or unquoted value; after names what it follows.
func (p *parser) parseValue(after string) (token, error) {
	v := p.tok
	if v.kind != tokWord && v.kind != tokString {
		return token{}, p.errorf("expected a value after %q but found %s", after, v.describe())
	}
	return v, p.advance()
}

func (n *andNode) eval(in *Instance) bool { return n.left.eval(in) && n.right.eval(in) }
func (n *orNode) eval(in *Instance) bool  { return n.left.eval(in) || n.right.eval(in) }
func (n *notNode) eval(in *Instance) bool { return !n.operand.eval(in) }

func (n *andNode) write(b *strings.Builder) { writeBinary(b, n.left, "and", n.right) }
func (n *orNode) write(b *strings.Builder)  { writeBinary(b, n.left, "or", n.right) }
func (n *notNode) write(b *strings.Builder) {
	b.WriteString("not (")
	n.operand.write(b)
	b.WriteString(")")
}

func writeBinary(b *strings.Builder, left node, op string, right node) {
	b.WriteString("(")
	left.write(b)
	b.WriteString(" " + op + " ")
	right.write(b)
	b.WriteString(")")
}
