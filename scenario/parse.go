package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits the parser enforces, so that no input can make it run away.
const (
	MaxFileSize = 1 << 20 // bytes in one scenario file
	MaxDepth    = 64      // nesting of blocks (a top-level block's statements are depth 1)
	MaxCount    = 1_000_000
)

// Error is one error in a scenario, at a position in its file.
type Error struct {
	File      string
	Line, Col int // 1-based; 0 when the error has no position (a scenario built in code)
	Msg       string
}

// Error formats the error as FILE:LINE:COL: message. Without a position it
// is FILE: message, or just the message when there is no file either.
func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	default:
		return e.Msg
	}
}

func errorAt(p Pos, format string, args ...any) *Error {
	return &Error{Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses a scenario file and validates it (see Validate). It returns
// the first error, as an *Error: the first syntax error in the file or, in
// a file without one, the Validate error with the earliest position. It
// never panics.
//
// Where the spec leaves the syntax open, Parse chooses:
//   - a statement ends at the end of its line or at the } that closes its
//     block, so "cleanup { unlock L }" is one line but "{ work 1 io }" is an
//     error (there is no ; separator);
//   - a { stands on the line of the keyword that opens its block;
//   - strings are Go interpreted string literals on one line (\", \\, \n,
//     \t, \xFF, \u263a...), and raw bytes in them must be valid UTF-8;
//   - native's modifiers come in either order, each at most once;
//   - numbers are decimal, seeds are uint64, and \r\n line ends are accepted;
//   - columns count bytes from 1.
func Parse(filename string, src []byte) (*Scenario, error) {
	s, err := parse(src)
	if err == nil {
		err = validate(s)
	}
	if err != nil {
		err.File = filename
		return nil, err
	}
	return s, nil
}

func parse(src []byte) (*Scenario, *Error) {
	if len(src) > MaxFileSize {
		return nil, errorAt(Pos{1, 1}, "file too large (%d bytes, max %d)", len(src), MaxFileSize)
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	return p.file()
}

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
	}
	return "?"
}

var punctuation = [256]tokenKind{'{': tokLBrace, '}': tokRBrace, ':': tokColon, ',': tokComma}

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

// ---- parser ----

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) skipNewlines() {
	for p.peek().kind == tokNewline {
		p.i++
	}
}

// endLine consumes the end of a top-level line.
func (p *parser) endLine(what string) *Error {
	t := p.peek()
	switch t.kind {
	case tokNewline:
		p.i++
		return nil
	case tokEOF:
		return nil
	}
	return errorAt(t.pos, "unexpected %s after %s", t.describe(), what)
}

// scenarioLine finds a top-level scenario line anywhere in the file.
func (p *parser) scenarioLine() (Pos, bool) {
	depth, lineStart := 0, true
	for _, t := range p.toks {
		switch t.kind {
		case tokLBrace:
			depth++
		case tokRBrace:
			depth--
		case tokWord:
			if depth == 0 && lineStart && t.text == "scenario" {
				return t.pos, true
			}
		}
		lineStart = t.kind == tokNewline
	}
	return Pos{}, false
}

