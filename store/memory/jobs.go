package memory

import (
	"cmp"
	"context"
	"slices"
	"time"

	"provisiond/store"
)

// jobRec is a stored job: the record without Status, and Status as JSON.
type jobRec struct {
	j      store.Job
	status []byte
}

func newJobRec(j store.Job) (jobRec, error) {
	status, err := encode("status of job "+j.ID, j.Status)
	if err != nil {
		return jobRec{}, err
	}
	j.Status = store.Status{}
	j.Schema, j.Settings = cloneBytes(j.Schema), cloneBytes(j.Settings)
	j.Schedule.Expiration = normPtr(j.Schedule.Expiration)
	j.Created, j.Updated = norm(j.Created), norm(j.Updated)
	return jobRec{j: j, status: status}, nil
}

func (r jobRec) job() (store.Job, error) {
	j := r.j
	j.Schema, j.Settings = cloneBytes(j.Schema), cloneBytes(j.Settings)
	j.Schedule.Expiration = normPtr(j.Schedule.Expiration)
	var err error
	j.Status, err = decode[store.Status]("status of job "+j.ID, r.status)
	return j, err
}

// CreateJob implements store.Store.
func (s *Store) CreateJob(_ context.Context, j store.Job) error {
	rec, err := newJobRec(j)
	if err != nil {
		return fail(err, "create job", j.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.jobs[j.ID]; taken {
		return fail(store.ErrConflict, "create job", j.ID)
	}
	if _, ok := s.sps[j.ServicePrincipalID]; !ok {
		return fail(store.ErrNotFound, "create job", j.ID)
	}
	s.jobs[j.ID] = rec
	return nil
}

// GetJob implements store.Store.
func (s *Store) GetJob(_ context.Context, spID, jobID string) (store.Job, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.jobs[jobID]
	if !ok || rec.j.ServicePrincipalID != spID {
		return store.Job{}, fail(store.ErrNotFound, "get job", spID, jobID)
	}
	j, err := rec.job()
	if err != nil {
		return store.Job{}, fail(err, "get job", spID, jobID)
	}
	return j, nil
}

// ListJobs implements store.Store.
func (s *Store) ListJobs(_ context.Context, spID string) ([]store.Job, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var recs []jobRec
	for _, r := range s.jobs {
		if r.j.ServicePrincipalID == spID {
			recs = append(recs, r)
		}
	}
	recs = page(recs, func(r jobRec) string { return r.j.ID }, store.ListOptions{})
	out := make([]store.Job, 0, len(recs))
	for _, r := range recs {
		j, err := r.job()
		if err != nil {
			return nil, fail(err, "list jobs", spID)
		}
		out = append(out, j)
	}
	return out, nil
}

// UpdateJob implements store.Store. fn runs under the store's lock, on a
// copy that is stored only when fn succeeds.
func (s *Store) UpdateJob(_ context.Context, spID, jobID string, fn func(*store.Job) error) (store.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.jobs[jobID]
	if !ok || rec.j.ServicePrincipalID != spID {
		return store.Job{}, fail(store.ErrNotFound, "update job", spID, jobID)
	}
	j, err := rec.job()
	if err != nil {
		return store.Job{}, fail(err, "update job", spID, jobID)
	}
	if err := fn(&j); err != nil {
		return store.Job{}, err
	}
	j.ID, j.ServicePrincipalID = jobID, spID
	if rec, err = newJobRec(j); err != nil {
		return store.Job{}, fail(err, "update job", spID, jobID)
	}
	s.jobs[jobID] = rec
	if j, err = rec.job(); err != nil {
		return store.Job{}, fail(err, "update job", spID, jobID)
	}
	return j, nil
}

// DeleteJob implements store.Store.
func (s *Store) DeleteJob(_ context.Context, spID, jobID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.jobs[jobID]
	if !ok || rec.j.ServicePrincipalID != spID {
		return fail(store.ErrNotFound, "delete job", spID, jobID)
	}
	s.deleteJob(jobID)
	return nil
}

// deleteJob removes a job with its anchors, escrows and staged deletes;
// its logs outlive it.
func (s *Store) deleteJob(id string) {
	delete(s.jobs, id)
	delete(s.anchors, id)
	delete(s.anchorsVersion, id)
	delete(s.escrows, id)
	delete(s.staged, id)
}

// PutSecrets implements store.Store.
func (s *Store) PutSecrets(_ context.Context, spID string, sealed []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sps[spID]; !ok {
		return fail(store.ErrNotFound, "put secrets", spID)
	}
	s.secrets[spID] = cloneBytes(sealed)
	return nil
}

// GetSecrets implements store.Store.
func (s *Store) GetSecrets(_ context.Context, spID string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return cloneBytes(s.secrets[spID]), nil
}

// PutAnchor implements store.Store; store.ErrNotFound if the job is absent.
func (s *Store) PutAnchor(_ context.Context, a store.Anchor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[a.JobID]; !ok {
		return fail(store.ErrNotFound, "put anchor", a.JobID, a.SourceType, a.SourceID)
	}
	as := s.anchors[a.JobID]
	if as == nil {
		as = map[anchorKey]store.Anchor{}
		s.anchors[a.JobID] = as
	}
	a.Updated = norm(a.Updated)
	as[anchorKey{a.SourceType, a.SourceID}] = a
	s.anchorsVersion[a.JobID]++
	return nil
}

// GetAnchor implements store.Store.
func (s *Store) GetAnchor(_ context.Context, jobID, sourceType, sourceID string) (store.Anchor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.anchors[jobID][anchorKey{sourceType, sourceID}]
	if !ok {
		return store.Anchor{}, fail(store.ErrNotFound, "get anchor", jobID, sourceType, sourceID)
	}
	return a, nil
}

// GetAnchorByTarget implements store.Store. A scan: the memory store is
// for tests.
func (s *Store) GetAnchorByTarget(_ context.Context, jobID, targetType, targetID string) (store.Anchor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found []store.Anchor
	for _, a := range s.anchors[jobID] {
		if a.TargetType == targetType && a.TargetID == targetID {
			found = append(found, a)
		}
	}
	if len(found) == 0 {
		return store.Anchor{}, fail(store.ErrNotFound, "get anchor by target", jobID, targetType, targetID)
	}
	// Several source objects linked to one target object cannot happen
	// through the engine; answer deterministically anyway.
	slices.SortFunc(found, func(a, b store.Anchor) int {
		return cmp.Or(cmp.Compare(a.SourceType, b.SourceType), cmp.Compare(a.SourceID, b.SourceID))
	})
	return found[0], nil
}

// DeleteAnchor implements store.Store.
func (s *Store) DeleteAnchor(_ context.Context, jobID, sourceType, sourceID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := anchorKey{sourceType, sourceID}
	if _, ok := s.anchors[jobID][k]; !ok {
		return fail(store.ErrNotFound, "delete anchor", jobID, sourceType, sourceID)
	}
	delete(s.anchors[jobID], k)
	s.anchorsVersion[jobID]++
	return nil
}

// ListAnchors implements store.Store, ordered by source type and id.
func (s *Store) ListAnchors(_ context.Context, jobID string) ([]store.Anchor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]store.Anchor, 0, len(s.anchors[jobID]))
	for _, a := range s.anchors[jobID] {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b store.Anchor) int {
		return cmp.Or(cmp.Compare(a.SourceType, b.SourceType), cmp.Compare(a.SourceID, b.SourceID))
	})
	return out, nil
}

