// Package batcher assembles items (one Zoho record each, from one source event)
// into batches for the Zoho Upsert Records API: at most MaxRecords records per
// batch, items with the same key merged into one record, per-key order kept with
// several batches in flight, and memory bounded. It knows nothing of Kafka,
// offsets or Zoho: an Item's Source is opaque and SendFunc does the delivery.
//
// The flow:
//
//	Add(item) ── blocks at MaxBuffered items (or bytes) ───┐
//	                                                       ▼
//	   key in a queued or in-flight batch? ── yes ──▶ parked[key] (arrival order)
//	                 │ no                                  │ when the batch holding
//	                 ▼                                     │ the key returns
//	   open batch: one Entry per key, ≤ MaxRecords ◀───────┘
//	   (same key: appended to its Entry)
//	                 │ sealed when full; due after Linger, on Drain,
//	                 │ or when Add is blocked and a send slot is free
//	                 ▼
//	   queue (FIFO) ──▶ SendFunc, own goroutine each, ≤ MaxInFlight at once
//	                    (or the lower limit set by SetMaxInFlight)
//	                                 │ returns
//	                                 ▼
//	   items released (room for Add), keys freed, their parked items move on
//
// Guarantees:
//
//   - Size: a batch has 1..MaxRecords entries with distinct keys. Under a backlog
//     of distinct keys every batch is full (see Config.Linger for when a
//     partial batch is sent).
//   - Merge: all items of a key that meet in one batch form one Entry, in arrival
//     order; Entry.Merged gives the record to send (later fields win), and
//     Entry.Items every source to settle.
//   - Order: a key is in at most one queued or in-flight batch at a time; later
//     items of the key wait (parked) until that batch's SendFunc returns. So, per
//     key, SendFunc calls start and finish in the items' arrival order, and each
//     item is handed to SendFunc exactly once (unless Close abandons it).
//   - Concurrency: at most MaxInFlight SendFunc calls run at once, or fewer
//     as SetMaxInFlight says (an adaptive limit of the calls behind
//     SendFunc); sealed batches wait in order for a slot, and the open batch
//     keeps filling meanwhile.
//   - Seal order: each batch carries its place in the order batches were
//     sealed (Batch.Seq, from 1) and is handed to SendFunc in that order; the
//     calls run in their own goroutines, so they may reach what they share in
//     any order unless they go by Seq.
//   - Memory: at most MaxBuffered items are held (open + parked + queued + in
//     flight), holding at most MaxBufferedBytes (their Item.Size; one item
//     larger than that alone); Add blocks beyond that, which is the
//     pipeline's backpressure signal to stop fetching. An item is released
//     when its batch's SendFunc returns.
//   - Lifecycle: Drain delivers everything held; Close cancels running sends,
//     waits for them and stops the Linger goroutine, so no goroutine of the
//     Batcher outlives Close.
//
// Cost: Add takes one mutex and a map lookup or two; batches are allocated whole
// (a few allocations per batch, not per item). See BenchmarkAdd.
package batcher