func (p *parser) file() (*Scenario, *Error) {
	s := &Scenario{}
	var main *ThreadDecl
	var others []*ThreadDecl
	seen := map[string]Pos{} // items allowed once, by keyword
	first := true
	var scenarioPos Pos
	for {
		p.skipNewlines()
		t := p.next()
		if t.kind == tokEOF {
			if first {
				return nil, errorAt(t.pos, "missing scenario line: the file must start with scenario \"name\"")
			}
			break
		}
		if t.kind != tokWord {
			return nil, errorAt(t.pos, "unexpected %s at top level", t.describe())
		}
		kw := t.text
		if first && kw != "scenario" {
			if at, ok := p.scenarioLine(); ok {
				return nil, errorAt(t.pos, "scenario line must come first (found %s; scenario is at %d:%d)", kw, at.Line, at.Col)
			}
			return nil, errorAt(t.pos, "missing scenario line: the file must start with scenario \"name\"")
		}
		first = false
		switch kw {
		case "scenario", "preset", "policy", "callback", "main", "schedule":
			if at, dup := seen[kw]; dup {
				return nil, errorAt(t.pos, "duplicate %s %s (first at %d:%d)", kw, itemNoun(kw), at.Line, at.Col)
			}
			seen[kw] = t.pos
		}
		var err *Error
		switch kw {
		case "scenario":
			scenarioPos = t.pos
			s.Name, err = p.scenarioName()
		case "preset":
			s.PresetPos = t.pos
			s.Presets, err = p.presets()
		case "policy":
			s.PolicyPos = t.pos
			s.Policy, err = p.word("a policy name after policy")
			if err == nil {
				err = p.endLine("policy line")
			}
		case "callback":
			s.CallbackPos = t.pos
			s.Callback, err = p.word("a callback name after callback")
			if err == nil {
				err = p.endLine("callback line")
			}
		case "main":
			main = &ThreadDecl{Kind: Main, Name: "main", Pos: t.pos}
			main.Body, err = p.topBlock("main")
		case "thread", "daemon", "foreign":
			kind := map[string]ThreadKind{"thread": Thread, "daemon": Daemon, "foreign": Foreign}[kw]
			td := &ThreadDecl{Kind: kind, Pos: t.pos}
			td.Name, err = p.name(kw)
			if err == nil {
				td.Body, err = p.topBlock(kw + " " + td.Name)
			}
			others = append(others, td)
		case "atexit", "teardown":
			b := &Block{Pos: t.pos}
			b.Body, err = p.topBlock(kw)
			if kw == "atexit" {
				s.Atexit = append(s.Atexit, b)
			} else {
				s.Teardown = append(s.Teardown, b)
			}
		case "expect":
			var e Expect
			e, err = p.expect(t.pos)
			s.Expect = append(s.Expect, e)
		case "schedule":
			s.Schedule, err = p.schedule(t.pos)
		default:
			if LookupOp(kw) != OpInvalid {
				return nil, errorAt(t.pos, "%s statement outside a block", kw)
			}
			return nil, errorAt(t.pos, "unknown top-level keyword %q (want scenario, preset, policy, callback, main, thread, daemon, foreign, atexit, teardown, expect or schedule)", kw)
		}
		if err != nil {
			return nil, err
		}
	}
	if main == nil {
		return nil, errorAt(scenarioPos, "missing main block")
	}
	s.Threads = append([]*ThreadDecl{main}, others...)
	return s, nil
}

func itemNoun(kw string) string {
	if kw == "main" {
		return "block"
	}
	return "line"
}

func (p *parser) scenarioName() (string, *Error) {
	t := p.next()
	if t.kind != tokString {
		return "", errorAt(t.pos, "expected a quoted name after scenario, found %s", t.describe())
	}
	if t.text == "" {
		return "", errorAt(t.pos, "empty scenario name")
	}
	return t.text, p.endLine("scenario line")
}

// word reads one word token.
func (p *parser) word(want string) (string, *Error) {
	t := p.next()
	if t.kind != tokWord {
		return "", errorAt(t.pos, "expected %s, found %s", want, t.describe())
	}
	return t.text, nil
}

func (p *parser) presets() ([]string, *Error) {
	var names []string
	for p.peek().kind == tokWord {
		names = append(names, p.next().text)
	}
	if len(names) == 0 {
		t := p.peek()
		return nil, errorAt(t.pos, "expected a preset name after preset, found %s", t.describe())
	}
	return names, p.endLine("preset line")
}

