// Command peer is a real go-micro v2.9.1 rpc server / client that talks over
// the go-micro HTTP transport with the JSON codec (application/json).
//
//	peer serve 127.0.0.1:PORT
//	peer call  127.0.0.1:PORT SCENARIO [ARGS...]
//
// The handler registration and the client stubs below are written exactly the
// way protoc-gen-micro (v2) generates them (see e.g.
// go-micro/v2 debug/service/proto/debug.pb.micro.go and
// client/service/proto/client.pb.micro.go), but with plain Go structs + json
// tags instead of protobuf messages.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/micro/go-micro/v2/broker"
	bmemory "github.com/micro/go-micro/v2/broker/memory"
	"github.com/micro/go-micro/v2/client"
	"github.com/micro/go-micro/v2/client/selector"
	"github.com/micro/go-micro/v2/errors"
	"github.com/micro/go-micro/v2/registry"
	rmemory "github.com/micro/go-micro/v2/registry/memory"
	"github.com/micro/go-micro/v2/server"
	"github.com/micro/go-micro/v2/transport"
	thttp "github.com/micro/go-micro/v2/transport/http"
)

// ---------------------------------------------------------------- messages

type HelloRequest struct {
	Name string `json:"name"`
}

type HelloReply struct {
	Message string `json:"message"`
}

type CountRequest struct {
	From int32 `json:"from"`
}

type Tick struct {
	N *int32 `json:"n"`
}

type ChatMessage struct {
	Text string `json:"text"`
}

// ---------------------------------------------------------------- "generated" server side

// GreeterHandler is the user-facing handler interface (as protoc-gen-micro emits it).
type GreeterHandler interface {
	Hello(context.Context, *HelloRequest, *HelloReply) error
	Countdown(context.Context, *CountRequest, Greeter_CountdownStream) error
	Chat(context.Context, Greeter_ChatStream) error
}

func RegisterGreeterHandler(s server.Server, hdlr GreeterHandler, opts ...server.HandlerOption) error {
	type greeter interface {
		Hello(ctx context.Context, in *HelloRequest, out *HelloReply) error
		Countdown(ctx context.Context, stream server.Stream) error
		Chat(ctx context.Context, stream server.Stream) error
	}
	type Greeter struct {
		greeter
	}
	h := &greeterHandler{hdlr}
	return s.Handle(s.NewHandler(&Greeter{h}, opts...))
}

type greeterHandler struct {
	GreeterHandler
}

func (h *greeterHandler) Hello(ctx context.Context, in *HelloRequest, out *HelloReply) error {
	return h.GreeterHandler.Hello(ctx, in, out)
}

func (h *greeterHandler) Countdown(ctx context.Context, stream server.Stream) error {
	m := new(CountRequest)
	if err := stream.Recv(m); err != nil {
		return err
	}
	return h.GreeterHandler.Countdown(ctx, m, &greeterCountdownStream{stream})
}

type Greeter_CountdownStream interface {
	Context() context.Context
	SendMsg(interface{}) error
	RecvMsg(interface{}) error
	Close() error
	Send(*Tick) error
}

type greeterCountdownStream struct {
	stream server.Stream
}

func (x *greeterCountdownStream) Close() error                { return x.stream.Close() }
func (x *greeterCountdownStream) Context() context.Context    { return x.stream.Context() }
func (x *greeterCountdownStream) SendMsg(m interface{}) error { return x.stream.Send(m) }
func (x *greeterCountdownStream) RecvMsg(m interface{}) error { return x.stream.Recv(m) }
func (x *greeterCountdownStream) Send(m *Tick) error          { return x.stream.Send(m) }

func (h *greeterHandler) Chat(ctx context.Context, stream server.Stream) error {
	return h.GreeterHandler.Chat(ctx, &greeterChatStream{stream})
}

type Greeter_ChatStream interface {
	Context() context.Context
	SendMsg(interface{}) error
	RecvMsg(interface{}) error
	Close() error
	Send(*ChatMessage) error
	Recv() (*ChatMessage, error)
}

