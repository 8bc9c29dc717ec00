package main

import "errors"

// watchCmd is the dashboard and JSON-lines mode. Owned by the watch work (issue 4).
type watchCmd struct{}

func (c *watchCmd) Run(env *runEnv) error { return errors.New("watch: not implemented yet") }
