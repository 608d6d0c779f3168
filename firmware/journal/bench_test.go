package journal

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// seed inserts n sales spread over batches of batchSize, straight in SQL (the point is
// the read path, not the write path).
func seed(b *testing.B, n, batchSize int) *Journal {
	b.Helper()
	j, err := Open(filepath.Join(b.TempDir(), "journal.db"))
	if err != nil {
		b.Fatal(err)
	}
	_, err = j.db.Exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
		INSERT INTO records (type, status, amount, currency, stan, batch, invoice, rrn, masked_pan, card_hash,
			entry_mode, operator, created_at, updated_at)
		SELECT 'sale', CASE WHEN i % 10 = 0 THEN 'declined' ELSE 'approved' END, 100 + i % 5000, 'CNY',
			(i % 999999) + 1, i / ? + 1, i, printf('%012d', i), '622202*********0127', printf('%064x', i % 1000),
			'swipe', '01', printf('2026-11-%02dT10:00:00.000000Z', 1 + i % 28), '2026-11-21T10:00:00.000000Z'
		FROM s`, n, batchSize)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	return j
}

// BenchmarkByTrace: lookup by trace no. in a 1,000,000-row journal (target ≤ 1 ms).
func BenchmarkByTrace(b *testing.B) {
	j := seed(b, 1_000_000, 10_000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := j.ByTrace(ctx, int64(i%999_999)+1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkByRRN: lookup by RRN in a 1,000,000-row journal.
func BenchmarkByRRN(b *testing.B) {
	j := seed(b, 1_000_000, 10_000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := j.ByRRN(ctx, "000000"+string(rune('1'+i%9))+"00000"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTotals: settlement totals of a 10,000-transaction batch (target ≤ 20 ms).
func BenchmarkTotals(b *testing.B) {
	j := seed(b, 100_000, 10_000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, err := j.Totals(ctx, 5)
		if err != nil || t.Sales.Count != 9000 {
			b.Fatalf("Totals = %+v, %v", t, err)
		}
	}
}

// BenchmarkSaleCommits: the two durable commits a sale needs (Begin, Finish), which a
// cashier waits for. The projection that follows them (project.go) is the journal's
// background work while the slip prints: it is timed apart and reported as
// projection-ns/op.
func BenchmarkSaleCommits(b *testing.B) {
	j, err := Open(filepath.Join(b.TempDir(), "journal.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	var projection time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := newSale()
		if err := j.Begin(ctx, r); err != nil {
			b.Fatal(err)
		}
		if _, err := j.Finish(ctx, approved(r.ID)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		start := time.Now()
		if err := j.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		projection += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(projection.Nanoseconds())/float64(b.N), "projection-ns/op")
}