// ListAnchorsAfter implements store.Store.
func (s *Store) ListAnchorsAfter(_ context.Context, jobID, sourceType, after string, limit int) ([]store.Anchor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []store.Anchor
	for _, a := range s.anchors[jobID] {
		if a.SourceType == sourceType && a.SourceID > after {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b store.Anchor) int { return cmp.Compare(a.SourceID, b.SourceID) })
	return out[:min(len(out), max(limit, 0))], nil
}

// AddProvisioningLog implements store.Store; store.ErrNotFound if the job
// is absent, store.ErrConflict if the id is taken.
func (s *Store) AddProvisioningLog(_ context.Context, l store.ProvisioningLog) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.logs[l.ID]; taken {
		return fail(store.ErrConflict, "add provisioning log", l.ID)
	}
	l.Activity, l.Data = norm(l.Activity), cloneBytes(l.Data)
	s.logs[l.ID] = l
	return nil
}

// newestFirst orders logs by (activity, id) descending.
func newestFirst(a, b store.ProvisioningLog) int {
	return cmp.Or(b.Activity.Compare(a.Activity), cmp.Compare(b.ID, a.ID))
}

// ListProvisioningLogs implements store.Store, newest first; opt.After
// continues below the (activity, id) of that log, and an After naming no
// log yields nothing.
func (s *Store) ListProvisioningLogs(_ context.Context, jobID string, opt store.ListOptions) ([]store.ProvisioningLog, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var after *store.ProvisioningLog
	if opt.After != "" {
		l, ok := s.logs[opt.After]
		if !ok {
			return nil, nil
		}
		after = &l
	}
	var out []store.ProvisioningLog
	for _, l := range s.logs {
		if (jobID == "" || l.JobID == jobID) && (after == nil || newestFirst(*after, l) < 0) {
			l.Data = cloneBytes(l.Data)
			out = append(out, l)
		}
	}
	slices.SortFunc(out, newestFirst)
	if opt.Limit > 0 && len(out) > opt.Limit {
		out = out[:opt.Limit]
	}
	return out, nil
}

