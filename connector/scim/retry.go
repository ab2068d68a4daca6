package scim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"provisiond/connector"
	"provisiond/jsonenc"
	"provisiond/netguard"
)

// baseBackoff is the wait before the first retry without Retry-After; each
// further retry doubles it (up to MaxRetryWait), with jitter.
const baseBackoff = 200 * time.Millisecond

// do sends a request, retrying transient failures (see Client), and
// returns a 2xx response or a *connector.Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any) (*response, error) {
	resp, _, err := c.send(ctx, method, path, query, body)
	return resp, err
}

// send is do that also reports whether an earlier, failed attempt may
// have reached the server and taken effect (it was sent and not refused
// with 429), so that a DELETE answered 404 on its retry can be told from
// one of a missing object.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) (*response, bool, error) {
	payload, err := encode(body)
	if err != nil {
		return nil, false, err
	}
	start := time.Now()
	reached := false
	for n := 1; ; n++ {
		resp, sent, err := c.attempt(ctx, method, path, query, payload)
		if err == nil {
			return resp, reached, nil
		}
		wait, retry := c.retryWait(method, sent, err, n)
		if err := c.next(ctx, start, method, path, n, retry, wait, err); err != nil {
			return nil, reached, err
		}
		reached = reached || sent && statusOf(err) != http.StatusTooManyRequests
	}
}

// next decides what follows attempt n of a request begun at start that
// failed with err, given whether (retry) and after how long (wait) it may
// be sent again: nil once the wait is over, or the error to return. It
// never starts a wait that would outlast the caller's deadline: a request
// the deadline cuts short ends with deadlineError.
func (c *Client) next(ctx context.Context, start time.Time, method, path string, n int, retry bool, wait time.Duration, err error) error {
	dl, hasDeadline := ctx.Deadline()
	if expired(ctx) || retry && hasDeadline && time.Until(dl) <= wait {
		return c.deadlineError(start, dl, method, path, n, err)
	}
	if !retry || ctx.Err() != nil {
		return err
	}
	c.logRetry(ctx, method, path, n, wait, err)
	if c.sleep(ctx, wait) != nil {
		if expired(ctx) {
			return c.deadlineError(start, dl, method, path, n, err)
		}
		return err
	}
	return nil
}

// expired reports whether ctx's deadline has passed, even when its timer
// has not fired yet (an attempt's own timeout may end at the same instant).
func expired(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return errors.Is(ctx.Err(), context.DeadlineExceeded) || ok && !time.Now().Before(dl)
}

// deadlineError is the error of a request begun at start whose n attempts
// the caller's deadline dl cut short, the last failing with err: a
// transient error (the last one's status, code and Retry-After) that says
// what timed out and after how long. A permanent err is returned as is.
func (c *Client) deadlineError(start, dl time.Time, method, path string, n int, err error) error {
	var last *connector.Error
	if !errors.As(err, &last) || last.Kind != connector.KindTransient {
		return err
	}
	attempts := "1 attempt"
	if n > 1 {
		attempts = fmt.Sprintf("%d attempts", n)
	}
	ce := *last
	ce.Message = fmt.Sprintf("The SCIM target at %s did not answer %s %s within %s (%s). The last attempt: %s",
		c.origin, method, path, roundDuration(dl.Sub(start)), attempts, last.Message)
	ce.Err = err
	return &ce
}

// roundDuration rounds d for a message: to the second from a second up,
// else to the millisecond.
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

func encode(body any) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	payload, err := jsonenc.AppendValue(make([]byte, 0, 512), body)
	if err != nil {
		return nil, &connector.Error{Kind: connector.KindInvalid, Code: CodeInvalidValue, Message: "cannot encode request: " + err.Error(), Err: err}
	}
	return payload, nil
}

func (c *Client) logRetry(ctx context.Context, method, path string, n int, wait time.Duration, err error) {
	c.log.LogAttrs(ctx, slog.LevelDebug, "scim retry", slog.String("method", method), slog.String("path", path),
		slog.Int("attempt", n), slog.Duration("wait", wait), slog.String("error", err.Error()))
}

