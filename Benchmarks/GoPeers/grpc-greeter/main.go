// Command grpc-greeter serves greeter.v1.Greeter/Hello with grpc-go, from the same proto as the
// Swift greeter (Examples/Greeter/Protos/greeter.proto, generated into package greeterpb by
// build.sh): the gRPC peer that `micro-bench peers` measures the greeter against.
package main

import (
	"context"
	"flag"
	"log"
	"net"

	pb "greeterpb"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type greeter struct {
	pb.UnimplementedGreeterServer
}

func (greeter) Hello(_ context.Context, req *pb.HelloRequest) (*pb.HelloReply, error) {
	if req.Name == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	return &pb.HelloReply{Message: "Hello " + req.Name}, nil
}

// Countdown streams from-1 down to 0 (protoc-gen-go 1.3 has no proto3 `optional`: the last tick is
// an empty message where the Swift greeter sends n=0 explicitly; the bench only calls Hello).
func (greeter) Countdown(req *pb.CountRequest, stream pb.Greeter_CountdownServer) error {
	if req.From < 0 || req.From > 10000 {
		return status.Error(codes.InvalidArgument, "from must be 0...10000")
	}
	for n := req.From - 1; n >= 0; n-- {
		if err := stream.Send(&pb.Tick{N: n}); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "bind address (loopback only)")
	flag.Parse()
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// grpc-go's defaults: 4 MiB messages received at most, as the greeter.
	server := grpc.NewServer()
	pb.RegisterGreeterServer(server, greeter{})
	log.Printf("listening %s", listener.Addr())
	log.Fatal(server.Serve(listener))
}
