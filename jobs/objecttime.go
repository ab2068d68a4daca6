package jobs

import "time"

// membersPerObjectTime is how many members of a group earn it one more
// cycleObjectTimeout: its reconciliation sends a request per 5,000
// members (adds, then removals), so a million-member group is hundreds of
// requests, not one object's work.
const membersPerObjectTime = 5000

// objectTimeout bounds the work on it in a cycle: cycleObjectTimeout, and
// as much again per membersPerObjectTime members of a group the cycle
// listed. A group the engine reads itself (an incremental change, a
// retry) gets one cycleObjectTimeout; what its reconciliation sent before
// running out of time stays in the target, so the retry sends the rest.
func objectTimeout(it item) time.Duration {
	if it.obj == nil {
		return cycleObjectTimeout
	}
	return cycleObjectTimeout * time.Duration(1+len(it.obj.Attrs["members"])/membersPerObjectTime)
}
