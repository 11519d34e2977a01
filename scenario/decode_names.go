package scenario

// The decoder's string table: the scenario, thread, object, lock and event
// names and the print texts, read last (see the format in decode.go).

import (
	"strconv"
	"unicode/utf8"
)

// strings reads the string table and names the threads and the operands.
func (d *decoder) strings(s *Scenario) {
	text := func() string { return sanitizeText(d.take(int(d.next()) % (fuzzTextLen + 1))) }
	ident := func() string { return sanitizeName(d.take(int(d.next()) % (fuzzNameLen + 1))) }

	if s.Name = text(); s.Name == "" {
		s.Name = defaultScenarioName
	}
	taken := map[string]bool{"main": true}
	for i := 1; i <= fuzzThreads; i++ {
		name := ident()
		if i <= len(d.blocks) {
			td := d.blocks[i-1]
			td.Name = uniqueThreadName(name, "t"+strconv.Itoa(i), td.Copies, taken)
		}
	}
	names := func(n int, prefix string) []string {
		used := map[string]bool{}
		out := make([]string, n)
		for i := range out {
			out[i] = uniqueName(ident(), prefix+strconv.Itoa(i), used)
		}
		return out
	}
	objects := names(fuzzObjects, "o")
	locks := names(fuzzLocks, "L")
	events := names(fuzzEvents, "E")
	var texts [fuzzTexts]string
	for i := range texts {
		texts[i] = text()
	}
	// Read after the texts, so that inputs made before guards existed
	// keep every name.
	guards := names(fuzzGuards, "G")
	for _, r := range d.refs {
		switch r.space {
		case spaceThread:
			r.st.Name = d.blocks[r.slot].Name
		case spaceObject:
			r.st.Name = objects[r.slot]
		case spaceLock:
			r.st.Name = locks[r.slot]
		case spaceEvent:
			r.st.Name = events[r.slot]
		case spaceText:
			r.st.Text = texts[r.slot]
		case spaceGuard:
			r.st.Name = guards[r.slot]
		}
	}
}

// sanitizeText keeps the valid UTF-8 of b that is printable, or a tab or
// newline.
func sanitizeText(b []byte) string {
	var out []byte
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if (r != utf8.RuneError || size > 1) && (strconv.IsPrint(r) || r == '\t' || r == '\n') {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return string(out)
}

// sanitizeName keeps the bytes of b that may stand in a name, and returns ""
// if what is left is not a name.
func sanitizeName(b []byte) string {
	var out []byte
	for _, c := range b {
		if isWordByte(c) && c != '-' && c != '.' {
			out = append(out, c)
		}
	}
	if !IsName(string(out)) {
		return ""
	}
	return string(out)
}

// uniqueThreadName is uniqueName for a thread block: for a replicated one
// (copies > 0) the name and the names of all its copies must be free, and
// are all marked taken.
func uniqueThreadName(name, def string, copies int, taken map[string]bool) string {
	free := func(n string) bool {
		if n == "" || taken[n] {
			return false
		}
		for i := range copies {
			if taken[n+strconv.Itoa(i)] {
				return false
			}
		}
		return true
	}
	if !free(name) {
		name = def
		for k := 2; !free(name); k++ {
			name = def + "_" + strconv.Itoa(k)
		}
	}
	taken[name] = true
	for i := range copies {
		taken[name+strconv.Itoa(i)] = true
	}
	return name
}

// expand turns each replicated block, named by its group, into its copies.
func expand(blocks []*ThreadDecl) []*ThreadDecl {
	var out []*ThreadDecl
	for _, td := range blocks {
		if td.Copies == 0 {
			out = append(out, td)
			continue
		}
		td.Group = td.Name
		for i := range td.Copies {
			c := *td
			c.Name = td.Group + strconv.Itoa(i)
			if i > 0 {
				c.Body = CloneStmts(td.Body)
			}
			out = append(out, &c)
		}
	}
	return out
}

// uniqueName returns name, or def if name is "" or taken, or def_2, def_3...
// if that is taken too, and marks the result taken.
func uniqueName(name, def string, taken map[string]bool) string {
	if name == "" || taken[name] {
		name = def
		for k := 2; taken[name]; k++ {
			name = def + "_" + strconv.Itoa(k)
		}
	}
	taken[name] = true
	return name
}
