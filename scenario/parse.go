package scenario

import (
	"fmt"
	"strconv"
	"strings"
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

// ---- parser ----

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

// peekAt returns the token k places after the next one (the last token,
// EOF, past the end).
func (p *parser) peekAt(k int) token { return p.toks[min(p.i+k, len(p.toks)-1)] }

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

// fileItems collects the top-level items of a file as the parser meets them.
type fileItems struct {
	s           *Scenario
	main        *ThreadDecl
	others      []*ThreadDecl
	scenarioPos Pos
}

func (p *parser) file() (*Scenario, *Error) {
	f := &fileItems{s: &Scenario{}}
	seen := map[string]Pos{} // items allowed once, by keyword
	for first := true; ; first = false {
		p.skipNewlines()
		t := p.next()
		if t.kind == tokEOF {
			if first {
				return nil, errorAt(t.pos, "missing scenario line: the file must start with scenario \"name\"")
			}
			break
		}
		if err := p.checkItem(t, first, seen); err != nil {
			return nil, err
		}
		if err := p.item(f, t); err != nil {
			return nil, err
		}
	}
	if f.main == nil {
		return nil, errorAt(f.scenarioPos, "missing main block")
	}
	f.s.Threads = append([]*ThreadDecl{f.main}, f.others...)
	return f.s, nil
}

// checkItem checks the keyword t that starts a top-level item: a word, the
// scenario line first, and items allowed once not repeated.
func (p *parser) checkItem(t token, first bool, seen map[string]Pos) *Error {
	if t.kind != tokWord {
		return errorAt(t.pos, "unexpected %s at top level", t.describe())
	}
	kw := t.text
	if first && kw != "scenario" {
		if at, ok := p.scenarioLine(); ok {
			return errorAt(t.pos, "scenario line must come first (found %s; scenario is at %d:%d)", kw, at.Line, at.Col)
		}
		return errorAt(t.pos, "missing scenario line: the file must start with scenario \"name\"")
	}
	switch kw {
	case "scenario", "preset", "policy", "callback", "main", "schedule":
		if at, dup := seen[kw]; dup {
			return errorAt(t.pos, "duplicate %s %s (first at %d:%d)", kw, itemNoun(kw), at.Line, at.Col)
		}
		seen[kw] = t.pos
	}
	return nil
}

// item reads the top-level item that keyword t starts into f.
func (p *parser) item(f *fileItems, t token) *Error {
	s, kw := f.s, t.text
	var err *Error
	switch kw {
	case "scenario":
		f.scenarioPos = t.pos
		s.Name, err = p.scenarioName()
	case "preset":
		s.PresetPos = t.pos
		s.Presets, err = p.presets()
	case "policy":
		s.PolicyPos = t.pos
		s.Policy, err = p.nameLine("policy")
	case "callback":
		s.CallbackPos = t.pos
		s.Callback, err = p.nameLine("callback")
	case "main":
		f.main = &ThreadDecl{Kind: Main, Name: "main", Pos: t.pos}
		f.main.Body, err = p.topBlock("main")
	case "thread", "daemon", "foreign":
		kind := map[string]ThreadKind{"thread": Thread, "daemon": Daemon, "foreign": Foreign}[kw]
		var tds []*ThreadDecl
		tds, err = p.threadDecl(kind, t.pos)
		f.others = append(f.others, tds...)
	case "atexit", "teardown", "after_finalize":
		b := &Block{Pos: t.pos}
		b.Body, err = p.topBlock(kw)
		list := map[string]*[]*Block{"atexit": &s.Atexit, "teardown": &s.Teardown, "after_finalize": &s.AfterFinalize}[kw]
		*list = append(*list, b)
	case "expect":
		var e Expect
		e, err = p.expect(t.pos)
		s.Expect = append(s.Expect, e)
	case "schedule":
		s.Schedule, err = p.schedule(t.pos)
	default:
		if LookupOp(kw) != OpInvalid {
			return errorAt(t.pos, "%s statement outside a block", kw)
		}
		return errorAt(t.pos, "unknown top-level keyword %q (want scenario, preset, policy, callback, main, thread, daemon, foreign, atexit, teardown, after_finalize, expect or schedule)", kw)
	}
	return err
}

// nameLine reads the name and the end of a policy or callback line.
func (p *parser) nameLine(kw string) (string, *Error) {
	name, err := p.word("a " + kw + " name after " + kw)
	if err == nil {
		err = p.endLine(kw + " line")
	}
	return name, err
}

// threadDecl reads "NAME { body }" or "NAME[N] { body }" after a thread,
// daemon or foreign keyword, and returns the thread, or the N copies of a
// replicated block (see ThreadDecl).
func (p *parser) threadDecl(kind ThreadKind, at Pos) ([]*ThreadDecl, *Error) {
	td := &ThreadDecl{Kind: kind, Pos: at}
	var err *Error
	if td.Name, err = p.name(kind.String()); err != nil {
		return nil, err
	}
	if p.peek().kind == tokLBracket {
		p.next()
		t := p.peek()
		if td.Copies, err = p.number(td.Name + "["); err != nil {
			return nil, err
		}
		if td.Copies < 1 || td.Copies > MaxCopies {
			return nil, errorAt(t.pos, "copy count %d out of range (1..%d)", td.Copies, MaxCopies)
		}
		if c := p.next(); c.kind != tokRBracket {
			return nil, errorAt(c.pos, "expected ] after %s[%d, found %s", td.Name, td.Copies, c.describe())
		}
		td.Group = td.Name
	}
	head := kind.String() + " " + td.Name
	if td.Body, err = p.topBlock(head); err != nil {
		return nil, err
	}
	if td.Copies == 0 {
		return []*ThreadDecl{td}, nil
	}
	out := make([]*ThreadDecl, td.Copies)
	for i := range out {
		c := *td
		c.Name = td.Group + strconv.Itoa(i)
		if i > 0 {
			c.Body = CloneStmts(td.Body)
		}
		out[i] = &c
	}
	return out, nil
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
