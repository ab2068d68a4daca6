// Package isoduration reads and writes ISO 8601 durations the way Graph
// (and .NET's XmlConvert behind it) writes Edm.Duration values:
// "PT40M", "P1DT2H", "PT0.5S", "-PT5M".
//
// Only fixed-length parts are accepted: days, hours, minutes and seconds,
// with a fraction on the seconds only. Years and months have no fixed
// length and are refused. A duration longer than a time.Duration can hold
// (about 292 years) is Never, which is how Graph's disabled schedules
// write "never": .NET's TimeSpan.MaxValue, "P10675199DT2H48M5.4775807S".
package isoduration
