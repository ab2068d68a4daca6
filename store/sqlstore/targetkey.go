package sqlstore

import (
	"context"
	"database/sql"
)

// targetKey is an anchor's target_key: a 64-bit FNV-1a hash of its job,
// target type and target id, which the anchors' target index holds instead
// of the three. Target ids come in random order (most targets make
// UUIDs), so every anchor a commit stores changes a page of that index
// until the commit holds as many anchors as the index has pages; an
// 8-byte key makes the index several times smaller than the strings
// would, and a cycle's commits write as many times fewer of its pages.
// Lookups compare the whole target too: a collision costs a row read,
// never a wrong anchor.
//
// 0 is left to the rows a migration has not keyed yet.
func targetKey(jobID, targetType, targetID string) int64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i, s := range [...]string{jobID, targetType, targetID} {
		if i > 0 {
			h *= prime // a 0 byte between the strings: ("ab", "c") is not ("a", "bc")
		}
		for j := 0; j < len(s); j++ {
			h = (h ^ uint64(s[j])) * prime
		}
	}
	if h == 0 {
		h = 1
	}
	return int64(h)
}

// keyTargets is migration 18's work in Go: it sets the target_key of every
// anchor stored before the column existed, a page at a time.
func keyTargets(ctx context.Context, w writeTx) error {
	type row struct{ job, sourceType, sourceID, targetType, targetID string }
	const page = 10000
	for {
		rows, err := w.query(ctx, `SELECT job_id, source_type, source_id, target_type, target_id
			FROM anchors WHERE target_key = 0 LIMIT ?`, page)
		rs, err := collect(rows, err, func(r *sql.Rows) (row, error) {
			var x row
			err := r.Scan(&x.job, &x.sourceType, &x.sourceID, &x.targetType, &x.targetID)
			return x, err
		})
		if err != nil {
			return err
		}
		for _, x := range rs {
			if _, err := w.exec(ctx, `UPDATE anchors SET target_key = ? WHERE job_id = ? AND source_type = ? AND source_id = ?`,
				targetKey(x.job, x.targetType, x.targetID), x.job, x.sourceType, x.sourceID); err != nil {
				return err
			}
		}
		if len(rs) < page {
			return nil
		}
	}
}
