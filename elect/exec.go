package elect

import (
	"context"
	"log/slog"
	"time"

	"github.com/leader-elector/leader-elector/elect/child"
)

// childActor runs exec mode's command as the owner's actor.
type childActor struct {
	argv  []string
	grace time.Duration
	log   *slog.Logger
	p     *child.Process
}

func (c *childActor) Start() (<-chan struct{}, error) {
	p, err := child.Start(c.argv, child.Options{Logger: c.log})
	if err != nil {
		return nil, err
	}
	c.p = p
	return p.Done(), nil
}

// Stop sends SIGTERM, and SIGKILL after the grace: the owner begins it at
// the renew deadline - grace, so the child is gone by the deadline.
func (c *childActor) Stop() {
	if err := c.p.Stop(context.Background(), c.grace); err != nil {
		c.log.Error("stopping the command", "err", err)
	}
}

func (c *childActor) ExitCode() int { return c.p.ExitCode() }