// retryWait decides whether attempt n of a request that failed with err is
// retried, and after how long. Only transient failures are retried, a POST
// only when it was not sent (the caller handles the rest: see Create). A
// 429 or 503 with a Retry-After longer than MaxRetryWait is not retried.
func (c *Client) retryWait(method string, sent bool, err error, n int) (time.Duration, bool) {
	if n >= c.maxAttempts {
		return 0, false
	}
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Kind != connector.KindTransient {
		return 0, false
	}
	if method == http.MethodPost && (sent || ce.Status != 0) {
		return 0, false
	}
	return retryDelay(ce.Status, ce.RetryAfter, n, c.maxRetryWait)
}

// retryDelay is the wait before retry n (1 for the first) after a
// transient failure with the given status and Retry-After seconds; false
// when the server asked for more than limit.
func retryDelay(status int, retryAfter float64, n int, limit time.Duration) (time.Duration, bool) {
	if retryAfter > 0 && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		if retryAfter > limit.Seconds() {
			return 0, false
		}
		if w := retryAfter * float64(time.Second); w < float64(limit) {
			return time.Duration(w), true
		}
		return limit, true
	}
	return backoff(n, limit), true
}

// backoff is the exponential delay before retry n with "equal jitter": a
// random wait between half and all of baseBackoff·2^(n-1), capped at
// limit.
func backoff(n int, limit time.Duration) time.Duration {
	d := baseBackoff << min(max(n-1, 0), 20)
	if d > limit {
		d = limit
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// sleepTimer is the default Config.Sleep.
func sleepTimer(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// statusOf returns the HTTP status of a connector error, 0 if none.
func statusOf(err error) int {
	var ce *connector.Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

// attempt sends one request within the client timeout. sent reports
// whether the request may have reached the server: false only when the
// connection could not be made.
func (c *Client) attempt(ctx context.Context, method, path string, query url.Values, payload []byte) (resp *response, sent bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, false, transportError(method, path, err)
	}
	req.Header.Set("Accept", "application/scim+json, application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+string(c.token))
	}
	start := time.Now()
	hresp, err := c.http.Do(req)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelDebug, "scim request", slog.String("method", method),
			slog.String("path", path), slog.String("error", err.Error()))
		if errors.Is(err, netguard.ErrRefused) {
			return nil, false, refused(err)
		}
		return nil, wrote.Load() || !dialError(err), transportError(method, path, err)
	}
	defer hresp.Body.Close()
	limit := limitOf(ctx)
	body, err := readBody(hresp, limit)
	if err != nil {
		return nil, true, transportError(method, path, err)
	}
	body = redact(body, c.tokenForms)
	if len(body) > limit {
		// Said as it is, not as the parse error of a cut body.
		return nil, true, &connector.Error{Kind: connector.KindInvalid, Status: hresp.StatusCode, Code: CodeServiceIncompatible,
			Message: fmt.Sprintf("The SCIM endpoint's response to %s %s is larger than %d MB, more than provisiond reads of one response.",
				method, path, limit>>20)}
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "scim request", slog.String("method", method),
		slog.String("path", path), slog.Int("status", hresp.StatusCode), slog.Duration("duration", time.Since(start)))
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		return nil, true, scrub(responseError(method, path, hresp, body), c.tokenForms)
	}
	return &response{status: hresp.StatusCode, contentType: hresp.Header.Get("Content-Type"), body: body}, true, nil
}

// readBody reads a response's body, up to limit+1 bytes; in one piece
// when the server said a length up to onePiece (io.ReadAll grows and
// copies). A larger length is read as it comes: a server saying 30 MB
// and sending nothing is not given 30 MB at once.
func readBody(hresp *http.Response, limit int) ([]byte, error) {
	const onePiece = 1 << 20
	if n := hresp.ContentLength; n > 0 && n <= int64(min(limit, onePiece)) { // 0 is also what a hand-made Response says
		body := make([]byte, n)
		_, err := io.ReadFull(hresp.Body, body)
		return body, err
	}
	return io.ReadAll(io.LimitReader(hresp.Body, int64(limit)+1))
}

// dialError reports whether err happened while connecting (DNS, refused
// connection), before anything was sent.
func dialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
