// Command loadgen is the benchmarks' latency probe (and, with -spin, a
// probe of the machine's own stalls: spin.go): HTTP/1.1 over TCP or
// TLS (with a client certificate), either open loop (-rate R: requests
// are due at fixed intervals and each latency is measured from the time
// it was due, so a stall is charged to every request it delays) or closed
// loop (-rate 0: -c requests always in flight). Every connection has
// TCP_NODELAY (Go's default) and is reused (keep-alive). Prints one JSON
// summary: counts, statuses, rate and latency percentiles in ms.
//
// It exists because oha's TLS client added 40-60 ms stalls at p99.9 even
// against nginx answering 200 itself (2026-11-29), which made "added p99"
// a measurement of the load generator. Throughput runs still use oha.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

type summary struct {
	Requests int            `json:"requests"`
	Errors   int            `json:"errors"`
	Statuses map[string]int `json:"statuses"`
	Rps      float64        `json:"rps"`
	P50ms    float64        `json:"p50ms"`
	P90ms    float64        `json:"p90ms"`
	P99ms    float64        `json:"p99ms"`
	P999ms   float64        `json:"p999ms"`
	MaxMs    float64        `json:"maxMs"`
	FirstErr string         `json:"firstError,omitempty"`
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", a...)
	os.Exit(2)
}

func tlsConfig(u *url.URL, cacert, cert, key string) *tls.Config {
	cfg := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			fail("reading -cacert: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fail("-cacert %s holds no PEM certificate", cacert)
		}
		cfg.RootCAs = pool
	}
	if cert != "" || key != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			fail("loading -cert/-key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i].Microseconds()) / 1000
}

func main() {
	target := flag.String("url", "", "URL to request (http or https)")
	rate := flag.Float64("rate", 0, "requests per second (open loop); 0 = closed loop")
	conns := flag.Int("c", 16, "connections (= requests in flight at most)")
	dur := flag.Duration("d", 10*time.Second, "how long to send")
	method := flag.String("m", "GET", "HTTP method")
	bodyFile := flag.String("D", "", "file whose content is the request body")
	cacert := flag.String("cacert", "", "CA bundle (PEM) that verifies the server")
	cert := flag.String("cert", "", "client certificate (PEM)")
	key := flag.String("key", "", "client key (PEM)")
	var headers headerFlags
	flag.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	proxy := flag.String("proxy", "", "send http:// requests through this HTTP proxy (absolute-form), e.g. a sidecar's outbound 127.0.0.1:15001")
	spinFor := flag.Duration("spin", 0, "instead of sending: spin for this long and report the gaps in this thread's execution (spin.go)")
	flag.Parse()
	if *spinFor > 0 {
		spin(*spinFor)
		return
	}

	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		fail("-url must be an http or https URL, got %q", *target)
	}
	if *conns < 1 {
		fail("-c must be at least 1")
	}
	var body []byte
	if *bodyFile != "" {
		if body, err = os.ReadFile(*bodyFile); err != nil {
			fail("reading -D: %v", err)
		}
	}
	hdr := http.Header{}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			fail("-H %q is not 'Name: value'", h)
		}
		hdr.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}

	transport := &http.Transport{
		Proxy:               proxyFunc(*proxy),
		TLSClientConfig:     tlsConfig(u, *cacert, *cert, *key),
		MaxConnsPerHost:     *conns,
		MaxIdleConnsPerHost: *conns,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	// Due times (open loop): one every 1/rate from the start.
	start := time.Now()
	end := start.Add(*dur)
	due := make(chan time.Time, 1<<16)
	go func() {
		defer close(due)
		if *rate <= 0 {
			return // closed loop: each worker sends until `end` on its own
		}
		interval := time.Duration(float64(time.Second) / *rate)
		for t := start; t.Before(end); t = t.Add(interval) {
			if d := time.Until(t); d > 0 {
				time.Sleep(d)
			}
			due <- t
		}
	}()

	var mu sync.Mutex
	var lat []time.Duration
	statuses := map[string]int{}
	errors := 0
	firstErr := ""
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			myStatus := map[string]int{}
			myErrors := 0
			myFirst := ""
			next := func() (time.Time, bool) {
				if *rate <= 0 {
					now := time.Now()
					return now, now.Before(end)
				}
				t, ok := <-due
				return t, ok
			}
			for t, ok := next(); ok; t, ok = next() {
				req, err := http.NewRequest(*method, *target, bytes.NewReader(body))
				if err != nil {
					fail("building the request: %v", err)
				}
				req.Header = hdr.Clone()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil {
					myErrors++
					if myFirst == "" {
						myFirst = err.Error()
					}
					continue
				}
				mine = append(mine, time.Since(t))
				myStatus[fmt.Sprint(resp.StatusCode)]++
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range myStatus {
				statuses[k] += v
			}
			errors += myErrors
			if firstErr == "" {
				firstErr = myFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	s := summary{
		Requests: len(lat) + errors,
		Errors:   errors,
		Statuses: statuses,
		Rps:      float64(len(lat)) / elapsed.Seconds(),
		P50ms:    percentile(lat, 0.50),
		P90ms:    percentile(lat, 0.90),
		P99ms:    percentile(lat, 0.99),
		P999ms:   percentile(lat, 0.999),
		FirstErr: firstErr,
	}
	if len(lat) > 0 {
		s.MaxMs = float64(lat[len(lat)-1].Microseconds()) / 1000
	}
	out, _ := json.Marshal(s)
	fmt.Println(string(out))
}

// proxyFunc: no proxy (the default, whatever the environment says), or this one.
func proxyFunc(raw string) func(*http.Request) (*url.URL, error) {
	if raw == "" {
		return nil
	}
	p, err := url.Parse(raw)
	if err != nil || p.Scheme != "http" {
		fail("-proxy must be an http:// URL, got %q", raw)
	}
	return http.ProxyURL(p)
}
