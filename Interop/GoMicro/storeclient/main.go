// A go-micro v2.9.1 store service client (store/service) against a Swift Micro store service:
//   storeclient ADDR CONTENT-TYPE   (e.g. 127.0.0.1:18291 application/json; against `micro store serve`)
// Built like the peer: copy to $GOPATH/src/storeclient in build.sh's GOPATH, `go build storeclient`.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/micro/go-micro/v2/client"
	"github.com/micro/go-micro/v2/client/selector"
	"github.com/micro/go-micro/v2/registry/memory"
	"github.com/micro/go-micro/v2/store"
	"github.com/micro/go-micro/v2/store/service"
	"github.com/micro/go-micro/v2/transport/http"
)

func main() {
	addr := os.Args[1]
	reg := memory.NewRegistry()
	c := client.NewClient(client.Registry(reg), client.Selector(selector.NewSelector(selector.Registry(reg))),
		client.Transport(http.NewTransport()), client.ContentType(os.Args[2]))
	s := service.NewStore(store.Nodes(addr), store.WithClient(c), store.Database("gomicro"), store.Table("things"))
	check := func(what string, err error) {
		if err != nil {
			fmt.Printf("%s: error %v\n", what, err)
			os.Exit(1)
		}
	}
	check("write a", s.Write(&store.Record{Key: "a/1", Value: []byte("one"), Metadata: map[string]interface{}{"lang": "en"}}))
	check("write b", s.Write(&store.Record{Key: "a/2", Value: []byte("two"), Expiry: time.Hour}))
	check("write c", s.Write(&store.Record{Key: "b/1", Value: []byte("three")}))
	recs, err := s.Read("a/1")
	check("read", err)
	fmt.Printf("read %s=%s metadata=%v\n", recs[0].Key, recs[0].Value, recs[0].Metadata["lang"])
	recs, err = s.Read("a/", store.ReadPrefix())
	check("read prefix", err)
	for _, r := range recs {
		fmt.Printf("prefix %s=%s expiry=%v\n", r.Key, r.Value, r.Expiry > 59*time.Minute)
	}
	keys, err := s.List()
	check("list", err)
	fmt.Printf("list %v\n", keys)
	check("delete", s.Delete("a/1"))
	_, err = s.Read("a/1")
	fmt.Printf("after delete: %v (%v)\n", err == store.ErrNotFound, err)
}
