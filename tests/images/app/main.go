// A tiny well-behaved server for the engine tests (BP1/BP2): as PID 1 it handles
// SIGTERM and exits at once, prints "ready", optionally answers HTTP on
// 127.0.0.1:PORT, with -ignore-term ignores SIGTERM (to prove the stop check
// fails), and with -stop-delay takes that long to stop after SIGTERM (a slow
// shutdown: the stop check's limit lies between the delays the tests use). Built
// with CGO_ENABLED=0 into a static binary that runs FROM scratch.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("http", 0, "serve HTTP on 127.0.0.1:PORT")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM")
	exit := flag.Int("exit", -1, "exit at once with this code")
	stopDelay := flag.Duration("stop-delay", 0, "after SIGTERM, wait this long before exiting")
	flag.Parse()
	if *exit >= 0 {
		os.Exit(*exit)
	}
	signals := make(chan os.Signal, 1)
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	}
	if *port != 0 {
		listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "ok")
		}))
	}
	fmt.Printf("ready uid=%d port=%d\n", os.Getuid(), *port)
	<-signals
	fmt.Println("stopping")
	time.Sleep(*stopDelay)
}
