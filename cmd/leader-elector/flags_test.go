package main

import "github.com/alecthomas/kong"

// allFlags returns the flags of node and of every command under it.
func allFlags(node *kong.Node) []*kong.Flag {
	flags := append([]*kong.Flag(nil), node.Flags...)
	for _, c := range node.Children {
		flags = append(flags, allFlags(c)...)
	}
	return flags
}
