package sqlstore

import "testing"

// BenchmarkCountAnchors counts one job's 300,000 anchors (another job holds
// as many) as a cycle does for synchronizedEntryCountByType: CountAnchors,
// and as the baseline the query grouping by source and target type, which
// sorts them all.
//
//	go test ./store/sqlstore -run '^$' -bench CountAnchors -benchtime 5x
func BenchmarkCountAnchors(b *testing.B) {
	ctx := b.Context()
	const n = 300000
	s := storeWithJobs(b, "j", "k")
	storeUserAnchors(b, s, "j", n)
	storeUserAnchors(b, s, "k", n)
	b.Run("CountAnchors", func(b *testing.B) {
		for b.Loop() {
			if c, err := s.CountAnchors(ctx, "j"); err != nil || len(c) != 1 || c[0].N != n {
				b.Fatal(c, err)
			}
		}
	})
	b.Run("grouped by both", func(b *testing.B) {
		for b.Loop() {
			var st, tt string
			var got int64
			err := s.queryRow(ctx, []any{&st, &tt, &got}, `SELECT source_type, target_type, COUNT(*) FROM anchors WHERE job_id = ?
				GROUP BY source_type, target_type ORDER BY source_type, target_type`, "j")
			if err != nil || got != n {
				b.Fatal(got, err)
			}
		}
	})
}
