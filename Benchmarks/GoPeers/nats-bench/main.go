// Command nats-bench measures nats.go the way `micro-bench nats` measures MicroNATS, against a
// running nats-server: publish (N messages, then a flush), publish→subscribe (one connection
// publishes N messages, another counts them as delivered) and sequential request/reply (a responder
// subscription answers each 16-byte request on another connection). It prints one line per run,
// `<mode> <size> <msgs/s> <p50 ms> <p99 ms>` (latencies only for request), for `micro-bench peers`.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

func connect(url string) *nats.Conn {
	nc, err := nats.Connect(url)
	if err != nil {
		log.Fatalf("connect %s: %v", url, err)
	}
	return nc
}

func publish(url string, messages int, payload []byte) float64 {
	nc := connect(url)
	defer nc.Close()
	t0 := time.Now()
	for i := 0; i < messages; i++ {
		if err := nc.Publish("bench.pub", payload); err != nil {
			log.Fatalf("publish: %v", err)
		}
	}
	if err := nc.FlushTimeout(60 * time.Second); err != nil {
		log.Fatalf("flush: %v", err)
	}
	return float64(messages) / time.Since(t0).Seconds()
}

func pubsub(url string, messages int, payload []byte) float64 {
	sc := connect(url)
	defer sc.Close()
	var count int64
	done := make(chan time.Time, 1)
	sub, err := sc.Subscribe("bench.sub", func(*nats.Msg) {
		if atomic.AddInt64(&count, 1) == int64(messages) {
			done <- time.Now()
		}
	})
	if err != nil {
		log.Fatalf("subscribe: %v", err)
	}
	// Bounded as the client's defaults scaled to the run: every message may wait in the subscription.
	if err := sub.SetPendingLimits(messages, messages*(len(payload)+64)); err != nil {
		log.Fatalf("pending limits: %v", err)
	}
	if err := sc.Flush(); err != nil {
		log.Fatalf("flush: %v", err)
	}
	pc := connect(url)
	defer pc.Close()
	t0 := time.Now()
	for i := 0; i < messages; i++ {
		if err := pc.Publish("bench.sub", payload); err != nil {
			log.Fatalf("publish: %v", err)
		}
	}
	if err := pc.FlushTimeout(60 * time.Second); err != nil {
		log.Fatalf("flush: %v", err)
	}
	select {
	case end := <-done:
		return float64(messages) / end.Sub(t0).Seconds()
	case <-time.After(60 * time.Second):
		dropped, _ := sub.Dropped()
		log.Fatalf("subscriber got %d of %d within 60 s (dropped %d)", atomic.LoadInt64(&count), messages, dropped)
	}
	return 0
}

func request(url string, requests int) (float64, float64, float64) {
	rc := connect(url)
	defer rc.Close()
	if _, err := rc.Subscribe("bench.echo.go", func(m *nats.Msg) { m.Respond(m.Data) }); err != nil {
		log.Fatalf("subscribe: %v", err)
	}
	if err := rc.Flush(); err != nil {
		log.Fatalf("flush: %v", err)
	}
	nc := connect(url)
	defer nc.Close()
	body := []byte("0123456789abcdef")
	latencies := make([]time.Duration, 0, requests)
	var total time.Duration
	for i := 0; i < requests; i++ {
		t0 := time.Now()
		reply, err := nc.Request("bench.echo.go", body, 5*time.Second)
		if err != nil {
			log.Fatalf("request: %v", err)
		}
		d := time.Since(t0)
		if !bytes.Equal(reply.Data, body) {
			log.Fatalf("request: wrong reply %q", reply.Data)
		}
		latencies = append(latencies, d)
		total += d
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	rank := func(p float64) float64 {
		i := int(p/100*float64(len(latencies))+0.999999) - 1
		if i < 0 {
			i = 0
		}
		return float64(latencies[i].Nanoseconds()) / 1e6
	}
	return float64(requests) / total.Seconds(), rank(50), rank(99)
}

func main() {
	url := flag.String("url", nats.DefaultURL, "the nats-server")
	mode := flag.String("mode", "publish", "publish, pubsub or request")
	messages := flag.Int("messages", 1000000, "messages per publish and pubsub run")
	requests := flag.Int("requests", 20000, "requests per request run")
	size := flag.Int("size", 1024, "payload bytes of publish and pubsub")
	flag.Parse()
	if *messages < 1 || *requests < 1 || *size < 1 || *size > 1<<20 {
		log.Fatal("messages and requests ≥ 1, size 1 B to 1 MiB")
	}
	payload := bytes.Repeat([]byte("x"), *size)
	switch *mode {
	case "publish":
		fmt.Printf("publish %d %.0f - -\n", *size, publish(*url, *messages, payload))
	case "pubsub":
		fmt.Printf("pubsub %d %.0f - -\n", *size, pubsub(*url, *messages, payload))
	case "request":
		rate, p50, p99 := request(*url, *requests)
		fmt.Printf("request 16 %.0f %.3f %.3f\n", rate, p50, p99)
	default:
		log.Printf("unknown mode %q", *mode)
		os.Exit(2)
	}
}
