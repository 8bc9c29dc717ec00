// Package tui is the dashboard of `leader-elector watch` on a terminal: a
// Bubble Tea program that renders the Lease states and events produced by
// package watch. It owns no Kubernetes client; the domain stays in watch.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"k8s.io/utils/clock"

	"github.com/leader-elector/leader-elector/watch"
)

// Options describe what is watched (for the status line) and the terminal.
type Options struct {
	// Context is the kubeconfig context's name; Namespace the one watched.
	Context   string
	Namespace string
	// Contexts, when more than one, are the contexts watched (events name
	// theirs): a CONTEXT column, and each one's link in the status line.
	Contexts []string
	// Replay, when set, drives the dashboard from a recording; the events
	// channel is then not read.
	Replay *Replay
	// AllNamespaces is -A: a NAMESPACE column, and kube-node-lease hidden
	// unless ShowNodeLeases (or the `n` key).
	AllNamespaces  bool
	ShowNodeLeases bool
	// Input and Output are the terminal; nil means stdin and stdout.
	Input  io.Reader
	Output io.Writer
	// Clock judges countdowns and ages; nil is the real clock.
	Clock clock.PassiveClock
	// Handover, when set, is what the H key runs on the selected Lease:
	// the dashboard's only write. nil (a replay) leaves the key out.
	Handover HandoverFunc
}

// Run shows the dashboard until the user quits (q, ctrl+c: nil) or ctx ends
// (ctx's error). Events are read from events as they come; a closed
// channel leaves the last picture on screen with the watch marked ended.
func Run(ctx context.Context, events <-chan watch.Event, opts Options) error {
	in, out := opts.Input, opts.Output
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	// One renderer on our output: its colour profile follows the terminal
	// and NO_COLOR (termenv's EnvColorProfile), not os.Stdout's.
	var src *source
	if opts.Replay == nil {
		src = newSource(events)
	}
	m := newModel(src, opts, lipgloss.NewRenderer(out))
	hctx, cancel := context.WithCancel(ctx)
	if m.hos != nil {
		m.hos.ctx = hctx
	}
	p := tea.NewProgram(m, append(programOptions(ctx, out), tea.WithInput(in), tea.WithAltScreen())...)
	_, err := p.Run()
	// A hand-over still waiting ends with the dashboard, and takes its
	// request off the Lease (handover.Run bounds that) before we return.
	cancel()
	if m.hos != nil {
		m.hos.wg.Wait()
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, tea.ErrProgramKilled) {
			return ctx.Err()
		}
		return fmt.Errorf("running the dashboard: %w", err)
	}
	return nil
}

// rendererFPS caps how often Bubble Tea's renderer wakes to flush a frame.
// Its default, 60, wakes the process 60 times a second for frames that
// change at most about 20 times a second (ticks and event batches).
const rendererFPS = 30

// programOptions are the options Run gives Bubble Tea (less the terminal
// input and the alternate screen), shared with the stream harness so it
// measures what users run.
func programOptions(ctx context.Context, out io.Writer) []tea.ProgramOption {
	return []tea.ProgramOption{tea.WithContext(ctx), tea.WithOutput(out), tea.WithFPS(rendererFPS)}
}
