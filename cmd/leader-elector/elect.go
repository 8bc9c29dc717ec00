package main

import "errors"

// electCmd is the sidecar mode. Owned by the elect work (issue 3).
type electCmd struct{}

func (c *electCmd) Run(env *runEnv) error { return errors.New("elect: not implemented yet") }
