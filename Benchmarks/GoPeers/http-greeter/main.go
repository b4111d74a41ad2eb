// Command http-greeter answers go-micro's mucp Hello over HTTP/1.1 with net/http, as the Swift
// greeter's HTTP transport does: POST / with Micro-Endpoint: Greeter.Hello and a JSON body
// {"name":"..."} gets {"message":"Hello ..."}; an application error is 200 OK with the error JSON
// in Micro-Error and an empty body (WIRE.md, "RPC over HTTP"). It is the Go peer that
// `micro-bench peers` measures the greeter against; build it with Benchmarks/GoPeers/build.sh.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
)

// maxBody bounds a request body (the greeter's maxMessageSize is 4 MiB).
const maxBody = 4 << 20

type helloRequest struct {
	Name string `json:"name"`
}

type helloReply struct {
	Message string `json:"message"`
}

type microError struct {
	ID     string `json:"id,omitempty"`
	Code   int32  `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
	Status string `json:"status,omitempty"`
}

func fail(w http.ResponseWriter, code int32, detail string) {
	text, _ := json.Marshal(microError{ID: "greeter", Code: code, Detail: detail, Status: http.StatusText(int(code))})
	w.Header().Set("Micro-Error", string(text))
	w.WriteHeader(http.StatusOK)
}

func endpoint(r *http.Request) string {
	if e := r.Header.Get("Micro-Endpoint"); e != "" {
		return e
	}
	return r.Header.Get("X-Micro-Endpoint")
}

func hello(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if e := endpoint(r); e != "Greeter.Hello" {
		fail(w, 404, "unknown endpoint "+e)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		fail(w, 400, "unsupported content type "+ct)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		fail(w, 400, "cannot read the request")
		return
	}
	var req helloRequest
	if err := json.Unmarshal(body, &req); err != nil {
		fail(w, 400, "malformed JSON: "+err.Error())
		return
	}
	if req.Name == "" {
		fail(w, 400, "name is required")
		return
	}
	out, _ := json.Marshal(helloReply{Message: "Hello " + req.Name})
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "bind address (loopback only)")
	flag.Parse()
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening %s", listener.Addr())
	log.Fatal(http.Serve(listener, http.HandlerFunc(hello)))
}
