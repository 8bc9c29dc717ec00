// Command hello is what Build's test builds: small, and no dependency.
package main

import "fmt"

func main() { fmt.Println("hello") }
