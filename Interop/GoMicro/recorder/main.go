// Command recorder is a tiny recording TCP proxy.
//
//	recorder LISTEN_ADDR UPSTREAM_ADDR OUT_DIR [MAX_SECONDS]
//
// For every accepted connection N (0-based, in accept order) it writes
//
//	OUT_DIR/connN.c2s  raw client->server bytes
//	OUT_DIR/connN.s2c  raw server->client bytes
//	OUT_DIR/connN.log  interleaved, human readable log: one entry per read()
//	                   chunk, in arrival order, with direction, offset,
//	                   length and the escaped bytes; plus EOF/close events.
//
// Half-closes are propagated (CloseWrite) so the peers see exactly what the
// other side did. It exits after MAX_SECONDS (default 600).
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

func escape(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\\':
			sb.WriteString(`\\`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

type connLog struct {
	mu    sync.Mutex
	f     *os.File
	start time.Time
}

func (l *connLog) printf(format string, a ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, "[+%9.6fs] ", time.Since(l.start).Seconds())
	fmt.Fprintf(l.f, format, a...)
}

func pipe(dir string, src, dst *net.TCPConn, raw *os.File, l *connLog, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	buf := make([]byte, 64*1024)
	var off int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			raw.Write(chunk)
			l.printf("%s %d bytes @%d\n    %s\n", dir, n, off, escape(chunk))
			off += int64(n)
			if _, werr := dst.Write(chunk); werr != nil {
				l.printf("%s write to peer failed: %v\n", dir, werr)
			}
		}
		if err != nil {
			if err == io.EOF {
				l.printf("%s EOF (sender closed its write side) total=%d\n", dir, off)
			} else {
				l.printf("%s read error: %v total=%d\n", dir, err, off)
			}
			dst.CloseWrite()
			return
		}
	}
}

func handle(n int, outDir string, c *net.TCPConn, upstream string) {
	base := filepath.Join(outDir, fmt.Sprintf("conn%d", n))
	lf, _ := os.Create(base + ".log")
	defer lf.Close()
	l := &connLog{f: lf, start: time.Now()}
	l.printf("ACCEPT client %s -> proxy %s; dialing %s\n", c.RemoteAddr(), c.LocalAddr(), upstream)

	uc, err := net.DialTimeout("tcp", upstream, 5*time.Second)
	if err != nil {
		l.printf("DIAL ERROR %v\n", err)
		c.Close()
		return
	}
	u := uc.(*net.TCPConn)
	c2s, _ := os.Create(base + ".c2s")
	s2c, _ := os.Create(base + ".s2c")
	defer c2s.Close()
	defer s2c.Close()

	done := make(chan struct{}, 2)
	go pipe("C->S", c, u, c2s, l, done)
	go pipe("S->C", u, c, s2c, l, done)
	<-done
	<-done
	c.Close()
	u.Close()
	l.printf("CLOSED both directions\n")
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: recorder LISTEN_ADDR UPSTREAM_ADDR OUT_DIR [MAX_SECONDS]")
		os.Exit(2)
	}
	listen, upstream, outDir := os.Args[1], os.Args[2], os.Args[3]
	maxSec := 600
	if len(os.Args) > 4 {
		if v, err := strconv.Atoi(os.Args[4]); err == nil {
			maxSec = v
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("RECORDING %s -> %s into %s\n", ln.Addr(), upstream, outDir)
	go func() {
		time.Sleep(time.Duration(maxSec) * time.Second)
		fmt.Fprintln(os.Stderr, "recorder lifetime elapsed")
		os.Exit(0)
	}()
	for i := 0; i < 100000; i++ { // bounded
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "accept:", err)
			return
		}
		go handle(i, outDir, c.(*net.TCPConn), upstream)
	}
}
