package scenario

import (
	"strconv"
	"unicode/utf8"
)

// ---- lexer ----

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokNewline
	tokWord   // a keyword, name or number: [A-Za-z0-9_.-]+
	tokString // a double-quoted string; text holds the unquoted value
	tokLBrace
	tokRBrace
	tokColon
	tokComma
	tokLBracket // v2: NAME[N]
	tokRBracket
)

type token struct {
	kind tokenKind
	text string
	pos  Pos
}

// describe names the token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of file"
	case tokNewline:
		return "end of line"
	case tokWord:
		return strconv.Quote(t.text)
	case tokString:
		return "string"
	case tokLBrace:
		return "{"
	case tokRBrace:
		return "}"
	case tokColon:
		return ":"
	case tokComma:
		return ","
	case tokLBracket:
		return "["
	case tokRBracket:
		return "]"
	}
	return "?"
}

var punctuation = [256]tokenKind{
	'{': tokLBrace, '}': tokRBrace, ':': tokColon, ',': tokComma, '[': tokLBracket, ']': tokRBracket,
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == '.'
}

// isRunStar: src[i] is the * of a run C*N in a schedule line.
func isRunStar(src []byte, i int) bool {
	return src[i] == '*' && i > 0 && i+1 < len(src) && isDigits(string(src[i-1:i])) && isDigits(string(src[i+1:i+2]))
}

func lex(src []byte) ([]token, *Error) {
	var toks []token
	line, lineStart := 1, 0
	pos := func(i int) Pos { return Pos{line, i - lineStart + 1} }
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			toks = append(toks, token{kind: tokNewline, pos: pos(i)})
			i++
			line, lineStart = line+1, i
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case punctuation[c] != 0:
			toks = append(toks, token{kind: punctuation[c], pos: pos(i)})
			i++
		case c == '"':
			text, n, err := lexString(src[i:])
			if err != nil {
				return nil, errorAt(pos(i+err.Col), "%s", err.Msg)
			}
			toks = append(toks, token{kind: tokString, text: text, pos: pos(i)})
			i += n
		case isWordByte(c):
			j := i
			for j < len(src) && (isWordByte(src[j]) || isRunStar(src, j)) {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: string(src[i:j]), pos: pos(i)})
			i = j
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size <= 1 {
				return nil, errorAt(pos(i), "invalid UTF-8")
			}
			return nil, errorAt(pos(i), "unexpected character %q", r)
		}
	}
	eof := Pos{line, len(src) - lineStart + 1}
	toks = append(toks, token{kind: tokEOF, pos: eof})
	return toks, nil
}

// lexString reads the double-quoted string at the start of src, which must
// lie on one line, and returns its value and length in bytes. On error, the
// returned Error's Col is the byte offset of the problem within src.
func lexString(src []byte) (string, int, *Error) {
	var buf []byte
	i := 1
	for {
		if i >= len(src) || src[i] == '\n' {
			return "", 0, &Error{Col: 0, Msg: "unterminated string"}
		}
		c := src[i]
		switch {
		case c == '"':
			return string(buf), i + 1, nil
		case c == '\\':
			// The longest escape, \UXXXXXXXX, is 10 bytes.
			window := string(src[i:min(i+10, len(src))])
			value, multibyte, tail, err := strconv.UnquoteChar(window, '"')
			if err != nil {
				return "", 0, &Error{Col: i, Msg: "invalid escape sequence in string"}
			}
			if value < utf8.RuneSelf || !multibyte {
				buf = append(buf, byte(value))
			} else {
				buf = utf8.AppendRune(buf, value)
			}
			i += len(window) - len(tail)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size <= 1 {
				return "", 0, &Error{Col: i, Msg: "invalid UTF-8 in string"}
			}
			buf = append(buf, src[i:i+size]...)
			i += size
		default:
			buf = append(buf, c)
			i++
		}
	}
}
