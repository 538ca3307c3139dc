// Prints the platform it was compiled for: scratch has no uname, so the binary says it.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Printf("go-arch %s/%s\n", runtime.GOOS, runtime.GOARCH)
}
