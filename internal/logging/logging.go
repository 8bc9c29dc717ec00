// Package logging builds the process's slog logger and routes client-go's
// klog into it, so every line has one format and one destination, and no
// caller ever waits for that destination (see Queue).
package logging

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"

	"k8s.io/klog/v2"
)

// New returns a logger writing format ("text" or "json") to w through a
// Queue, and makes klog and the standard log package (which a dependency
// may write to: it goes straight to stderr) write through it too. Both are
// process-global, so only main should call New. Close the Queue on the way
// out, with a bound.
func New(w io.Writer, format string, level slog.Level) (*slog.Logger, *Queue, error) {
	if _, err := handler(io.Discard, format, level); err != nil {
		return nil, nil, err
	}
	q := NewQueue(w, func(n uint64) []byte { return droppedNotice(format, n) }, 0)
	h, _ := handler(q, format, level)
	logger := slog.New(h)
	klog.SetSlogLogger(logger)
	slog.SetDefault(logger)
	return logger, q, nil
}

// handler is slog's handler for format.
func handler(w io.Writer, format string, level slog.Level) (slog.Handler, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "", "text":
		return slog.NewTextHandler(w, opts), nil
	case "json":
		return slog.NewJSONHandler(w, opts), nil
	}
	return nil, fmt.Errorf("unknown log format %q: use text or json", format)
}

// DroppedMsg is the message of the line that stands for dropped lines.
const DroppedMsg = "log lines dropped: the log's reader fell behind"

// droppedNotice renders the line that stands for n dropped lines, in the
// log's format, at warning level whatever the log's level.
func droppedNotice(format string, n uint64) []byte {
	var b bytes.Buffer
	h, err := handler(&b, format, slog.LevelWarn)
	if err != nil { // New checked the format
		panic(err)
	}
	slog.New(h).Warn(DroppedMsg, "dropped", n)
	return b.Bytes()
}
