// Command mutate shows that every guard in the list matters: for each
// mutation in internal/mutate/guards.txt it removes that one guard from a
// copy of the module, runs the fast suite, and reports whether a test
// failed (the mutant is killed) or not (it survived).
//
//	go run ./internal/mutate [-run REGEXP] [-list] [-j N] [-timeout D] [-command CMD] [-v]
//
// Each of the -j workers copies the module's files (tracked and untracked,
// as the work tree has them, .gitignore'd ones left out) into a temporary
// directory once, and for each of its mutants writes the mutated file, runs
// the suite there and writes the original back; the work tree is never
// written, and an interrupt removes the copies. First the suite runs once
// unmutated: a red suite would kill every mutant and prove nothing.
//
// The score counts killed mutants (a suite that ran past -timeout counts as
// killed, and says so) out of those run. It exits 1 when a mutant not marked
// equivalent survived, or on an error in the list: an entry whose snippet
// does not occur exactly once in its file (stale), a mutant that does not
// build, or one marked equivalent that a test kills after all.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mutate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listFile := fs.String("file", "internal/mutate/guards.txt", "the list of mutations, relative to the module's root")
	runRE := fs.String("run", "", "run only the mutations whose id matches this regular expression")
	list := fs.Bool("list", false, "list the mutations and check that each applies; run nothing")
	jobs := fs.Int("j", 2, "mutants run at once, each in its own copy of the module")
	timeout := fs.Duration("timeout", 5*time.Minute, "per mutant, when the list sets none or when given: a suite still running then is killed and the mutant counts as killed by timeout")
	verbose := fs.Bool("v", false, "print the end of each killed mutant's failing output")
	command := fs.String("command", "", "the suite to run for every mutant, overriding the list's command: lines (default "+defaultCommand+")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	timeoutSet := false
	fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
	re, err := regexp.Compile(*runRE)
	if err != nil {
		fmt.Fprintf(stderr, "mutate: -run: %v\n", err)
		return 2
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(stderr, "mutate: %v\n", err)
		return 2
	}
	text, err := os.ReadFile(filepath.Join(root, *listFile))
	if err != nil {
		fmt.Fprintf(stderr, "mutate: %v\n", err)
		return 2
	}
	all, err := parseList(*listFile, string(text))
	if err != nil {
		fmt.Fprintf(stderr, "mutate: %v\n", err)
		return 2
	}
	var todo []mutation
	var results []result
	for _, m := range all {
		if !re.MatchString(m.ID) {
			continue
		}
		if *command != "" {
			m.Command = *command
		}
		if timeoutSet || m.Timeout == 0 {
			m.Timeout = *timeout
		}
		if err := m.check(root); err != nil {
			results = append(results, result{m: m, outcome: invalid, by: err.Error()})
			continue
		}
		todo = append(todo, m)
	}
	if *list {
		for _, m := range all {
			if !re.MatchString(m.ID) {
				continue
			}
			fmt.Fprintf(stdout, "%-28s %s: %s\n", m.ID, m.File, m.Guard)
			if m.Equivalent != "" {
				fmt.Fprintf(stdout, "%-28s equivalent: %s\n", "", m.Equivalent)
			}
		}
		for _, r := range results {
			fmt.Fprintf(stdout, "INVALID %s (%s:%d): %s\n", r.m.ID, *listFile, r.m.Line, r.by)
		}
		fmt.Fprintf(stdout, "%d mutations, %d stale\n", len(results)+len(todo), len(results))
		if len(results) > 0 {
			return 1
		}
		return 0
	}

	if len(todo) == 0 && len(results) == 0 {
		fmt.Fprintf(stderr, "mutate: no mutation's id matches %q\n", *runRE)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	res, err := runAll(ctx, root, todo, max(*jobs, 1), *verbose, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mutate: %v\n", err)
		if ctx.Err() != nil {
			return 130
		}
		return 1
	}
	results = append(results, res...)
	slices.SortStableFunc(results, func(a, b result) int { return a.m.Line - b.m.Line })
	return report(stdout, results, len(all), time.Since(start))
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

// runAll checks the unmutated suite, then runs the mutants on j workspaces
// and returns their results in the list's order.
func runAll(ctx context.Context, root string, todo []mutation, j int, verbose bool, progress io.Writer) ([]result, error) {
	if len(todo) == 0 {
		return nil, nil
	}
	j = min(j, len(todo))
	var spaces []*workspace
	defer func() {
		for _, w := range spaces {
			w.remove()
		}
	}()
	for range j {
		w, err := newWorkspace(root)
		if err != nil {
			return nil, err
		}
		spaces = append(spaces, w)
	}
	// The unmutated suite must pass, once per command.
	done := map[string]bool{}
	for _, m := range todo {
		if done[m.Command] {
			continue
		}
		done[m.Command] = true
		t := time.Now()
		out, err, late := spaces[0].command(ctx, m.Command, m.Timeout)
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("interrupted")
		case late:
			return nil, fmt.Errorf("the unmutated suite (%s) ran past %v", m.Command, m.Timeout)
		case err != nil:
			return nil, fmt.Errorf("the unmutated suite (%s) fails, so every mutant would count as killed:\n%s", m.Command, tail(out, 30))
		}
		fmt.Fprintf(progress, "unmutated: %s passes in %.1fs\n", m.Command, time.Since(t).Seconds())
	}

	results := make([]result, len(todo))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	finished := 0
	for _, w := range spaces {
		wg.Go(func() {
			for i := range next {
				r := w.run(ctx, todo[i], todo[i].Timeout)
				results[i] = r
				if ctx.Err() != nil {
					continue
				}
				mu.Lock()
				finished++
				fmt.Fprintf(progress, "[%2d/%d] %-8s %-28s %5.1fs  %s\n", finished, len(todo), r.outcome, r.m.ID, r.took.Seconds(), r.by)
				if verbose && r.outcome == killed {
					fmt.Fprintln(progress, indent(failure(r.output, 40), "    "))
				}
				mu.Unlock()
			}
		})
	}
	for i := range todo {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted")
	}
	return results, nil
}

// report prints the score and every survivor, and says whether the run
// passes.
func report(out io.Writer, results []result, listed int, took time.Duration) int {
	var killedN, timeouts, ran int
	var equivalent, unexpected, errs []result
	for _, r := range results {
		switch r.outcome {
		case killed, timedOut:
			ran++
			killedN++
			if r.outcome == timedOut {
				timeouts++
			}
			if r.m.Equivalent != "" {
				r.by = "marked equivalent, but killed by " + r.by + ": drop the mark"
				errs = append(errs, r)
			}
		case survived:
			ran++
			if r.m.Equivalent != "" {
				equivalent = append(equivalent, r)
			} else {
				unexpected = append(unexpected, r)
			}
		case invalid:
			errs = append(errs, r)
		}
	}
	fmt.Fprintf(out, "mutation score: %d/%d", killedN, ran)
	if timeouts > 0 {
		fmt.Fprintf(out, " (%d of them by timeout)", timeouts)
	}
	fmt.Fprintf(out, " in %s, %d mutations listed\n", took.Round(time.Second), listed)
	fmt.Fprintf(out, "survivors marked equivalent: %d\n", len(equivalent))
	for _, r := range equivalent {
		fmt.Fprintf(out, "  %s: %s\n    equivalent: %s\n", r.m.ID, r.m.Guard, r.m.Equivalent)
	}
	fmt.Fprintf(out, "unexpected survivors: %d\n", len(unexpected))
	for _, r := range unexpected {
		fmt.Fprintf(out, "  %s (%s): %s\n", r.m.ID, r.m.File, r.m.Guard)
	}
	if len(errs) > 0 {
		fmt.Fprintf(out, "errors in the list: %d\n", len(errs))
		for _, r := range errs {
			fmt.Fprintf(out, "  %s (line %d): %s\n", r.m.ID, r.m.Line, r.by)
			if r.outcome == invalid && r.output != "" {
				fmt.Fprintf(out, "%s\n", indent(tail(r.output, 15), "    "))
			}
		}
	}
	if len(unexpected) > 0 || len(errs) > 0 {
		return 1
	}
	return 0
}

// failure is the suite's output from the first failing test on, at most n
// lines.
func failure(out string, n int) string {
	if i := failedTest.FindStringIndex(out); i != nil {
		out = out[i[0]:]
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
