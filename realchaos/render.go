package realchaos

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *Report) settings() string {
	var parts []string
	if !r.NoBaseline || r.DelayMax <= 0 {
		parts = append(parts, "without delays")
	}
	if r.DelayMax > 0 {
		parts = append(parts, fmt.Sprintf("with delays (%s)", r.Delays))
	}
	s := fmt.Sprintf("%d runs per interpreter %s", r.Runs, strings.Join(parts, " and as many "))
	s += fmt.Sprintf("; seed %d; timeout %s; witness: %s", r.Seed, r.Timeout, strings.Join(r.Witness, ", "))
	if r.Shard != "" {
		s += "; shard " + r.Shard
	}
	return s
}

// Modes are p's runs without delays and with them, those it has.
func (p *PythonStats) Modes() []*Mode {
	var out []*Mode
	for _, m := range []*Mode{p.Without, p.With} {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

// outcomes are the classes some mode of p saw, in the language's order.
func (p *PythonStats) outcomes() []runtime.Outcome {
	var out []runtime.Outcome
	for _, o := range runtime.Outcomes {
		for _, m := range p.Modes() {
			if m.Outcomes[o] > 0 && !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

// sites are the sites some mode of p counted, most frequent first.
func (p *PythonStats) sites() []string {
	return p.keys(func(m *Mode) map[string]int { return m.Sites })
}

// ends are the thread ends some mode of p counted, most frequent first.
func (p *PythonStats) ends() []string {
	return p.keys(func(m *Mode) map[string]int { return m.Ends })
}

func (p *PythonStats) keys(of func(*Mode) map[string]int) []string {
	total := map[string]int{}
	for _, m := range p.Modes() {
		for s, n := range of(m) {
			total[s] += n
		}
	}
	keys := slices.Sorted(maps.Keys(total))
	slices.SortStableFunc(keys, func(a, b string) int { return total[b] - total[a] })
	return keys
}

func rate(m *Mode) string {
	if m.Runs == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%% (%d/%d)", 100*m.WitnessRate(), m.Witnesses, m.Runs)
}

func modeLabel(m *Mode) string {
	if m.WithDelays {
		return "with delays"
	}
	return "without delays"
}

// Text writes the report for a terminal: per interpreter the outcome
// counts with and without delays, the witness rate, where the failing
// runs' threads were, and every failing run with the command that replays
// it.
func (r *Report) Text(w io.Writer) error {
	fmt.Fprintf(w, "chaos: %s\n  %s\n", Describe(r.Command), r.settings())
	for _, p := range r.Pythons {
		fmt.Fprintf(w, "\npython %s (wraps %s)\n", p.Release, wrapped(p))
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		row := func(label string, cell func(m *Mode) string) {
			fmt.Fprintf(tw, "  %s", label)
			for _, m := range p.Modes() {
				fmt.Fprintf(tw, "\t%s", cell(m))
			}
			fmt.Fprintln(tw)
		}
		row("outcome", modeLabel)
		for _, o := range p.outcomes() {
			row(string(o), func(m *Mode) string { return fmt.Sprint(m.Outcomes[o]) })
		}
		row("witness rate", rate)
		row("wrapped calls", func(m *Mode) string { return fmt.Sprint(m.Calls) })
		if len(p.sites()) > 0 {
			row("failing runs with a thread:", func(*Mode) string { return "" })
		}
		for _, s := range p.sites() {
			row("  "+s, func(m *Mode) string { return fmt.Sprint(m.Sites[s]) })
		}
		if len(p.ends()) > 0 {
			row("threads at the end of a run:", func(*Mode) string { return "" })
		}
		for _, s := range p.ends() {
			row("  "+s, func(m *Mode) string { return fmt.Sprint(m.Ends[s]) })
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, m := range p.Modes() {
			if m.NoHost > 0 {
				fmt.Fprintf(w, "  warning: %d runs %s never started the embedding host: start python as the command's first word (python, python3 or python%s) or through PATH\n", m.NoHost, modeLabel(m), p.Version)
			}
		}
		var fails []string
		for _, m := range p.Modes() {
			for _, f := range m.Failures {
				fails = append(fails, fmt.Sprintf("  run %d %s: %s/%s: %s\n    %s\n", f.Run, modeLabel(m), f.Outcome, f.Kind, f.Evidence, f.Rerun))
			}
		}
		if len(fails) > 0 {
			fmt.Fprintln(w, "  failing runs (each with the command that replays it):")
			for _, f := range fails {
				fmt.Fprint(w, f)
			}
		}
	}
	return nil
}

func wrapped(p *PythonStats) string {
	if len(p.Wrapped) == 0 {
		return "nothing"
	}
	return strings.Join(p.Wrapped, ", ")
}

func counts(m *Mode) string {
	var parts []string
	for _, o := range runtime.Outcomes {
		if m.Outcomes[o] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", o, m.Outcomes[o]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Markdown writes the report as a section of docs/chaos.md: the table of
// outcomes per release, where the failing runs' threads were, and one
// failing run to replay per release, mode and outcome kind.
func (r *Report) Markdown(w io.Writer) error {
	fmt.Fprintf(w, "### `%s`\n\n%s.\n\n", Describe(r.Command), strings.ToUpper(r.settings()[:1])+r.settings()[1:])
	var labels []string
	if !r.NoBaseline || r.DelayMax <= 0 {
		labels = append(labels, "without delays")
	}
	if r.DelayMax > 0 {
		labels = append(labels, "with delays")
	}
	header := func(first ...string) {
		cols := append(first, labels...)
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	}
	fmt.Fprint(w, "| python")
	for _, l := range labels {
		fmt.Fprintf(w, " | %s | witness rate", l)
	}
	fmt.Fprintf(w, " |\n|%s\n", strings.Repeat("---|", 1+2*len(labels)))
	for _, p := range r.Pythons {
		fmt.Fprintf(w, "| %s", p.Release)
		for _, m := range p.Modes() {
			fmt.Fprintf(w, " | %s | %s", counts(m), rate(m))
		}
		fmt.Fprintln(w, " |")
	}
	var any bool
	for _, p := range r.Pythons {
		any = any || len(p.sites()) > 0
	}
	if any {
		fmt.Fprintln(w, "\nWhere the threads were when a failing run ended (the shim's markers; failing runs counted once per site):")
		fmt.Fprintln(w)
		header("python", "thread")
		for _, p := range r.Pythons {
			for _, s := range p.sites() {
				fmt.Fprintf(w, "| %s | %s", p.Release, mdCell(s))
				for _, m := range p.Modes() {
					fmt.Fprintf(w, " | %d", m.Sites[s])
				}
				fmt.Fprintln(w, " |")
			}
		}
	}
	any = false
	for _, p := range r.Pythons {
		any = any || len(p.ends()) > 0
	}
	if any {
		fmt.Fprintln(w, "\nWhere every run's threads ended up (threads, over all runs):")
		fmt.Fprintln(w)
		header("python", "thread")
		for _, p := range r.Pythons {
			for _, s := range p.ends() {
				fmt.Fprintf(w, "| %s | %s", p.Release, mdCell(s))
				for _, m := range p.Modes() {
					fmt.Fprintf(w, " | %d", m.Ends[s])
				}
				fmt.Fprintln(w, " |")
			}
		}
	}
	var replays []string
	for _, p := range r.Pythons {
		for _, m := range p.Modes() {
			seen := map[string]bool{}
			for _, f := range m.Failures {
				k := string(f.Outcome) + "/" + f.Kind
				if seen[k] {
					continue
				}
				seen[k] = true
				replays = append(replays, fmt.Sprintf("- %s %s, %s (%d runs): %s\n  `%s`", p.Release, modeLabel(m), k, m.Kinds[k], mdCell(f.Evidence), f.Rerun))
			}
		}
	}
	if len(replays) > 0 {
		fmt.Fprintln(w, "\nOne failing run per release, mode and kind, with the command that replays it:")
		fmt.Fprintln(w)
		for _, l := range replays {
			fmt.Fprintln(w, l)
		}
	}
	fmt.Fprintln(w)
	return nil
}
