// The search service of the company example: a stub that answers and stops on SIGTERM.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os/signal"
	"syscall"
)

func main() {
	server := &http.Server{Addr: "127.0.0.1:8080", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "search")
	})}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { _ = server.ListenAndServe() }()
	<-ctx.Done()
	_ = server.Shutdown(context.Background())
}
