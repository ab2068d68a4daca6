package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"provisiond/throttle"
)

// AllowRate is a throttle.Counter on the database: it decides a request
// for key with throttle.Window over the accepts stored for key, read and
// written in one transaction with the row locked, so that concurrent
// requests on any node sharing the database are decided one at a time
// against one window. The clock is the database's (PostgreSQL's
// clock_timestamp), so nodes whose clocks differ still agree.
func (s *Store) AllowRate(ctx context.Context, key string, n int, per time.Duration) (ok bool, retryAfter time.Duration, err error) {
	err = s.inTx(ctx, func(w writeTx) error {
		if _, err := w.exec(ctx, `INSERT INTO rate_windows (key, accepts) VALUES (?, '') ON CONFLICT (key) DO NOTHING`, key); err != nil {
			return err
		}
		var (
			stored string
			nowUS  int64
		)
		q := w.s.d.rebind(`SELECT accepts, ` + s.d.nowMicros + ` FROM rate_windows WHERE key = ?` + s.d.lockRow)
		if err := w.tx.QueryRowContext(ctx, q, key).Scan(&stored, &nowUS); err != nil {
			return err
		}
		var accepts []time.Time
		for _, f := range strings.Split(stored, ",") {
			if us, err := strconv.ParseInt(f, 10, 64); err == nil {
				accepts = append(accepts, fromMicros(us))
			}
		}
		var keep []time.Time
		ok, retryAfter, keep = throttle.Window(accepts, n, per, fromMicros(nowUS))
		if !ok {
			return nil
		}
		fs := make([]string, len(keep))
		for i, t := range keep {
			fs[i] = strconv.FormatInt(micros(t), 10)
		}
		_, err := w.exec(ctx, `UPDATE rate_windows SET accepts = ? WHERE key = ?`, strings.Join(fs, ","), key)
		return err
	})
	if err != nil {
		return false, 0, s.fail(err, "rate limit", key)
	}
	return ok, retryAfter, nil
}
