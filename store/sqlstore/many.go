package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
)

// manyChunk is how many ids one IN (...) query takes at most.
const manyChunk = 512

// inSizes are the lengths IN lists are padded to (with the last id
// again), so that a handful of prepared statements serve every length.
var inSizes = []int{1, 8, 64, manyChunk}

// queryMany runs query, whose "(?*)" is replaced by an IN list, over ids
// in chunks, with args before the list, and scans every row with scan.
// Each id is asked for once, however often ids names it.
func queryMany[ID cmp.Ordered](ctx context.Context, s *Store, query string, args []any, ids []ID, scan func(*sql.Rows) error) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), manyChunk)]
		ids = ids[len(chunk):]
		n := inSizes[len(inSizes)-1]
		for _, size := range inSizes {
			if size >= len(chunk) {
				n = size
				break
			}
		}
		all := append(make([]any, 0, len(args)+n), args...)
		for i := range n {
			all = append(all, chunk[min(i, len(chunk)-1)])
		}
		q := strings.Replace(query, "(?*)", "("+strings.TrimSuffix(strings.Repeat("?, ", n), ", ")+")", 1)
		rows, err := s.query(ctx, q, all...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}
