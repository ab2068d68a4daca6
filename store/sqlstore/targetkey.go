package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
)

// targetKey is an anchor's target_key, which the anchors' target index
// holds instead of its job, target type and target id: its high 20 bits
// are a hash of the job and target type, its low 44 a hash of all three
// (64-bit FNV-1a). Target ids come in random order (most targets make
// UUIDs), so every anchor a commit stores changes a page of that index
// until the commit holds as many anchors as the index has pages; an
// 8-byte key makes the index several times smaller than the strings
// would, and a cycle's commits write as many times fewer of its pages.
// The high bits keep each job's keys to a range of their own, so a
// cycle's commits change the pages of its own job's keys alone, not of
// every job's (before migration 22 a second job's cycle beside a first of
// 100,000 anchors paid 60 % more per anchor). Lookups compare the whole
// target too: a collision costs a row read, never a wrong anchor.
//
// 0 is left to the rows a migration has not keyed yet.
func targetKey(jobID, targetType, targetID string) int64 {
	const low = 1<<44 - 1
	job := fnv1a(jobID, targetType)
	key := job&^low | fnv1a(jobID, targetType, targetID)&low
	if key == 0 {
		key = 1
	}
	return int64(key)
}

// fnv1a is the 64-bit FNV-1a hash of the strings, each after the first
// preceded by a 0 byte: ("ab", "c") is not ("a", "bc").
func fnv1a(strs ...string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i, s := range strs {
		if i > 0 {
			h *= prime
		}
		for j := 0; j < len(s); j++ {
			h = (h ^ uint64(s[j])) * prime
		}
	}
	return h
}

// keyTargets is migrations 18's and 22's work in Go: it sets the
// target_key of every anchor whose key is 0 (stored before the column
// existed, or unkeyed by migration 22 to be keyed anew), a page at a time,
// found through the index of target keys, with one UPDATE per 500 anchors
// (one per anchor took 25 µs each on SQLite, and a round trip each on
// PostgreSQL).
func keyTargets(ctx context.Context, w writeTx) error {
	type row struct{ job, sourceType, sourceID, targetType, targetID string }
	const page, perUpdate = 10000, 500
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
		for chunk := range slices.Chunk(rs, perUpdate) {
			// VALUES names its columns column1, column2 ... on SQLite and
			// PostgreSQL alike; the key is cast, or PostgreSQL would take
			// its parameter for text.
			args := make([]any, 0, 4*len(chunk))
			for _, x := range chunk {
				args = append(args, x.job, x.sourceType, x.sourceID, targetKey(x.job, x.targetType, x.targetID))
			}
			q := `UPDATE anchors SET target_key = v.column4 FROM (VALUES ` +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, CAST(? AS BIGINT)), ", len(chunk)), ", ") + `) AS v
				WHERE anchors.job_id = v.column1 AND anchors.source_type = v.column2 AND anchors.source_id = v.column3`
			if _, err := w.exec(ctx, q, args...); err != nil {
				return err
			}
		}
		if len(rs) < page {
			return nil
		}
	}
}