// QueryProvisioningLogs implements store.Store by LogCond.Match over every
// log.
func (s *Store) QueryProvisioningLogs(_ context.Context, q store.LogQuery) (store.LogPage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	order := newestFirst
	if q.Asc {
		order = func(a, b store.ProvisioningLog) int { return newestFirst(b, a) }
	}
	var after *store.ProvisioningLog
	if q.After != "" {
		l, ok := s.logs[q.After]
		if !ok {
			return store.LogPage{}, nil
		}
		after = &l
	}
	var p store.LogPage
	for _, l := range s.logs {
		if q.Where != nil && !q.Where.Match(l) {
			continue
		}
		p.Count++
		if after == nil || order(*after, l) < 0 {
			l.Data = cloneBytes(l.Data)
			p.Logs = append(p.Logs, l)
		}
	}
	if !q.Count {
		p.Count = 0
	}
	slices.SortFunc(p.Logs, order)
	if q.Limit > 0 && len(p.Logs) > q.Limit {
		p.Logs = p.Logs[:q.Limit]
	}
	return p, nil
}

// PruneProvisioningLogs implements store.Store.
func (s *Store) PruneProvisioningLogs(_ context.Context, before time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, l := range s.logs {
		if l.Activity.Before(norm(before)) {
			delete(s.logs, id)
			n++
		}
	}
	return n, nil
}

// CommitBatch implements store.Store: checked whole, then applied.
func (s *Store) CommitBatch(_ context.Context, b store.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range b.Anchors {
		if _, ok := s.jobs[a.JobID]; !ok {
			return fail(store.ErrNotFound, "commit batch: put anchor", a.JobID, a.SourceType, a.SourceID)
		}
	}
	ids := map[string]bool{}
	for _, l := range b.Logs {
		if _, taken := s.logs[l.ID]; taken || ids[l.ID] {
			return fail(store.ErrConflict, "commit batch: add provisioning log", l.ID)
		}
		ids[l.ID] = true
	}
	for _, a := range b.Anchors {
		as := s.anchors[a.JobID]
		if as == nil {
			as = map[anchorKey]store.Anchor{}
			s.anchors[a.JobID] = as
		}
		a.Updated = norm(a.Updated)
		as[anchorKey{a.SourceType, a.SourceID}] = a
	}
	for _, k := range b.Deleted {
		delete(s.anchors[k.JobID], anchorKey{k.SourceType, k.SourceID})
	}
	for _, job := range b.AnchorJobs() {
		if _, ok := s.jobs[job]; ok {
			s.anchorsVersion[job]++
		}
	}
	for _, l := range b.Logs {
		l.Activity, l.Data = norm(l.Activity), cloneBytes(l.Data)
		s.logs[l.ID] = l
	}
	return nil
}

// GetAnchors implements store.Store.
func (s *Store) GetAnchors(_ context.Context, jobID, sourceType string, sourceIDs []string) ([]store.Anchor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []store.Anchor
	for _, id := range slices.Compact(slices.Sorted(slices.Values(sourceIDs))) {
		if a, ok := s.anchors[jobID][anchorKey{sourceType, id}]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// GetAnchorsByTarget implements store.Store.
func (s *Store) GetAnchorsByTarget(_ context.Context, jobID, targetType string, targetIDs []string) ([]store.Anchor, error) {
	asked := make(map[string]bool, len(targetIDs))
	for _, id := range targetIDs {
		asked[id] = true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []store.Anchor
	for _, a := range s.anchors[jobID] {
		if a.TargetType == targetType && asked[a.TargetID] {
			out = append(out, a)
		}
	}
	return out, nil
}

// AnchorsVersion implements store.Store.
func (s *Store) AnchorsVersion(_ context.Context, jobID string) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.jobs[jobID]; !ok {
		return 0, fail(store.ErrNotFound, "anchors version", jobID)
	}
	return s.anchorsVersion[jobID], nil
}

// CountAnchors implements store.Store.
func (s *Store) CountAnchors(_ context.Context, jobID string) ([]store.AnchorCount, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := map[[2]string]int64{}
	for _, a := range s.anchors[jobID] {
		n[[2]string{a.SourceType, a.TargetType}]++
	}
	var out []store.AnchorCount
	for k, v := range n {
		out = append(out, store.AnchorCount{SourceType: k[0], TargetType: k[1], N: v})
	}
	slices.SortFunc(out, func(a, b store.AnchorCount) int {
		return cmp.Or(cmp.Compare(a.SourceType, b.SourceType), cmp.Compare(a.TargetType, b.TargetType))
	})
	return out, nil
}