// IsName reports whether s is a valid thread, object, lock or event name.
func IsName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// name reads a name operand after keyword kw.
func (p *parser) name(kw string) (string, *Error) {
	t := p.next()
	if t.kind != tokWord {
		return "", errorAt(t.pos, "expected a name after %s, found %s", kw, t.describe())
	}
	if !IsName(t.text) {
		return "", errorAt(t.pos, "invalid name %q", t.text)
	}
	return t.text, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// number reads a non-negative decimal integer after keyword kw.
func (p *parser) number(kw string) (int, *Error) {
	t := p.next()
	if t.kind != tokWord || !isDigits(t.text) {
		return 0, errorAt(t.pos, "expected a number after %s, found %s", kw, t.describe())
	}
	n, err := strconv.Atoi(t.text)
	if err != nil {
		return 0, errorAt(t.pos, "number %s out of range", t.text)
	}
	return n, nil
}

func (p *parser) seed() (uint64, *Error) {
	t := p.next()
	if t.kind != tokWord || !isDigits(t.text) {
		return 0, errorAt(t.pos, "expected a seed, found %s", t.describe())
	}
	n, err := strconv.ParseUint(t.text, 10, 64)
	if err != nil {
		return 0, errorAt(t.pos, "seed %s out of range (max %d)", t.text, uint64(1<<64-1))
	}
	return n, nil
}

// topBlock reads "{ body }" and the end of the line.
func (p *parser) topBlock(what string) ([]*Stmt, *Error) {
	body, err := p.block(what, 1)
	if err != nil {
		return nil, err
	}
	return body, p.endLine("}")
}

// block reads "{ statements }"; the statements sit at depth.
func (p *parser) block(what string, depth int) ([]*Stmt, *Error) {
	open := p.next()
	if open.kind != tokLBrace {
		return nil, errorAt(open.pos, "expected { after %s, found %s", what, open.describe())
	}
	var body []*Stmt
	for {
		p.skipNewlines()
		t := p.peek()
		switch t.kind {
		case tokRBrace:
			p.next()
			return body, nil
		case tokEOF:
			return nil, errorAt(open.pos, "unclosed {: missing }")
		}
		if depth > MaxDepth {
			return nil, errorAt(t.pos, "blocks nested deeper than %d", MaxDepth)
		}
		st, err := p.stmt(depth)
		if err != nil {
			return nil, err
		}
		body = append(body, st)
		switch t := p.peek(); t.kind {
		case tokNewline, tokRBrace, tokEOF:
		default:
			return nil, errorAt(t.pos, "unexpected %s after %s statement", t.describe(), st.Op)
		}
	}
}

func (p *parser) stmt(depth int) (*Stmt, *Error) {
	t := p.next()
	if t.kind != tokWord {
		return nil, errorAt(t.pos, "expected a statement, found %s", t.describe())
	}
	op := LookupOp(t.text)
	if op == OpInvalid {
		return nil, errorAt(t.pos, "unknown statement %q", t.text)
	}
	st := &Stmt{Op: op, Pos: t.pos}
	var err *Error
	switch op {
	case OpSpawn, OpJoin, OpNew, OpLocal, OpPublish, OpIncref, OpDecref, OpUse, OpGuard,
		OpHold, OpLock, OpUnlock, OpSet, OpWait:
		st.Name, err = p.name(t.text)
	case OpWork:
		st.N, err = p.number(t.text)
	case OpExit:
		if p.peek().kind == tokWord {
			st.N, err = p.number(t.text)
		}
	case OpPrint:
		s := p.next()
		if s.kind != tokString {
			return nil, errorAt(s.pos, "expected a quoted string after print, found %s", s.describe())
		}
		st.Text = s.text
	case OpNative:
		for err == nil && p.peek().kind == tokWord {
			m := p.next()
			switch {
			case m.text == "noexcept" && !st.Noexcept:
				st.Noexcept = true
			case m.text == "catchall" && !st.Catchall:
				st.Catchall = true
			case m.text == "noexcept" || m.text == "catchall":
				err = errorAt(m.pos, "duplicate %s", m.text)
			default:
				err = errorAt(m.pos, "unknown native modifier %q (want noexcept or catchall)", m.text)
			}
		}
		if err == nil {
			st.Body, err = p.block(t.text, depth+1)
		}
	case OpLoop:
		st.N, err = p.number(t.text)
		if err == nil {
			st.Body, err = p.block(t.text, depth+1)
		}
	case OpCleanup, OpForever:
		st.Body, err = p.block(t.text, depth+1)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (p *parser) expect(at Pos) (Expect, *Error) {
	e := Expect{Pos: at}
	var err *Error
	if e.Policy, err = p.word("a policy name after expect"); err != nil {
		return e, err
	}
	if t := p.next(); t.kind != tokColon {
		return e, errorAt(t.pos, "expected : after expect %s, found %s", e.Policy, t.describe())
	}
	for {
		o, err := p.word("an outcome")
		if err != nil {
			return e, err
		}
		e.Outcomes = append(e.Outcomes, o)
		if p.peek().kind != tokComma {
			break
		}
		p.next()
	}
	return e, p.endLine("expect line")
}

func (p *parser) schedule(at Pos) (*Schedule, *Error) {
	kind, err := p.word("a schedule kind after schedule")
	if err != nil {
		return nil, err
	}
	sch := &Schedule{Pos: at}
	switch kind {
	case "random":
		sch.Kind = ScheduleRandom
		sch.Seed, err = p.seed()
	case "pct":
		sch.Kind = SchedulePCT
		if sch.Depth, err = p.number("pct"); err == nil {
			sch.Seed, err = p.seed()
		}
	case "replay", "stream":
		sch.Kind = ScheduleReplay
		if kind == "stream" {
			sch.Kind = ScheduleStream
		}
		for err == nil && p.peek().kind == tokWord {
			sch.Choices, err = p.choices(kind, sch.Choices) // schedule.go
		}
	default:
		return nil, errorAt(p.toks[p.i-1].pos, "unknown schedule %q (want random, pct, replay or stream)", kind)
	}
	if err != nil {
		return nil, err
	}
	return sch, p.endLine("schedule line")
}

// wantList formats a list of names as "a, b or c".
func wantList(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