type greeterChatStream struct {
	stream server.Stream
}

func (x *greeterChatStream) Close() error                { return x.stream.Close() }
func (x *greeterChatStream) Context() context.Context    { return x.stream.Context() }
func (x *greeterChatStream) SendMsg(m interface{}) error { return x.stream.Send(m) }
func (x *greeterChatStream) RecvMsg(m interface{}) error { return x.stream.Recv(m) }
func (x *greeterChatStream) Send(m *ChatMessage) error   { return x.stream.Send(m) }
func (x *greeterChatStream) Recv() (*ChatMessage, error) {
	m := new(ChatMessage)
	if err := x.stream.Recv(m); err != nil {
		return nil, err
	}
	return m, nil
}

// ---------------------------------------------------------------- "generated" client side

type GreeterService interface {
	Hello(ctx context.Context, in *HelloRequest, opts ...client.CallOption) (*HelloReply, error)
	Countdown(ctx context.Context, in *CountRequest, opts ...client.CallOption) (Greeter_CountdownService, error)
	Chat(ctx context.Context, opts ...client.CallOption) (Greeter_ChatService, error)
}

type greeterService struct {
	c    client.Client
	name string
}

func NewGreeterService(name string, c client.Client) GreeterService {
	return &greeterService{c: c, name: name}
}

