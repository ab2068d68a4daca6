package store

import (
	"strings"
	"time"
)

// LogField names a field of ProvisioningLog that logs are queried by.
type LogField string

// The fields a LogCond compares. LogActivity compares LogCond.Time; the
// others are strings compared with LogCond.Value.
const (
	LogActivity           LogField = "activity"
	LogJobID              LogField = "jobId"
	LogCycleID            LogField = "cycleId"
	LogChangeID           LogField = "changeId"
	LogAction             LogField = "action"
	LogStatus             LogField = "status"
	LogServicePrincipalID LogField = "servicePrincipalId"
	LogSourceID           LogField = "sourceId"
	LogSourceName         LogField = "sourceName"
	LogTargetID           LogField = "targetId"
)

// LogOp is a LogCond's operator.
type LogOp string

// Comparisons (Field against Value or Time) and connectives (Args).
const (
	LogEq         LogOp = "eq"
	LogNe         LogOp = "ne"
	LogGt         LogOp = "gt"
	LogGe         LogOp = "ge"
	LogLt         LogOp = "lt"
	LogLe         LogOp = "le"
	LogStartsWith LogOp = "startswith" // strings only
	LogContains   LogOp = "contains"   // strings only
	LogAnd        LogOp = "and"        // every Args holds
	LogOr         LogOp = "or"         // some Args holds
)

// LogCond is a condition on provisioning logs: a comparison of one field,
// or and/or over Args. Strings compare with ASCII letters folded to lower
// case (so 'Create' eq 'create'), ordered byte-wise after folding; other
// bytes compare as they are. An empty string is a value like any other.
type LogCond struct {
	Op    LogOp
	Field LogField
	Value string    // string fields
	Time  time.Time // LogActivity
	Args  []LogCond // LogAnd, LogOr
}

// LogQuery selects, orders and pages provisioning logs.
type LogQuery struct {
	// Where filters the logs; nil selects every log.
	Where *LogCond
	// Asc orders by (Activity, ID) ascending; the default is descending.
	Asc bool
	// Limit caps the logs returned; 0 means no cap.
	Limit int
	// After is a log ID to continue after, in the query's order; an ID
	// naming no log yields no logs.
	After string
	// Count asks for the number of logs Where selects, regardless of
	// Limit and After.
	Count bool
}

// LogPage is a QueryProvisioningLogs answer.
type LogPage struct {
	Logs  []ProvisioningLog
	Count int // when LogQuery.Count
}

// FoldASCII lowers ASCII letters only, as LogCond comparisons do.
func FoldASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// StringField returns the string value of field f of l.
func (l ProvisioningLog) StringField(f LogField) string {
	switch f {
	case LogJobID:
		return l.JobID
	case LogCycleID:
		return l.CycleID
	case LogChangeID:
		return l.ChangeID
	case LogAction:
		return l.Action
	case LogStatus:
		return l.Status
	case LogServicePrincipalID:
		return l.ServicePrincipalID
	case LogSourceID:
		return l.SourceID
	case LogSourceName:
		return l.SourceName
	case LogTargetID:
		return l.TargetID
	}
	return ""
}

// Match reports whether l satisfies c: the reference semantics every
// backend's QueryProvisioningLogs must agree with.
func (c LogCond) Match(l ProvisioningLog) bool {
	switch c.Op {
	case LogAnd:
		for _, a := range c.Args {
			if !a.Match(l) {
				return false
			}
		}
		return true
	case LogOr:
		for _, a := range c.Args {
			if a.Match(l) {
				return true
			}
		}
		return false
	}
	var cmp int
	if c.Field == LogActivity {
		cmp = l.Activity.Truncate(time.Microsecond).Compare(c.Time.Truncate(time.Microsecond))
	} else {
		got, want := FoldASCII(l.StringField(c.Field)), FoldASCII(c.Value)
		switch c.Op {
		case LogStartsWith:
			return strings.HasPrefix(got, want)
		case LogContains:
			return strings.Contains(got, want)
		}
		cmp = strings.Compare(got, want)
	}
	switch c.Op {
	case LogEq:
		return cmp == 0
	case LogNe:
		return cmp != 0
	case LogGt:
		return cmp > 0
	case LogGe:
		return cmp >= 0
	case LogLt:
		return cmp < 0
	case LogLe:
		return cmp <= 0
	}
	return false
}
