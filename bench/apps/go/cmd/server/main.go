// gosvc: a small HTTP service on the standard library only. It needs the CA bundle
// (it loads the system roots for outbound TLS and reports how many it trusts) and
// the time zone database (/time?tz=Europe/Paris), and it stops cleanly on SIGTERM.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type status struct {
	Service string `json:"service"`
	UID     int    `json:"uid"`
	Roots   int    `json:"ca_roots"`
	Uptime  string `json:"uptime"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	flag.Parse()

	roots := 0
	if pool, err := x509.SystemCertPool(); err == nil {
		roots = len(pool.Subjects()) //nolint:staticcheck // a count is all we need
	}
	started := time.Now()

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(status{"gosvc", os.Getuid(), roots, time.Since(started).Round(time.Millisecond).String()})
	})
	mux.HandleFunc("/time", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("tz")
		if name == "" {
			name = "UTC"
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(time.Now().In(loc).Format(time.RFC3339) + "\n"))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })

	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		log.Printf("gosvc listening on %s (%d CA roots)", *listen, roots)
		if err := server.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = server.Shutdown(shutdown)
	log.Print("gosvc stopped")
}
