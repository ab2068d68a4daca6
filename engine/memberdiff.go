package engine

import (
	"context"
	"fmt"
	"math/bits"
	"slices"

	"provisiond/connector"
	"provisiond/schema"
)

// maxMemberChanges is how many member changes one event lists.
const maxMemberChanges = 1000

// linkChunk is how many members are looked at, and at most added or
// removed, at once: a chunk's anchors are read with one GetAnchors (or
// GetAnchorsByTarget) and its changes sent with one AddMembers (or
// RemoveMembers), so that a group of a million members never holds all
// their anchors, nor a million-member request.
var linkChunk = 5000

// memberDiff reconciles a group's members in the target with its members
// in the source, chunk by chunk. Beyond the two member lists, a group of n
// members costs it one bit per target member and a chunk's anchors, not
// maps of every member: the target's members are a sorted slice, each
// source member's link is looked up in it, and a bit marks the target
// members that are wanted; those left unmarked that the job provisioned
// are removed.
type memberDiff struct {
	r       *run
	uom     *schema.CompiledObject // the members' (users') object mapping
	mw      connector.MemberWriter
	groupID string
	// current is the target group's members, sorted, without repeats;
	// wanted has bit i set when current[i] is a source member's link.
	current []string
	wanted  []uint64
	// write is false in a dry run, and after a write failed other than
	// by refusing some members (then nothing more is written).
	write bool
	// err is the first write that failed.
	err            error
	added, removed int
	// changes lists the first maxMemberChanges changes, for the event.
	changes []ModifiedProperty
}

// newMemberDiff starts a reconciliation against the target group's
// members current (not changed).
func (r *run) newMemberDiff(uom *schema.CompiledObject, mw connector.MemberWriter, groupID string, current []string) *memberDiff {
	if !sortedUnique(current) {
		current = slices.Compact(slices.Sorted(slices.Values(current)))
	}
	return &memberDiff{r: r, uom: uom, mw: mw, groupID: groupID, current: current,
		wanted: make([]uint64, (len(current)+63)/64), write: !r.dry}
}

func sortedUnique(ids []string) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			return false
		}
	}
	return true
}

// add adds to the target group the links of the source members that it
// lacks, marking the ones it has as wanted. An error is the store's.
//
// The chunks are sent in order by a goroutine of their own while the next
// chunk's anchors are read: the store's read and the target's write of a
// big group overlap instead of taking turns. The sender alone touches the
// counts, the changes and the write state; the reader alone the wanted
// bits.
func (d *memberDiff) add(ctx context.Context, members []string) error {
	st := d.r.u.state()
	sends, sent := make(chan []string, 1), make(chan struct{})
	go func() {
		defer close(sent)
		for ids := range sends {
			d.send(ctx, true, ids)
		}
	}()
	defer func() { close(sends); <-sent }()
	var pending []string
	for chunk := range slices.Chunk(members, linkChunk) {
		anchors, err := st.GetAnchors(ctx, d.r.job.ID, d.uom.Mapping.SourceObjectName, chunk)
		if err != nil {
			return fmt.Errorf("read member anchors: %w", err)
		}
		for _, a := range anchors {
			if i, found := slices.BinarySearch(d.current, a.TargetID); found {
				d.wanted[i/64] |= 1 << (i % 64)
			} else {
				pending = append(pending, a.TargetID)
			}
		}
		if len(pending) >= linkChunk {
			sends <- pending
			pending = nil
		}
	}
	sends <- pending
	return nil
}

// remove removes from the target group the members not marked wanted
// that the job provisioned (it has their anchors): members others added
// stay. After a failed add nothing is removed, but the removals are
// counted. An error is the store's.
func (d *memberDiff) remove(ctx context.Context) error {
	if d.err != nil {
		d.write = false
	}
	unwanted := len(d.current)
	for _, w := range d.wanted {
		unwanted -= bits.OnesCount64(w)
	}
	st := d.r.u.state()
	var chunk []string
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		anchors, err := st.GetAnchorsByTarget(ctx, d.r.job.ID, d.uom.Mapping.TargetObjectName, chunk)
		if err != nil {
			return fmt.Errorf("read member anchors: %w", err)
		}
		ours := make([]string, 0, len(anchors))
		for _, a := range anchors {
			ours = append(ours, a.TargetID)
		}
		d.send(ctx, false, ours)
		chunk = chunk[:0]
		return nil
	}
	for i := 0; i < len(d.current) && unwanted > 0; i++ {
		if d.wanted[i/64]&(1<<(i%64)) != 0 {
			continue
		}
		unwanted--
		chunk = append(chunk, d.current[i])
		if len(chunk) == linkChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// send adds (or removes) the members ids, counting them and listing the
// first for the event, unless the diff no longer writes.
func (d *memberDiff) send(ctx context.Context, add bool, ids []string) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return
	}
	for _, id := range ids[:min(len(ids), maxMemberChanges-len(d.changes))] {
		p := ModifiedProperty{DisplayName: "members"}
		if add {
			p.NewValue = &id
		} else {
			p.OldValue = &id
		}
		d.changes = append(d.changes, p)
	}
	if add {
		d.added += len(ids)
	} else {
		d.removed += len(ids)
	}
	if !d.write {
		return
	}
	var err error
	if add {
		err = d.mw.AddMembers(ctx, d.groupID, ids)
	} else {
		err = d.mw.RemoveMembers(ctx, d.groupID, ids)
	}
	if err == nil {
		return
	}
	if d.err == nil {
		d.err = err
	}
	// A target that refused some members took the others: the next chunk
	// may go too. Any other failure stops the writes.
	d.write = connector.KindOf(err) == connector.KindInvalid
}
