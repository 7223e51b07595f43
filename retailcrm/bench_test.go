package retailcrm

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDecodeHistoryPage measures decoding one full page of 100 history
// records (the fixture), the client's main per-request overhead.
func BenchmarkDecodeHistoryPage(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "testdata", "retailcrm", "orders_history.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r historyResponse[HistoryRecord]
		if err := decodeResponse("GET /api/v5/orders/history", 200, "application/json", body, &r); err != nil {
			b.Fatal(err)
		}
		if len(r.History) != 100 {
			b.Fatal("short page")
		}
	}
}
