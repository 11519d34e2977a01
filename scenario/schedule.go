package scenario

import (
	"fmt"
	"strconv"
	"strings"
)

// Schedule syntax beyond the spec's (extension, see
// docs/scenario-language.md): in a replay or stream line, "C*N" stands for
// N copies of choice C, so that a long replay stays one readable line
// ("schedule replay 0 0 1 2*2990"). Printing writes every run of
// runLength or more equal choices that way; parsing accepts any run.

// MaxChoices bounds a replay or stream line, counted after expanding runs.
const MaxChoices = 1 << 20

// runLength is the shortest run FormatChoices writes as C*N.
const runLength = 3

// FormatChoices writes choices as a schedule line holds them: separated by
// spaces, a run of runLength or more equal choices as C*N.
func FormatChoices(choices []int) string {
	var b strings.Builder
	for i := 0; i < len(choices); {
		j := i + 1
		for j < len(choices) && choices[j] == choices[i] {
			j++
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		c := strconv.Itoa(choices[i])
		if n := j - i; n >= runLength {
			b.WriteString(c + "*" + strconv.Itoa(n))
		} else {
			b.WriteString(c)
			for k := i + 1; k < j; k++ {
				b.WriteString(" " + c)
			}
		}
		i = j
	}
	return b.String()
}

// choices reads one choice word of a replay or stream line, "C" or "C*N",
// and appends it to list.
func (p *parser) choices(kind string, list []int) ([]int, *Error) {
	t := p.next()
	text, count := t.text, "1"
	if c, n, ok := strings.Cut(t.text, "*"); ok {
		text, count = c, n
	}
	if t.kind != tokWord || !isDigits(text) || !isDigits(count) || text == "" || count == "" {
		return nil, errorAt(t.pos, "expected a choice (N, or N*COUNT for COUNT copies) after %s, found %s", kind, t.describe())
	}
	c, err1 := strconv.Atoi(text)
	n, err2 := strconv.Atoi(count)
	if err1 != nil {
		return nil, errorAt(t.pos, "choice %s out of range", text)
	}
	if err2 != nil || n > MaxChoices-len(list) {
		return nil, errorAt(t.pos, "%s: too many choices (max %d)", t.text, MaxChoices)
	}
	for range n {
		list = append(list, c)
	}
	return list, nil
}

// ParseSchedule parses a schedule line as the tools print it, with or
// without its leading word: "schedule replay 0 0 1 2*40", "pct 3 7". An
// error is "COL: message", COL counting from 1 in text.
func ParseSchedule(text string) (*Schedule, error) {
	src := strings.TrimSpace(text)
	offset := len(text) - len(strings.TrimLeft(text, " \t"))
	if !strings.HasPrefix(src, "schedule ") && src != "schedule" {
		src, offset = "schedule "+src, offset-len("schedule ")
	}
	if strings.ContainsAny(src, "\n#") {
		return nil, fmt.Errorf("1: a schedule is one line, without comments")
	}
	toks, err := lex([]byte(src))
	if err == nil {
		p := &parser{toks: toks}
		p.next() // the word schedule
		var sch *Schedule
		if sch, err = p.schedule(Pos{}); err == nil {
			return sch, nil
		}
	}
	return nil, fmt.Errorf("%d: %s", max(1, err.Col+offset), err.Msg)
}
