package delivery

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/watermark"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// replicaObserver is what one replica's pipeline does with a Sender's
// reports here: its batcher follows the call limit, and the records
// acknowledged and the throttle pauses are counted.
type replicaObserver struct {
	NopObserver
	batches   *batcher.Batcher[Source]
	acked     atomic.Int64
	throttled atomic.Int32
	limit     atomic.Int32
}

func (o *replicaObserver) ConcurrencyLimit(limit int) {
	o.limit.Store(int32(limit))
	o.batches.SetMaxInFlight(limit + 1)
}

func (o *replicaObserver) Acknowledged(items int, _ string) { o.acked.Add(int64(items)) }

func (o *replicaObserver) Paused(reason PauseReason, on bool, _ error) {
	if reason == PauseZohoThrottled && on {
		o.throttled.Add(1)
	}
}

// simClient is a zohoapi client of its own (token source included) for sim;
// tune changes the token source's options.
func simClient(t *testing.T, sim *zohosim.Server, tune ...func(*zohoapi.TokenSourceOptions)) *zohoapi.Client {
	t.Helper()
	eps, err := zohoapi.ResolveEndpoints("", sim.URL(), sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 30 * time.Second}
	to := zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: sim.RefreshToken()},
		HTTPClient:  hc,
	}
	for _, f := range tune {
		f(&to)
	}
	ts := zohoapi.NewTokenSource(to)
	return zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, HTTPClient: hc, Timeout: 30 * time.Second})
}

// TestReplicasSettleUnderTheOrgLimit: 3 replicas (each its own Zoho client,
// Sender with max_in_flight 10 and batcher) share an org that allows 10
// calls at once. Each finds its share: every record is acknowledged, no
// replica pauses for ThrottleBackoff, the calls answered 429 are few, and
// in the second half of the run (settled) fewer still. With a fixed
// concurrency of 10 per replica, two thirds of the calls would be refused
// and each 429 would pause a replica for ThrottleBackoff.
func TestReplicasSettleUnderTheOrgLimit(t *testing.T) {
	const (
		replicas = 3
		records  = 20_000 // per replica: 200 calls of 100
	)
	sim := zohosim.New(zohosim.Options{Latency: 20 * time.Millisecond, MaxConcurrency: 10})
	t.Cleanup(sim.Close)
	obs := make([]*replicaObserver, replicas)
	var wg sync.WaitGroup
	for i := range obs {
		o := &replicaObserver{}
		obs[i] = o
		opts := testOptions(simClient(t, sim), &recordingWriter{})
		opts.MaxInFlight = 10
		opts.ThrottleBackoff = time.Hour // a long throttle would end the test at its deadline
		opts.Observer = o
		s, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		o.batches = batcher.New(batcher.Config{MaxRecords: 100, Linger: time.Millisecond, MaxInFlight: 11, MaxBuffered: 1200}, s.Send)
		o.batches.SetMaxInFlight(s.CallLimit() + 1)
		t.Cleanup(func() {
			s.Abandon()
			o.batches.Close()
		})
		po := watermark.NewPartition("events", int32(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range records {
				r := rec("events", int32(i), int64(n))
				po.Track(r)
				email := fmt.Sprintf("r%d-%d@example.com", i, n)
				it := batcher.Item[Source]{Key: email, Record: zohoapi.Record{{Name: "Email", Value: strconv.AppendQuote(nil, email)}, {Name: "Last_Name", Value: []byte(`"L"`)}, {Name: "Company", Value: []byte(`"C"`)}}, Source: Source{Part: po, Rec: r}}
				if err := o.batches.Add(context.Background(), it); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		done := 0
		for _, o := range obs {
			done += int(o.acked.Load())
		}
		if done == replicas*records {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records acknowledged within the deadline; stats %+v", done, replicas*records, sim.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()

	for i, o := range obs {
		if n := o.throttled.Load(); n != 0 {
			t.Errorf("replica %d paused %d times for ThrottleBackoff", i, n)
		}
	}
	st := sim.Stats()
	calls := sim.Calls()
	half := calls[0].Start.Add(calls[len(calls)-1].End.Sub(calls[0].Start) / 2)
	var late, late429 int
	for _, c := range calls {
		if c.Start.After(half) {
			late++
			if c.Status == http.StatusTooManyRequests {
				late429++
			}
		}
	}
	share := float64(st.ConcurrencyRejections) / float64(st.UpsertCalls)
	t.Logf("%d calls, %d answered 429 (%.1f%%); second half %d of %d; limits now %d %d %d",
		st.UpsertCalls, st.ConcurrencyRejections, 100*share, late429, late, obs[0].limit.Load(), obs[1].limit.Load(), obs[2].limit.Load())
	if share > 0.1 {
		t.Errorf("%.1f%% of the calls answered 429, want under 10%%", 100*share)
	}
	if late429*20 > late {
		t.Errorf("second half: %d of %d calls answered 429, want under 5%% (settled)", late429, late)
	}
	if st.PeakConcurrency > 10+replicas*2 {
		t.Errorf("peak %d calls at once at Zoho: the replicas did not keep near the org's 10", st.PeakConcurrency)
	}
}
