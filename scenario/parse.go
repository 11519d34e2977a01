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
			var tds []*ThreadDecl
			tds, err = p.threadDecl(kind, t.pos)
			others = append(others, tds...)
		case "atexit", "teardown", "after_finalize":
			b := &Block{Pos: t.pos}
			b.Body, err = p.topBlock(kw)
			switch kw {
			case "atexit":
				s.Atexit = append(s.Atexit, b)
			case "teardown":
				s.Teardown = append(s.Teardown, b)
			default:
				s.AfterFinalize = append(s.AfterFinalize, b)
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
			return nil, errorAt(t.pos, "unknown top-level keyword %q (want scenario, preset, policy, callback, main, thread, daemon, foreign, atexit, teardown, after_finalize, expect or schedule)", kw)
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
		if t.text == "else" {
			return nil, errorAt(t.pos, "else without if (else follows the } of an if block, on the same line)")
		}
		return nil, errorAt(t.pos, "unknown statement %q", t.text)
	}
	st := &Stmt{Op: op, Pos: t.pos}
	var err *Error
	switch op {
	case OpSpawn:
		st.Name, err = p.name(t.text)
		if err == nil && p.peek().kind == tokWord {
			m := p.next()
			if m.text != "nowait" {
				return nil, errorAt(m.pos, "unknown spawn modifier %q (want nowait)", m.text)
			}
			st.Nowait = true
		}
	case OpJoin, OpNew, OpLocal, OpPublish, OpIncref, OpDecref, OpUse, OpGuard,
		OpHold, OpLock, OpUnlock, OpSet, OpWait:
		st.Name, err = p.name(t.text)
	case OpUntil:
		if st.Name, err = p.name(t.text); err == nil {
			st.Body, err = p.block("until "+st.Name, depth+1)
		}
	case OpIf:
		err = p.ifStmt(st, depth)
	case OpAtThreadExit:
		st.Body, err = p.block(t.text, depth+1)
	case OpWork:
		st.N, err = p.number(t.text)
	case OpExit:
		if p.peek().kind == tokWord {
			st.N, err = p.number(t.text)
		}
	case OpPrint:
		s := p.next()
		if s.kind == tokWord && s.text == "flush" {
			st.Flush = true
			s = p.next()
		}
		if s.kind != tokString {
			return nil, errorAt(s.pos, "expected a quoted string after print, found %s", s.describe())
		}
		st.Text = s.text
	case OpNative:
		err = p.nativeModifiers(st)
		if err == nil {
			st.Body, err = p.block(t.text, depth+1)
		}
	case OpLoop:
		st.N, err = p.number(t.text)
		if err == nil {
			st.Body, err = p.block(t.text, depth+1)
		}
	case OpCleanup:
		if m := p.peek(); m.kind == tokWord {
			p.next()
			if m.text != "unwind" {
				return nil, errorAt(m.pos, "unknown cleanup modifier %q (want unwind)", m.text)
			}
			st.OnUnwind = true
		}
		st.Body, err = p.block(t.text, depth+1)
	case OpForever:
		st.Body, err = p.block(t.text, depth+1)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// nativeModifiers reads native's modifiers: noexcept, catchall and
// nounwind, in any order, each at most once.
func (p *parser) nativeModifiers(st *Stmt) *Error {
	for p.peek().kind == tokWord {
		m := p.next()
		var flag *bool
		switch m.text {
		case "noexcept":
			flag = &st.Noexcept
		case "catchall":
			flag = &st.Catchall
		case "nounwind":
			flag = &st.Nounwind
		default:
			return errorAt(m.pos, "unknown native modifier %q (want noexcept, catchall or nounwind)", m.text)
		}
		if *flag {
			return errorAt(m.pos, "duplicate %s", m.text)
		}
		*flag = true
	}
	return nil
}

// ifStmt reads "finalizing { ... }" and an optional "else { ... }" after
// if. The else stands on the line of the } that closes the then block.
func (p *parser) ifStmt(st *Stmt, depth int) *Error {
	c := p.next()
	if c.kind != tokWord || c.text != "finalizing" {
		return errorAt(c.pos, "expected finalizing after if (the only condition), found %s", c.describe())
	}
	var err *Error
	if st.Body, err = p.block("if finalizing", depth+1); err != nil {
		return err
	}
	if e := p.peek(); e.kind == tokWord && e.text == "else" {
		p.next()
		st.Else, err = p.block("else", depth+1)
		if err == nil && st.Else == nil {
			st.Else = []*Stmt{}
		}
	}
	return err
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
