package connector

import "time"

// InteractiveDeadline bounds an interactive call (Graph's
// validateCredentials and provisionOnDemand) to its connectors, all
// attempts and retries together: callers set it on the context, and
// targets end their retries within the context's deadline, with a
// transient error that says what timed out and after how long.
const InteractiveDeadline = 30 * time.Second
