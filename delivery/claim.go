package delivery

import (
	"context"
	"slices"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/watermark"
)

// claim is one attempt's hold on the partitions of its records (see
// watermark.Partition.Claim): a revocation waits until the attempts holding
// its partitions end.
type claim []*watermark.Partition

// add claims po once; it reports whether po is claimed (false: released).
// Claims are few (the partitions of one batch), so a linear search is cheapest.
func (c *claim) add(po *watermark.Partition, refused *[]*watermark.Partition) bool {
	if slices.Contains(*c, po) {
		return true
	}
	if slices.Contains(*refused, po) || !po.Claim() {
		*refused = appendNew(*refused, po)
		return false
	}
	*c = append(*c, po)
	return true
}

// appendNew appends po to s unless s holds it already.
func appendNew(s []*watermark.Partition, po *watermark.Partition) []*watermark.Partition {
	if slices.Contains(s, po) {
		return s
	}
	return append(s, po)
}

// release ends the claim.
func (c claim) release() {
	for _, po := range c {
		po.Unclaim()
	}
}

// released returns the channels closed when each claimed partition is released.
func (c claim) released() []<-chan struct{} {
	out := make([]<-chan struct{}, len(c))
	for i, po := range c {
		out[i] = po.Released()
	}
	return out
}

// anyReleased reports whether a claimed partition has been released
// (revoked or lost) since it was claimed.
func (c claim) anyReleased() bool {
	for _, po := range c {
		select {
		case <-po.Released():
			return true
		default:
		}
	}
	return false
}

// gone returns the channels closed when each claimed partition is forgotten.
func (c claim) gone() []<-chan struct{} {
	out := make([]<-chan struct{}, len(c))
	for i, po := range c {
		out[i] = po.Gone()
	}
	return out
}

// claim claims the partitions of d's records for one attempt and returns what
// may be sent: records of partitions being revoked, revoked or lost belong to
// their new owner, which may already have sent newer events for the same
// emails, so they are never sent (again) from here. An entry merged from
// several partitions keeps the items of the partitions still owned, and its
// record is merged again from them.
func (s *Sender) claim(d batch) (batch, claim) {
	var c claim
	var refused []*watermark.Partition
	var out batch
	for i, e := range d.entries {
		var live []batcher.Item[Source]
		dropped := false
		for j, it := range e.Items {
			switch {
			case c.add(it.Source.Part, &refused):
				if dropped {
					live = append(live, it)
				}
			case !dropped:
				dropped, live = true, slices.Clone(e.Items[:j])
			}
		}
		switch {
		case !dropped: // the common case: every item owned
			out.add(d, i)
		case len(live) > 0:
			e.Items = live
			out.entries = append(out.entries, e)
			out.records = append(out.records, e.Merged())
		}
	}
	return out, c
}

// untilClosed returns a context that ends with parent or once every channel
// of chans is closed (at once when chans is empty); call cancel when done.
func untilClosed(parent context.Context, chans []<-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		for _, ch := range chans {
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
		}
		cancel()
	}()
	return ctx, cancel
}