func (c *greeterService) Hello(ctx context.Context, in *HelloRequest, opts ...client.CallOption) (*HelloReply, error) {
	req := c.c.NewRequest(c.name, "Greeter.Hello", in)
	out := new(HelloReply)
	err := c.c.Call(ctx, req, out, opts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *greeterService) Countdown(ctx context.Context, in *CountRequest, opts ...client.CallOption) (Greeter_CountdownService, error) {
	req := c.c.NewRequest(c.name, "Greeter.Countdown", &CountRequest{})
	stream, err := c.c.Stream(ctx, req, opts...)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(in); err != nil {
		return nil, err
	}
	return &greeterServiceCountdown{stream}, nil
}

type Greeter_CountdownService interface {
	Context() context.Context
	SendMsg(interface{}) error
	RecvMsg(interface{}) error
	Close() error
	Recv() (*Tick, error)
}

type greeterServiceCountdown struct {
	stream client.Stream
}

func (x *greeterServiceCountdown) Close() error                { return x.stream.Close() }
func (x *greeterServiceCountdown) Context() context.Context    { return x.stream.Context() }
func (x *greeterServiceCountdown) SendMsg(m interface{}) error { return x.stream.Send(m) }
func (x *greeterServiceCountdown) RecvMsg(m interface{}) error { return x.stream.Recv(m) }
func (x *greeterServiceCountdown) Recv() (*Tick, error) {
	m := new(Tick)
	err := x.stream.Recv(m)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (c *greeterService) Chat(ctx context.Context, opts ...client.CallOption) (Greeter_ChatService, error) {
	req := c.c.NewRequest(c.name, "Greeter.Chat", &ChatMessage{})
	stream, err := c.c.Stream(ctx, req, opts...)
	if err != nil {
		return nil, err
	}
	return &greeterServiceChat{stream}, nil
}

type Greeter_ChatService interface {
	Context() context.Context
	SendMsg(interface{}) error
	RecvMsg(interface{}) error
	Close() error
	Send(*ChatMessage) error
	Recv() (*ChatMessage, error)
}

type greeterServiceChat struct {
	stream client.Stream
}

func (x *greeterServiceChat) Close() error                { return x.stream.Close() }
func (x *greeterServiceChat) Context() context.Context    { return x.stream.Context() }
func (x *greeterServiceChat) SendMsg(m interface{}) error { return x.stream.Send(m) }
func (x *greeterServiceChat) RecvMsg(m interface{}) error { return x.stream.Recv(m) }
func (x *greeterServiceChat) Send(m *ChatMessage) error   { return x.stream.Send(m) }
func (x *greeterServiceChat) Recv() (*ChatMessage, error) {
	m := new(ChatMessage)
	if err := x.stream.Recv(m); err != nil {
		return nil, err
	}
	return m, nil
}

// ---------------------------------------------------------------- handler implementation

type Greeter struct {
	tickDelay time.Duration
}

func (g *Greeter) Hello(ctx context.Context, req *HelloRequest, rsp *HelloReply) error {
	if req.Name == "" {
		return errors.BadRequest("greeter", "name is empty")
	}
	rsp.Message = "Hello " + req.Name
	return nil
}

func (g *Greeter) Countdown(ctx context.Context, req *CountRequest, stream Greeter_CountdownStream) error {
	if req.From < 0 {
		return errors.BadRequest("greeter", "from must be >= 0")
	}
	if req.From > 10000 {
		n := req.From - 1
		if err := stream.Send(&Tick{N: &n}); err != nil {
			return err
		}
		return errors.InternalServerError("greeter", "boom")
	}
	for k := req.From - 1; k >= 0; k-- {
		n := k
		if err := stream.Send(&Tick{N: &n}); err != nil {
			return err
		}
		if g.tickDelay > 0 {
			time.Sleep(g.tickDelay)
		}
	}
	return nil
}

func (g *Greeter) Chat(ctx context.Context, stream Greeter_ChatStream) error {
	for i := 0; i < 100000; i++ { // bounded
		m, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if m.Text == "boom" {
			return errors.InternalServerError("greeter", "boom")
		}
		if err := stream.Send(&ChatMessage{Text: "echo: " + m.Text}); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------- main

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  peer serve 127.0.0.1:PORT
  peer call  127.0.0.1:PORT hello NAME | hellos NAME... | hellos-deadline NAME... | fail | failhello NAME |
                            countdown N | countdown-cancel N | chat A B C... | chatboom | unknown
env: PEER_SERVE_SECONDS (serve lifetime, default 3600), PEER_TICK_DELAY_MS (server delay
     after each countdown tick, default 0), PEER_CALL_SECONDS (call watchdog, default 30)`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2])
	case "call":
		if len(os.Args) < 4 {
			usage()
		}
		os.Exit(call(os.Args[2], os.Args[3], os.Args[4:]))
	default:
		usage()
	}
}

func newRegistryAndBroker() (registry.Registry, broker.Broker) {
	reg := rmemory.NewRegistry()
	brk := bmemory.NewBroker(broker.Registry(reg))
	return reg, brk
}

func serve(addr string) {
	reg, brk := newRegistryAndBroker()
	var tr transport.Transport = thttp.NewTransport()

	srv := server.NewServer(
		server.Name("greeter"),
		server.Address(addr),
		server.Transport(tr),
		server.Registry(reg),
		server.Broker(brk),
	)
	g := &Greeter{tickDelay: time.Duration(envInt("PEER_TICK_DELAY_MS", 0)) * time.Millisecond}
	if err := RegisterGreeterHandler(srv, g); err != nil {
		fmt.Fprintln(os.Stderr, "register:", err)
		os.Exit(1)
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
	fmt.Printf("LISTENING %s\n", srv.Options().Address)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case <-time.After(time.Duration(envInt("PEER_SERVE_SECONDS", 3600)) * time.Second):
		fmt.Fprintln(os.Stderr, "serve lifetime elapsed")
	}
	srv.Stop()
}

func printErr(err error) {
	e := errors.Parse(err.Error())
	b, _ := json.Marshal(map[string]interface{}{
		"id": e.Id, "code": e.Code, "detail": e.Detail, "status": e.Status,
	})
	fmt.Println(string(b))
}

func call(addr, scenario string, args []string) int {
	reg, brk := newRegistryAndBroker()
	c := client.NewClient(
		client.Selector(selector.NewSelector(selector.Registry(reg))),
		client.Registry(reg),
		client.Broker(brk),
		client.Transport(thttp.NewTransport()),
		client.ContentType("application/json"),
	)
	svc := NewGreeterService("greeter", c)
	// No deadline on the context on purpose: with a deadline the client sends the
	// remaining time as the Timeout header (non-deterministic bytes). Without one
	// it sends the client's RequestTimeout (5s default): "Timeout: 5000000000".
	// The whole call is bounded by a process watchdog instead.
	ctx := context.Background()
	go func() {
		time.Sleep(time.Duration(envInt("PEER_CALL_SECONDS", 30)) * time.Second)
		fmt.Println("TIMEOUT")
		os.Exit(3)
	}()
	opt := client.WithAddress(addr)

	printJSON := func(v interface{}) {
		b, _ := json.Marshal(v)
		fmt.Println(string(b))
	}

	switch scenario {
	case "hello", "hellos", "hellos-deadline":
		if len(args) < 1 {
			usage()
		}
		cctx := ctx
		if scenario == "hellos-deadline" {
			// with a context deadline the client sends the *remaining* time as Timeout,
			// so consecutive requests carry different Timeout values
			var cancel context.CancelFunc
			cctx, cancel = context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
		}
		for i, name := range args {
			if i > 0 && scenario == "hellos-deadline" {
				time.Sleep(10 * time.Millisecond)
			}
			rsp, err := svc.Hello(cctx, &HelloRequest{Name: name}, opt)
			if err != nil {
				fmt.Println("ERROR", err.Error())
				return 1
			}
			printJSON(rsp)
			if scenario == "hello" {
				break
			}
		}
		return 0

	case "unknown":
		// a method the server does not have: shows the router's plain-text error
		req := c.NewRequest("greeter", "Greeter.Nope", &HelloRequest{Name: "x"})
		err := c.Call(ctx, req, new(HelloReply), opt)
		if err == nil {
			fmt.Println("UNEXPECTED SUCCESS")
			return 1
		}
		fmt.Println("ERROR", err.Error())
		printErr(err)
		return 0

	case "fail", "failhello":
		_, err := svc.Hello(ctx, &HelloRequest{Name: ""}, opt)
		if err == nil {
			fmt.Println("UNEXPECTED SUCCESS")
			return 1
		}
		printErr(err)
		if scenario == "failhello" {
			name := "after"
			if len(args) > 0 {
				name = args[0]
			}
			rsp, err := svc.Hello(ctx, &HelloRequest{Name: name}, opt)
			if err != nil {
				fmt.Println("ERROR", err.Error())
				return 1
			}
			printJSON(rsp)
		}
		return 0

	case "countdown", "countdown-cancel":
		if len(args) < 1 {
			usage()
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			usage()
		}
		stream, err := svc.Countdown(ctx, &CountRequest{From: int32(n)}, opt)
		if err != nil {
			fmt.Println("ERROR", err.Error())
			return 1
		}
		limit := 1 << 30
		if scenario == "countdown-cancel" {
			limit = 2
		}
		got := 0
		for i := 0; i < 100000; i++ { // bounded
			if got >= limit {
				fmt.Println("CANCEL")
				break
			}
			t, err := stream.Recv()
			if err == io.EOF {
				fmt.Println("END")
				break
			}
			if err != nil {
				fmt.Println("ERROR", err.Error())
				break
			}
			got++
			printJSON(t)
		}
		if err := stream.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close:", err)
		}
		return 0

	case "chat", "chatboom":
		stream, err := svc.Chat(ctx, opt)
		if err != nil {
			fmt.Println("ERROR", err.Error())
			return 1
		}
		texts := args
		if scenario == "chatboom" {
			texts = []string{"boom"}
		}
		for _, t := range texts {
			if err := stream.Send(&ChatMessage{Text: t}); err != nil {
				fmt.Println("ERROR send", err.Error())
				break
			}
			m, err := stream.Recv()
			if err != nil {
				fmt.Println("ERROR", err.Error())
				break
			}
			printJSON(m)
		}
		if err := stream.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close:", err)
		}
		return 0
	}
	usage()
	return 2
}
