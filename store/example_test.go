package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/crmsync/crmsync/store"
)

// A run: take the lock, open the store, record the run, and commit one
// history page's effects together with the cursor that passes it.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crmsync-example")
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "crmsync.db")

	lock, err := store.Lock(ctx, dbPath, "pull")
	if err != nil {
		fmt.Println(err) // errors.Is(err, store.ErrLocked): exit code 5
		return
	}
	defer lock.Release()

	s, err := store.Open(ctx, dbPath, store.Options{Redact: strings.NewReplacer("my-api-key", "***").Replace})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	runID, _ := s.StartRun(ctx, "pull", os.Getpid())
	err = s.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.PutOrderLink(ctx, store.OrderLink{OrderID: 1042, Site: "shop", Number: "1042A", EntityID: 77, ContactID: 5, ContentHash: "abc"}); err != nil {
			return err
		}
		if _, err := tx.AddEvent(ctx, store.Event{RunID: runID, Source: store.SourceRetailCRM, SourceID: "9001", OrderID: 1042, Action: "deal.add", Result: store.ResultOK}); err != nil {
			return err
		}
		return tx.SetCursorInt(ctx, store.CursorOrdersHistory, 9001)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = s.FinishRun(ctx, runID, store.RunOK, map[string]int64{"orders": 1}, "")

	cursor, _, _ := s.CursorInt(ctx, store.CursorOrdersHistory)
	link, _, _ := s.OrderLink(ctx, 1042)
	fmt.Println("cursor", cursor, "deal", link.EntityID)

	_, err = store.Lock(ctx, dbPath, "push")
	fmt.Println("second lock refused:", errors.Is(err, store.ErrLocked))
	// Output:
	// cursor 9001 deal 77
	// second lock refused: true
}
