package expr

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
)

var multi = []string{"b@x.com", "", "a@x.com", "b@x.com"}

func TestFunctionEdgeCases(t *testing.T) {
	null := Null()
	runEvalCases(t, []evalCase{
		// Append
		{"Append null source", `Append([x], "s")`, nil, nil, null},
		{"Append null suffix", `Append("a", [x])`, nil, nil, Str("a")},
		{"Append empty", `Append("", "")`, nil, nil, Str("")},
		{"Append multi uses first", `Append([m], "!")`, attrs{"m": multi}, nil, Str("b@x.com!")},
		// AppRole*
		{"SingleAppRoleAssignment names", `SingleAppRoleAssignment([appRoleAssignments])`, attrs{"appRoleAssignments": []string{"Admin", "User"}}, nil, Str("Admin")},
		{"SingleAppRoleAssignment json", `SingleAppRoleAssignment([r])`, attrs{"r": `{"id":"1","value":"25","displayName":"Role1234"}`}, nil, Str("25")},
		{"SingleAppRoleAssignment null", `SingleAppRoleAssignment([r])`, nil, nil, null},
		{"AppRoleAssignments", `AppRoleAssignments([r])`, attrs{"r": []string{"A", `{"displayName":"B"}`}}, nil, Multi([]string{"A", "B"})},
		{"AppRoleAssignmentsComplex", `AppRoleAssignmentsComplex([r])`, attrs{"r": []string{`{"id":"1","value":"25","displayName":"Role1234"}`, "User"}}, nil,
			Multi([]string{`{"id":"1","value":"25","displayName":"Role1234","primary":false}`, `{"value":"User","displayName":"User","primary":false}`})},
		{"AssertiveAppRoleAssignmentsComplex", `AssertiveAppRoleAssignmentsComplex([r])`, attrs{"r": "Admin"}, nil, Multi([]string{`{"value":"Admin","displayName":"Admin","primary":false}`})},
		{"AppRoleAssignmentsComplex null", `AppRoleAssignmentsComplex([r])`, nil, nil, null},
		// BitAnd
		{"BitAnd decimal", `BitAnd(12, 10)`, nil, nil, Str("8")},
		{"BitAnd attr hex string", `BitAnd([uac], 2)`, attrs{"uac": "514"}, nil, Str("2")},
		{"BitAnd null", `BitAnd([uac], 2)`, nil, nil, null},
		// CBool
		{"CBool number", `CBool("5")`, nil, nil, Str("True")},
		{"CBool zero", `CBool(0)`, nil, nil, Str("False")},
		{"CBool true string", `CBool("true")`, nil, nil, Str("True")},
		{"CBool text", `CBool("abc")`, nil, nil, Str("False")},
		{"CBool null", `CBool([x])`, nil, nil, null},
		{"CBool null comparison", `CBool([a] = [b])`, nil, nil, Str("False")},
		// CDate
		{"CDate null", `CDate([x])`, nil, nil, null},
		{"CDate Z", `CDate("2021-01-02T03:04:05.123Z")`, nil, nil, Str("1/2/2021 3:04:05 AM")},
		{"CDate US", `CDate("12/31/2020 11:59:59 PM")`, nil, nil, Str("12/31/2020 11:59:59 PM")},
		{"CDate US 24h", `CDate("1/5/2020 13:00")`, nil, nil, Str("1/5/2020 1:00:00 PM")},
		{"CDate generalized time", `CDate("20150123105347.1Z")`, nil, nil, Str("1/23/2015 10:53:47 AM")},
		{"CDate RFC1123", `CDate("Tue, 15 Jun 2021 10:00:00 GMT")`, nil, nil, Str("6/15/2021 10:00:00 AM")},
		{"CDate month name", `CDate("June 15, 2021")`, nil, nil, Str("6/15/2021 12:00:00 AM")},
		{"CDate midnight", `CDate("2021-06-15")`, nil, nil, Str("6/15/2021 12:00:00 AM")},
		{"CDate noon", `CDate("2021-06-15T12:30:00")`, nil, nil, Str("6/15/2021 12:30:00 PM")},
		{"CDate round trip", `CDate(CDate("2021-06-15T12:30:00+02:00"))`, nil, nil, Str("6/15/2021 10:30:00 AM")},
		// Coalesce
		{"Coalesce default", `Coalesce([a], [b], "none")`, nil, nil, Str("none")},
		{"Coalesce empty string counts", `Coalesce([a], [b])`, attrs{"a": "", "b": "x"}, nil, Str("")},
		{"Coalesce all null", `Coalesce([a], [b])`, nil, nil, null},
		{"Coalesce multi", `Coalesce([a], [m])`, attrs{"m": multi}, nil, Multi(multi)},
		{"Coalesce lazy", `Coalesce([a], "x", Error("not evaluated"))`, nil, nil, Str("x")},
		// ConvertFromBase64 / ConvertToBase64 / ConvertToUTF8Hex
		{"ConvertFromBase64 ASCII", `ConvertFromBase64("SGk=", ASCII)`, nil, nil, Str("Hi")},
		{"ConvertFromBase64 ASCII high", `ConvertFromBase64("SOk=", "ASCII")`, nil, nil, Str("H?")},
		{"ConvertFromBase64 no padding", `ConvertFromBase64("SGk", UTF8)`, nil, nil, Str("Hi")},
		{"ConvertFromBase64 null", `ConvertFromBase64([x])`, nil, nil, null},
		{"ConvertToBase64 non-ASCII", `ConvertToBase64("é€😀")`, nil, nil, Str("6QCsID3YAN4=")},
		{"ConvertToBase64 empty", `ConvertToBase64("")`, nil, nil, Str("")},
		{"ConvertToBase64 round trip", `ConvertFromBase64(ConvertToBase64("Zoë 😀"))`, nil, nil, Str("Zoë 😀")},
		{"ConvertToUTF8Hex non-ASCII", `ConvertToUTF8Hex("é")`, nil, nil, Str("C3A9")},
		{"ConvertToUTF8Hex null", `ConvertToUTF8Hex([x])`, nil, nil, null},
		// Count
		{"Count multi", `Count([m])`, attrs{"m": multi}, nil, Str("4")},
		{"Count single", `Count([a])`, attrs{"a": "x"}, nil, Str("1")},
		{"Count null", `Count([a])`, nil, nil, Str("0")},
		// CStr / CRef
		{"CStr number", `CStr(42)`, nil, nil, Str("42")},
		{"CStr hex", `CStr(&H10)`, nil, nil, Str("16")},
		{"CStr null", `CStr([x])`, nil, nil, null},
		{"CStr multi", `CStr([m])`, attrs{"m": multi}, nil, Str("b@x.com")},
		{"CRef", `DNComponent(CRef([dn]), 1)`, attrs{"dn": "cn=Joe,ou=Sales,dc=contoso,dc=com"}, nil, Str("Joe")},
		// Contains
		{"Contains", `Contains([proxyAddresses], "SMTP:")`, attrs{"proxyAddresses": []string{"smtp:a@x", "SMTP:b@x"}}, nil, Str("2")},
		{"Contains ignore case", `Contains([proxyAddresses], "SMTP:", IgnoreCase)`, attrs{"proxyAddresses": []string{"smtp:a@x", "SMTP:b@x"}}, nil, Str("1")},
		{"Contains none", `Contains([proxyAddresses], "X500:")`, attrs{"proxyAddresses": []string{"smtp:a@x"}}, nil, Str("0")},
		{"Contains with Item and Mid", `Mid(Item([p], Contains([p], "SMTP:")), 6, 100)`, attrs{"p": []string{"smtp:a@x", "SMTP:b@x"}}, nil, Str("b@x")},
		// DateAdd
		{"DateAdd month end clip", `DateAdd("m", 1, "2021-01-31")`, nil, nil, Str("2/28/2021 12:00:00 AM")},
		{"DateAdd leap year", `DateAdd("yyyy", 1, "2020-02-29T10:00:00Z")`, nil, nil, Str("2/28/2021 10:00:00 AM")},
		{"DateAdd quarter", `DateAdd("q", 1, "2021-01-15")`, nil, nil, Str("4/15/2021 12:00:00 AM")},
		{"DateAdd hours", `DateAdd("h", 25, "2021-01-15")`, nil, nil, Str("1/16/2021 1:00:00 AM")},
		{"DateAdd minutes", `DateAdd("n", -1, "2021-01-15")`, nil, nil, Str("1/14/2021 11:59:00 PM")},
		{"DateAdd seconds", `DateAdd("s", 90, "2021-01-15")`, nil, nil, Str("1/15/2021 12:01:30 AM")},
		{"DateAdd uppercase interval", `DateAdd("D", 1, "2021-01-15")`, nil, nil, Str("1/16/2021 12:00:00 AM")},
		{"DateAdd null date", `DateAdd("d", 1, [x])`, nil, nil, null},
		{"DateAdd Now", `DateAdd("d", 1, Now())`, nil, nil, Str("7/3/2021 3:33:38 PM")},
		// DateDiff
		{"DateDiff ww boundary", `DateDiff("ww", "2021-08-21T23:00:00Z", "2021-08-22T01:00:00Z")`, nil, nil, Str("1")},
		{"DateDiff w elapsed", `DateDiff("w", "2021-08-21T23:00:00Z", "2021-08-22T01:00:00Z")`, nil, nil, Str("0")},
		{"DateDiff d truncates", `DateDiff("d", "2021-08-24T23:00:00Z", "2021-08-25T01:00:00Z")`, nil, nil, Str("0")},
		{"DateDiff m boundary", `DateDiff("m", "2021-01-31", "2021-02-01")`, nil, nil, Str("1")},
		{"DateDiff yyyy boundary", `DateDiff("yyyy", "2020-12-31T23:59:59Z", "2021-01-01")`, nil, nil, Str("1")},
		{"DateDiff q", `DateDiff("q", "2021-03-31", "2021-04-01")`, nil, nil, Str("1")},
		{"DateDiff s negative fraction", `DateDiff("s", "2021-01-01T00:00:01.5Z", "2021-01-01T00:00:00Z")`, nil, nil, Str("-1")},
		{"DateDiff null", `DateDiff("d", [x], Now())`, nil, nil, null},
		{"DateDiff IIF", `IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True")`, attrs{"StatusHireDate": "2021-07-20-07:00"}, nil, Str("False")},
		// DateFromNum / NumFromDate
		{"DateFromNum zero", `DateFromNum(0)`, nil, nil, Str("1/1/1601 12:00:00 AM")},
		{"DateFromNum attr", `DateFromNum([lastLogonTimestamp])`, attrs{"lastLogonTimestamp": "129699324000000000"}, nil, Str("1/1/2012 11:00:00 PM")},
		{"DateFromNum null", `DateFromNum([x])`, nil, nil, null},
		{"NumFromDate", `NumFromDate("2012-01-01T23:00:00Z")`, nil, nil, Str("129699324000000000")},
		{"NumFromDate Workday", `NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))`, attrs{"ContractEndDate": "2020-12-31-08:00"}, nil, Str("132539615990000000")},
		{"NumFromDate SuccessFactors", `NumFromDate(Join("",FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd")," 23:59:59-08:00"))`, attrs{"endDate": "12/31/2020 10:00:00 AM"}, nil, Str("132539615990000000")},
		{"NumFromDate null", `NumFromDate([x])`, nil, nil, null},
		// DefaultDomain
		{"DefaultDomain unset", `DefaultDomain()`, nil, nil, null},
		// DNComponent
		{"DNComponent 2", `DNComponent([dn], 2)`, attrs{"dn": "CN=Doe\\, John,OU=Sales,DC=contoso,DC=com"}, nil, Str("Sales")},
		{"DNComponent escaped", `DNComponent([dn], 1)`, attrs{"dn": "CN=Doe\\, John,OU=Sales,DC=contoso,DC=com"}, nil, Str("Doe, John")},
		{"DNComponent hex escape", `DNComponent([dn], 1)`, attrs{"dn": `CN=Zo\C3\AB,DC=x`}, nil, Str("Zoë")},
		{"DNComponent out of range", `DNComponent([dn], 9)`, attrs{"dn": "CN=a,DC=x"}, nil, null},
		{"DNComponent zero", `DNComponent([dn], 0)`, attrs{"dn": "CN=a,DC=x"}, nil, null},
		// FormatDateTime
		{"FormatDateTime names", `FormatDateTime("2021-06-05T07:08:09Z", , "yyyy-MM-ddTHH:mm:ssK", "dddd, MMMM d, yyyy h:mm tt")`, nil, nil, Str("Saturday, June 5, 2021 7:08 AM")},
		{"FormatDateTime offset to UTC", `FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd HH:mm zzz")`, nil, nil, Str("2020-12-31 08:00 +00:00")},
		{"FormatDateTime K utc", `FormatDateTime("2021-06-05T07:08:09Z", , "yyyy-MM-ddTHH:mm:ssK", "o")`, nil, nil, Str("2021-06-05T07:08:09.0000000Z")},
		{"FormatDateTime K unspecified", `FormatDateTime("20210605", , "yyyyMMdd", "yyyy-MM-ddTHH:mm:ssK")`, nil, nil, Str("2021-06-05T00:00:00")},
		{"FormatDateTime fraction", `FormatDateTime("10:11:12.345", , "HH:mm:ss.fff", "ss.ff|ss.FFFF|ss.FFFFF")`, nil, nil, Str("12.34|12.345|12.345")},
		{"FormatDateTime empty F drops dot", `FormatDateTime("10:11:12", , "HH:mm:ss", "HH:mm:ss.FFF")`, nil, nil, Str("10:11:12")},
		{"FormatDateTime literals", `FormatDateTime("2021-06-05", , "yyyy-MM-dd", "'Year' yyyy \\d\\a\\y d")`, nil, nil, Str("Year 2021 day 5")},
		{"FormatDateTime two digit year", `FormatDateTime("6/5/49", , "M/d/yy", "yyyy|yy|y")`, nil, nil, Str("2049|49|49")},
		{"FormatDateTime two digit year 1900s", `FormatDateTime("6/5/50", , "M/d/yy", "yyyy")`, nil, nil, Str("1950")},
		{"FormatDateTime styles", `FormatDateTime(" 2021 - 06 - 05 ", "AllowWhiteSpaces", "yyyy-MM-dd", "yyyyMMdd")`, nil, nil, Str("20210605")},
		{"FormatDateTime standard s", `FormatDateTime("20210605", , "yyyyMMdd", "s")`, nil, nil, Str("2021-06-05T00:00:00")},
		{"FormatDateTime standard u", `FormatDateTime("20210605", , "yyyyMMdd", "u")`, nil, nil, Str("2021-06-05 00:00:00Z")},
		{"FormatDateTime 12h", `FormatDateTime("12/31/2020 12:05:00 AM", , "M/d/yyyy hh:mm:ss tt", "HH:mm")`, nil, nil, Str("00:05")},
		{"FormatDateTime null", `FormatDateTime([x], , "yyyy", "yyyy")`, nil, nil, null},
		// IgnoreFlowIfNullOrEmpty (flags tested separately)
		{"IgnoreFlow value", `IgnoreFlowIfNullOrEmpty([department])`, attrs{"department": "Sales"}, nil, Str("Sales")},
		// IIF
		{"IIF true", `IIF([country]="USA",[country],[department])`, attrs{"country": "USA", "department": "Sales"}, nil, Str("USA")},
		{"IIF false", `IIF([country]="USA",[country],[department])`, attrs{"country": "FR", "department": "Sales"}, nil, Str("Sales")},
		{"IIF null attribute fails", `IIF([country]<>"USA","other","usa")`, attrs{}, nil, Str("usa")},
		{"IIF empty attribute fails", `IIF([country]="","Other",[country])`, attrs{"country": ""}, nil, Str("")},
		{"IIF IsPresent unsupported", `IIF(IsPresent([country]),"present","absent")`, attrs{}, nil, Str("absent")},
		{"IIF nested AND", `IIF([country]="USA",IIF([state]="CA","True","False"),"False")`, attrs{"country": "USA", "state": "CA"}, nil, Str("True")},
		{"IIF numeric compare", `IIF([n] >= 10, "big", "small")`, attrs{"n": "9"}, nil, Str("small")},
		{"IIF numeric not string compare", `IIF([n] > 9, "big", "small")`, attrs{"n": "10"}, nil, Str("big")},
		{"IIF string compare", `IIF([s] < "b", "lt", "ge")`, attrs{"s": "a"}, nil, Str("lt")},
		{"IIF boolean case-insensitive", `IIF([e] = "True", "on", "off")`, attrs{"e": "true"}, nil, Str("on")},
		{"IIF lazy", `IIF(IsPresent([a]), [a], Error("AccountName is required"))`, attrs{"a": "x"}, nil, Str("x")},
		{"IIF plain condition", `IIF("True", "y", "n")`, nil, nil, Str("y")},
		// InStr
		{"InStr text compare", `InStr("repEated","E",1,vbTextCompare)`, nil, nil, Str("2")},
		{"InStr binary", `InStr("repEated","E")`, nil, nil, Str("4")},
		{"InStr absent", `InStr("abc","z")`, nil, nil, Str("0")},
		{"InStr empty needle", `InStr("abc","", 2)`, nil, nil, Str("2")},
		{"InStr start past end", `InStr("abc","a", 9)`, nil, nil, Str("0")},
		{"InStr unicode", `InStr("Zoë Ødegård","Ø")`, nil, nil, Str("5")},
		{"InStr null", `InStr([x],"a")`, nil, nil, null},
		// Is*
		{"IsNull null", `IsNull([x])`, nil, nil, Str("True")},
		{"IsNull empty", `IsNull([x])`, attrs{"x": ""}, nil, Str("False")},
		{"IsNullOrEmpty empty", `IsNullOrEmpty([x])`, attrs{"x": ""}, nil, Str("True")},
		{"IsNullOrEmpty value", `IsNullOrEmpty([x])`, attrs{"x": "a"}, nil, Str("False")},
		{"IsPresent value", `IsPresent([x])`, attrs{"x": "a"}, nil, Str("True")},
		{"IsPresent null", `IsPresent([x])`, nil, nil, Str("False")},
		{"IsPresent multi", `IsPresent([m])`, attrs{"m": multi}, nil, Str("True")},
		{"IsString", `IsString([x])`, attrs{"x": "a"}, nil, Str("True")},
		{"IsString null", `IsString([x])`, nil, nil, Str("False")},
		{"IsString multi", `IsString([m])`, attrs{"m": multi}, nil, Str("False")},
		// Item
		{"Item 1", `Item([m], 1)`, attrs{"m": multi}, nil, Str("b@x.com")},
		{"Item 3", `Item([m], 3)`, attrs{"m": multi}, nil, Str("a@x.com")},
		{"Item 0", `Item([m], 0)`, attrs{"m": multi}, nil, null},
		{"Item past end", `Item([m], 5)`, attrs{"m": multi}, nil, null},
		{"Item single", `Item([a], 1)`, attrs{"a": "x"}, nil, Str("x")},
		{"Item null", `Item([a], 1)`, nil, nil, null},
		// Join
		{"Join multi", `Join(";", [m], "c")`, attrs{"m": multi}, nil, Str("b@x.com;a@x.com;b@x.com;c")},
		{"Join all null", `Join(" ", [a], [b])`, nil, nil, null},
		{"Join one null", `Join(" ", [a], [b])`, attrs{"b": "x"}, nil, Str("x")},
		{"Join empty values", `Join(" ", [a], [b])`, attrs{"a": "", "b": ""}, nil, Str("")},
		{"Join numbers", `Join("-", 1, -2, &HA)`, nil, nil, Str("1--2-10")},
		// Left
		{"Left zero", `Left("John", 0)`, nil, nil, Str("")},
		{"Left negative", `Left("John", -1)`, nil, nil, Str("John")},
		{"Left too long", `Left("John", 10)`, nil, nil, Str("John")},
		{"Left null", `Left([x], 2)`, nil, nil, Str("")},
		{"Left unicode", `Left("Zoë", 3)`, nil, nil, Str("Zoë")},
		// Len
		{"Len", `Len("Zoë")`, nil, nil, Str("3")},
		{"Len empty", `Len("")`, nil, nil, Str("0")},
		{"Len null", `Len([x])`, nil, nil, null},
		// Mid
		{"Mid clipped", `Mid("John", 3, 10)`, nil, nil, Str("hn")},
		{"Mid past end", `Mid("John", 9, 1)`, nil, nil, Str("")},
		{"Mid zero length", `Mid("John", 1, 0)`, nil, nil, Str("")},
		{"Mid null", `Mid([x], 1, 1)`, nil, nil, null},
		{"Mid string numbers", `Mid("John", "2", "2")`, nil, nil, Str("oh")},
		// NormalizeDiacritics
		{"NormalizeDiacritics table", `NormalizeDiacritics("äàâãåáąăā ÆæØøßŁłÑñÇçĞğİıŠšŽžŸÿŐőŰűȘșȚț")`, nil, nil, Str("aaaaaaaaa AEaeOEoessLlNnCcGgIiSsZzYyOoUuSsTt")},
		{"NormalizeDiacritics combining", "NormalizeDiacritics(\"Zoe\u0308 A\u0304\u0301\")", nil, nil, Str("Zoe A")},
		{"NormalizeDiacritics ascii", `NormalizeDiacritics("John Smith")`, nil, nil, Str("John Smith")},
		{"NormalizeDiacritics null", `NormalizeDiacritics([x])`, nil, nil, null},
		{"NormalizeDiacritics keeps others", `NormalizeDiacritics("Ωmega 山田")`, nil, nil, Str("Ωmega 山田")},
		// Not
		{"Not True", `Not("True")`, nil, nil, Str("False")},
		{"Not true lower", `Not("true")`, nil, nil, Str("False")},
		{"Not False", `Not("False")`, nil, nil, Str("True")},
		{"Not other", `Not("yes")`, nil, nil, Str("True")},
		{"Not null", `Not([x])`, nil, nil, Str("True")},
		{"Not IsSoftDeleted", `Not([IsSoftDeleted])`, attrs{"IsSoftDeleted": "False"}, nil, Str("True")},
		// PCase
		{"PCase apostrophe joins word", `PCase("o'NEIL")`, nil, nil, Str("O'neil")},
		{"PCase digits", `PCase("1ST floor")`, nil, nil, Str("1St Floor")},
		{"PCase hyphen", `PCase("jean-luc PICARD")`, nil, nil, Str("Jean-Luc Picard")},
		{"PCase unicode", `PCase("ÉLODIE ÖZTÜRK")`, nil, nil, Str("Élodie Öztürk")},
		{"PCase empty", `PCase("")`, nil, nil, Str("")},
		{"PCase null", `PCase([x])`, nil, nil, null},
		// Redact
		{"Redact value flows", `Redact([upn])`, attrs{"upn": "a@b"}, nil, Str("a@b")},
		// RemoveDuplicates
		{"RemoveDuplicates", `RemoveDuplicates([m])`, attrs{"m": multi}, nil, Multi([]string{"b@x.com", "", "a@x.com"})},
		{"RemoveDuplicates case-sensitive", `RemoveDuplicates([m])`, attrs{"m": []string{"SMTP:a", "smtp:a"}}, nil, Multi([]string{"SMTP:a", "smtp:a"})},
		{"RemoveDuplicates single", `RemoveDuplicates([a])`, attrs{"a": "x"}, nil, Str("x")},
		{"RemoveDuplicates null", `RemoveDuplicates([a])`, nil, nil, null},
		// Replace
		{"Replace null source", `Replace([x], "a", , , "b", , )`, nil, nil, null},
		{"Replace all occurrences", `Replace("a.b.c", ".", , , "-", , )`, nil, nil, Str("a-b-c")},
		{"Replace case-sensitive", `Replace("Aa", "a", , , "x", , )`, nil, nil, Str("Ax")},
		{"Replace empty old value", `Replace("abc", "", , , "x", , )`, nil, nil, Str("abc")},
		{"Replace nothing to do", `Replace("abc", "b", , , , , )`, nil, nil, Str("abc")},
		{"Replace template null source", `Replace([x], "<u>", , , , , "<u>@x")`, nil, nil, null},
		{"Replace regex numbered", `Replace("John Smith", , "(\\w+) (\\w+)", , "$2, $1", , )`, nil, nil, Str("Smith, John")},
		{"Replace regex dollar escapes", `Replace("ab", , "b", , "$$&$&", , )`, nil, nil, Str("a$&b")},
		{"Replace regex unknown group literal", `Replace("ab", , "b", , "${nope}", , )`, nil, nil, Str("a${nope}")},
		{"Replace regex single quote name", `Replace("ab", , "(?'x'b)", , "[${x}]", , )`, nil, nil, Str("a[b]")},
		{"Replace regex no match", `Replace("abc", , "\\d", , "", , )`, nil, nil, Str("abc")},
		{"Replace regex group no participation", `Replace("a1", , "(?<n>\\d)|a", "n", "#", , )`, nil, nil, Str("a#")},
		{"Replace regex dynamic pattern", `Replace("a.b", , [p], , "-", , )`, attrs{"p": `\.`}, nil, Str("a-b")},
		{"Replace regex extract no match", `Replace([t], , "(?<d>\\d+)", "d", , [m], )`, attrs{"t": "", "m": "none"}, nil, Str("")},
		{"Replace regex extract null other", `Replace([t], , "(?<d>\\d+)", "d", , [m], )`, nil, nil, null},
		{"Replace regex comment", `Replace("ab", , "b(?#the b)", , "c", , )`, nil, nil, Str("ac")},
		// Split
		{"Split keeps empties", `Split("a,,b", ",")`, nil, nil, Multi([]string{"a", "", "b"})},
		{"Split multi-char", `Split("a::b", "::")`, nil, nil, Multi([]string{"a", "b"})},
		{"Split empty delimiter", `Split("a,b", "")`, nil, nil, Multi([]string{"a,b"})},
		{"Split no delimiter", `Split("ab", ",")`, nil, nil, Multi([]string{"ab"})},
		{"Split null", `Split([x], ",")`, nil, nil, null},
		{"Split Count", `Count(Split("a;b;c", ";"))`, nil, nil, Str("3")},
		// StringFromSid
		{"StringFromSid", `StringFromSid([objectSid])`, attrs{"objectSid": "AQUAAAAAAAUVAAAAoGXPfnhLm1/nfIdwUgQAAA=="}, nil, Str("S-1-5-21-2127521184-1604012920-1887927527-1106")},
		{"StringFromSid well-known", `StringFromSid("AQEAAAAAAAEAAAAA")`, nil, nil, Str("S-1-1-0")},
		{"StringFromSid null", `StringFromSid([x])`, nil, nil, null},
		// StripSpaces
		{"StripSpaces", `StripSpaces(" a b  c ")`, nil, nil, Str("abc")},
		{"StripSpaces keeps tabs", "StripSpaces(\"a\tb\")", nil, nil, Str("a\tb")},
		{"StripSpaces null", `StripSpaces([x])`, nil, nil, null},
		// Switch
		{"Switch case-sensitive", `Switch([s], "d", "qld", "x")`, attrs{"s": "QLD"}, nil, Str("d")},
		{"Switch no default", `Switch([s], , "a", "x")`, attrs{"s": "b"}, nil, null},
		{"Switch lazy values", `Switch([s], Error("no default"), "a", "x", "b", Error("no b"))`, attrs{"s": "a"}, nil, Str("x")},
		{"Switch first match wins", `Switch([s], "d", "a", "1", "a", "2")`, attrs{"s": "a"}, nil, Str("1")},
		// ToLower / ToUpper
		{"ToLower invariant", `ToLower("İSTANBUL")`, nil, nil, Str("istanbul")},
		{"ToLower Turkish", `ToLower("İSTANBUL IĞDIR", "tr-TR")`, nil, nil, Str("istanbul ığdır")},
		{"ToUpper invariant", `ToUpper("istanbul")`, nil, nil, Str("ISTANBUL")},
		{"ToUpper Turkish", `ToUpper("istanbul", "tr")`, nil, nil, Str("İSTANBUL")},
		{"ToUpper Azerbaijani", `ToUpper("bakı i", "az-Latn-AZ")`, nil, nil, Str("BAKI İ")},
		{"ToUpper en-US", `ToUpper("straße", "en-US")`, nil, nil, Str("STRAßE")},
		{"ToLower null", `ToLower([x])`, nil, nil, null},
		// Trim
		{"Trim multi", `Trim([m])`, attrs{"m": []string{" a ", "b\t", "\u00a0c"}}, nil, Multi([]string{"a", "b", "c"})},
		{"Trim null", `Trim([x])`, nil, nil, null},
		{"Trim empty", `Trim("   ")`, nil, nil, Str("")},
		// Word
		{"Word below 1", `Word("a b", 0, " ")`, nil, nil, Str("")},
		{"Word too few", `Word("a b", 3, " ")`, nil, nil, Str("")},
		{"Word null", `Word([x], 1, " ")`, nil, nil, Str("")},
		{"Word consecutive delimiters", `Word("a,,b", 2, ",")`, nil, nil, Str("b")},
		{"Word no delimiters", `Word("abc", 1, "")`, nil, nil, Str("abc")},
		// Operators
		{"concat null", `"a" & [x] & "b"`, nil, nil, Str("ab")},
		{"comparison value", `[a] = "x"`, attrs{"a": "x"}, nil, Str("True")},
		{"comparison null", `[a] <> "x"`, nil, nil, Str("False")},
		{"whole expression constant", `"1"`, nil, nil, Str("1")},
		{"whole expression number", `42`, nil, nil, Str("42")},
		{"whole expression attribute", `[a]`, attrs{"a": multi}, nil, Multi(multi)},
		{"whole expression null attribute", `[a]`, nil, nil, null},
	})
}

func TestToUpperGermanSharpS(t *testing.T) {
	// .NET's invariant ToUpper leaves ß alone, and so does Go's.
	got, err := Eval(`ToUpper("straße")`, nil)
	if err != nil || got.Value.String() != "STRAßE" {
		t.Errorf(`ToUpper("straße") = %q, %v; want "STRAßE"`, got.Value.String(), err)
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		src   string
		attrs attrs
		want  string // exact error text
	}{
		{`Mid([a], [s], 2)`, attrs{"a": "John", "s": "x"}, `expr:1:10: Mid: start must be an integer, got "x"`},
		{`Mid([a], 0, 2)`, attrs{"a": "John"}, `expr:1:10: Mid: start must be 1 or more, got 0`},
		{`Mid([a], 1, -2)`, attrs{"a": "John"}, `expr:1:13: Mid: length must not be negative, got -2`},
		{`Mid("a", [n], 1)`, nil, `expr:1:10: Mid: start is null, want an integer`},
		{`Left("John", [n])`, attrs{"n": "many"}, `expr:1:14: Left: numChars must be an integer, got "many"`},
		{`Item([m], [i])`, attrs{"m": multi, "i": "first"}, `expr:1:11: Item: index must be an integer, got "first"`},
		{`BitAnd([v], 1)`, attrs{"v": "x"}, `expr:1:8: BitAnd: value1 must be an integer, got "x"`},
		{`Word("a b", [w], " ")`, attrs{"w": "two"}, `expr:1:13: Word: wordNumber must be an integer, got "two"`},
		{`CDate("not a date")`, nil, `expr:1:7: CDate: cannot parse "not a date" as a date`},
		{`CDate("2021-02-30")`, nil, `expr:1:7: CDate: cannot parse "2021-02-30" as a date`},
		{`DateAdd("x", 1, Now())`, nil, `expr:1:9: DateAdd: unknown interval "x" (want yyyy, q, m, y, d, w, ww, h, n or s)`},
		{`DateAdd("yyyy", 9000, Now())`, nil, `expr:1:17: DateAdd: result out of range`},
		{`DateDiff("x", Now(), Now())`, nil, `expr:1:10: DateDiff: unknown interval "x" (want yyyy, q, m, y, d, w, ww, h, n or s)`},
		{`DateFromNum(-1)`, nil, `expr:1:13: DateFromNum: -1 is out of the date range`},
		{`DateFromNum(9223372036854775807)`, nil, `expr:1:13: DateFromNum: 9223372036854775807 is out of the date range`},
		{`FormatDateTime("2021", , "yyyy-MM", "yyyy")`, nil, `expr:1:16: FormatDateTime: "2021" does not match input format "yyyy-MM"`},
		{`FormatDateTime("2021", "Bogus", "yyyy", "yyyy")`, nil, `expr:1:24: FormatDateTime: unknown dateTimeStyles value "bogus"`},
		{`FormatDateTime("2021", , "yyyy", "'open")`, nil, `expr:1:34: FormatDateTime: outputFormat: unterminated quoted literal in format`},
		{`FormatDateTime("2021", , "yyyy", "x")`, nil, `expr:1:34: FormatDateTime: outputFormat: unknown standard format "x"`},
		{`InStr("a", "b", 0)`, nil, `expr:1:17: InStr: start must be 1 or more, got 0`},
		{`InStr("a", "b", 1, "sideways")`, nil, `expr:1:20: InStr: compareType must be vbTextCompare or vbBinaryCompare, got "sideways"`},
		{`ConvertFromBase64("!!!")`, nil, `expr:1:19: ConvertFromBase64: invalid base64: illegal base64 data at input byte 0`},
		{`ConvertFromBase64("SGk=", "EBCDIC")`, nil, `expr:1:27: ConvertFromBase64: encoding must be Unicode, UTF8 or ASCII, got "EBCDIC"`},
		{`StringFromSid("AQID")`, nil, `expr:1:15: StringFromSid: not a binary security identifier (3 bytes)`},
		{`RandomString(300, 1, 1, 1, 1)`, nil, `expr:1:14: RandomString: Length must be at most 256, got 300`},
		{`RandomString(3, 1, 1, 1, 1)`, nil, `expr:1:14: RandomString: Length 3 is less than the sum of the minimums (4)`},
		{`RandomString(4, -1, 1, 1, 1)`, nil, `expr:1:17: RandomString: MinimumNumbers must not be negative`},
		{`RandomString(4, 1, 0, 0, 0, "0123456789")`, nil, `expr:1:17: RandomString: CharactersToAvoid excludes every character needed for MinimumNumbers`},
		{`Replace("a", , [p], , "b", , )`, attrs{"p": "(?!x)"}, `expr:1:16: Replace: invalid regular expression: lookahead assertions (?!…) are not supported`},
		{`Replace("a", , "(?<g>a)", [g], "b", , )`, attrs{"g": "h"}, `expr:1:27: Replace: regexGroupName "h" is not a named group of the pattern`},
		{`Contains([m], "a", "maybe")`, attrs{"m": multi}, `expr:1:20: Contains: caseType must be CaseSensitive or IgnoreCase, got "maybe"`},
	}
	for _, tc := range tests {
		_, err := Eval(tc.src, testEnv(tc.attrs))
		if err == nil {
			t.Errorf("Eval(%s) succeeded, want %s", tc.src, tc.want)
			continue
		}
		var ee *EvalError
		if !errors.As(err, &ee) {
			t.Errorf("Eval(%s) error is %T, want *EvalError", tc.src, err)
		}
		if err.Error() != tc.want {
			t.Errorf("Eval(%s)\n got %s\nwant %s", tc.src, err, tc.want)
		}
	}
}

func TestUserError(t *testing.T) {
	_, err := Eval(`IIF(IsPresent([accountName]),[accountName],Error("AccountName is required"))`, testEnv(nil))
	var ue *UserError
	if !errors.As(err, &ue) || ue.Msg != "AccountName is required" || err.Error() != "AccountName is required" {
		t.Errorf("err = %v (%T), want *UserError", err, err)
	}
}

func TestResultFlags(t *testing.T) {
	tests := []struct {
		src            string
		attrs          attrs
		ignore, redact bool
	}{
		{`IgnoreFlowIfNullOrEmpty([department])`, nil, true, false},
		{`IgnoreFlowIfNullOrEmpty([department])`, attrs{"department": ""}, true, false},
		{`IgnoreFlowIfNullOrEmpty([department])`, attrs{"department": "Sales"}, false, false},
		{`IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof."))`, attrs{"prefix": "9"}, true, false},
		{`IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof."))`, attrs{"prefix": "3443"}, false, false},
		{`Redact([userPrincipalName])`, attrs{"userPrincipalName": "a@b"}, false, true},
		{`Redact(RandomString(6,3,0,0,3))`, nil, false, true},
		{`Join(" ", Redact([a]), [b])`, nil, false, true},
		{`[a]`, nil, false, false},
	}
	for _, tc := range tests {
		r, err := Eval(tc.src, testEnv(tc.attrs))
		if err != nil {
			t.Errorf("Eval(%s): %v", tc.src, err)
			continue
		}
		if r.Ignore != tc.ignore || r.Redacted != tc.redact {
			t.Errorf("Eval(%s) Ignore=%v Redacted=%v, want %v %v", tc.src, r.Ignore, r.Redacted, tc.ignore, tc.redact)
		}
	}
}

func TestEnvDefaults(t *testing.T) {
	// A nil Env: attributes null, real clock, crypto randomness.
	r, err := Eval(`Join("|", [a], Now(), Len(Guid()), DefaultDomain())`, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(r.Value.String(), "|")
	if len(parts) != 2 || parts[1] != "36" {
		t.Fatalf("got %q", r.Value.String())
	}
	if _, _, err := parseDate(parts[0], time.Now()); err != nil {
		t.Errorf("Now() = %q does not parse: %v", parts[0], err)
	}
	env := &Env{DefaultDomain: "contoso.onmicrosoft.com"}
	r, err = Eval(`Append("user@", DefaultDomain())`, env)
	if err != nil || r.Value.String() != "user@contoso.onmicrosoft.com" {
		t.Errorf("DefaultDomain: %q, %v", r.Value.String(), err)
	}
	// Now() is read once per evaluation.
	calls := 0
	env = &Env{Now: func() time.Time { calls++; return testNow }}
	if _, err := Eval(`Join(" ", Now(), Now(), DateAdd("d", 1, Now()))`, env); err != nil || calls != 1 {
		t.Errorf("Now called %d times, err %v", calls, err)
	}
}

func TestSelectUniqueValueErrors(t *testing.T) {
	env := testEnv(attrs{"a": "x"})
	boom := errors.New("target unreachable")
	env.IsTaken = func(string) (bool, error) { return false, boom }
	_, err := Eval(`SelectUniqueValue([a], "y")`, env)
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want wrapped %v", err, boom)
	}
	// Null and empty candidates are skipped.
	env.IsTaken = func(c string) (bool, error) { return c == "x", nil }
	r, err := Eval(`SelectUniqueValue([missing], "", [a], "y")`, env)
	if err != nil || r.Value.String() != "y" {
		t.Errorf("got %q, %v; want y", r.Value.String(), err)
	}
}

func TestBudgetAndSizeLimits(t *testing.T) {
	big := strings.Repeat("x", 600000)
	tests := []struct {
		name   string
		src    string
		attrs  attrs
		budget int
		want   string
	}{
		{"budget", `Join("", "a", "b", "c", "d")`, nil, 3, "evaluation budget of 3 steps exceeded"},
		{"join size", `Join("", [big], [big])`, attrs{"big": big}, 0, "Join: result is larger than 1048576 bytes"},
		{"append size", `Append([big], [big])`, attrs{"big": big}, 0, "Append: result is larger than 1048576 bytes"},
		{"concat size", `[big] & [big]`, attrs{"big": big}, 0, "operator &: result is larger than 1048576 bytes"},
		{"template blow-up", `Replace(Replace(Replace(Replace(Replace(Replace([big], "a", , , , , "aaaa"), "a", , , , , "aaaa"), "a", , , , , "aaaa"), "a", , , , , "aaaa"), "a", , , , , "aaaa"), "a", , , , , "aaaa")`, attrs{"big": strings.Repeat("a", 2000)}, 0, "Replace: result is larger than 1048576 bytes"},
		{"regex blow-up", `Replace([big], , "", , [big], , )`, attrs{"big": strings.Repeat("y", 5000)}, 0, "Replace: result is larger than 1048576 bytes"},
		{"regex cost", `Replace([big], , "[a-z]{50}z", , "", , )`, attrs{"big": big}, 0, "evaluation budget of 100000 steps exceeded"},
		{"base64 size", `ConvertToBase64([big])`, attrs{"big": big}, 0, "ConvertToBase64: result is larger than 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(tc.attrs)
			env.Budget = tc.budget
			_, err := Eval(tc.src, env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestManualTree(t *testing.T) {
	// Trees built by hand (not by Parse) evaluate and print too.
	e := &Expr{Root: &Call{Name: "Join", Args: []Node{
		&String{Value: " "},
		&Attr{Name: "givenName"},
		&Binary{Op: "&", Left: &Attr{Name: "surname"}, Right: &Binary{Op: "&", Left: &String{Value: "!"}, Right: &Number{Value: 7}}},
	}}}
	if got, want := e.String(), `Join(" ", [givenName], [surname] & ("!" & 7))`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	r, err := e.Eval(testEnv(attrs{"givenName": "Ann", "surname": "Lee"}))
	if err != nil || r.Value.String() != "Ann Lee!7" {
		t.Errorf("Eval = %q, %v", r.Value.String(), err)
	}
	if got := e.Attributes(); len(got) != 2 || got[0] != "givenName" || got[1] != "surname" {
		t.Errorf("Attributes() = %v", got)
	}
	bad := &Expr{Root: &Call{Name: "Nope"}}
	if _, err := bad.Eval(nil); err == nil {
		t.Error("unknown function in a manual tree should fail")
	}
	short := &Expr{Root: &Call{Name: "mid", Args: []Node{&String{Value: "a"}}}}
	if _, err := short.Eval(nil); err == nil {
		t.Error("wrong arity in a manual tree should fail, not panic")
	}
}

func TestValue(t *testing.T) {
	if !Null().IsNull() || Null().IsMulti() || Null().String() != "" || Null().Strings() != nil {
		t.Error("Null")
	}
	if !Multi(nil).IsNull() || !Multi([]string{}).IsNull() {
		t.Error("empty Multi should be null")
	}
	m := Multi([]string{"a", "b"})
	if !m.IsMulti() || m.String() != "a" || m.Len() != 2 {
		t.Error("Multi")
	}
	s := m.Strings()
	s[0] = "changed"
	if m.String() != "a" {
		t.Error("Strings() shares storage")
	}
	if got := Str("x").Strings(); len(got) != 1 || got[0] != "x" {
		t.Error("Str.Strings")
	}
	if Str("a").Equal(Multi([]string{"a"})) || !Multi([]string{"a"}).Equal(Multi([]string{"a"})) {
		t.Error("Equal")
	}
}

// cpuSince returns the CPU time the process used since start (a reading of
// processCPUTime), which other load on the machine does not inflate.
func cpuSince(t *testing.T, start time.Duration) time.Duration {
	now, ok := processCPUTime()
	if !ok {
		t.Skip("no CPU-time clock on this platform")
	}
	return now - start
}

func cpuNow() time.Duration { d, _ := processCPUTime(); return d }

func TestRegexComplexity(t *testing.T) {
	start := cpuNow()
	_, err := Parse(`Replace([a], , "` + strings.Repeat(`\\w{1000}`, 1000) + `", , "", , )`)
	if err == nil || !strings.Contains(err.Error(), "pattern is too complex") {
		t.Errorf("err = %v, want too complex", err)
	}
	env := testEnv(attrs{"p": strings.Repeat(`(a|b){1000}`, 50)})
	_, err = Eval(`Replace("ab", , [p], , "", , )`, env)
	if err == nil || !strings.Contains(err.Error(), "pattern is too complex") {
		t.Errorf("err = %v, want too complex", err)
	}
	if d := cpuSince(t, start); d > 2*time.Second {
		t.Errorf("rejecting complex patterns took %v of CPU time", d)
	}
}

// TestPathologicalInputsAreBounded runs expressions designed to be slow or
// memory-hungry; each must finish quickly, with a value or an error.
func TestPathologicalInputsAreBounded(t *testing.T) {
	big := strings.Repeat("ab ", 300000) // ~900 KB
	env := func() *Env {
		return testEnv(attrs{"big": big, "many": strings.Split(strings.Repeat("x,", 50000), ",")})
	}
	srcs := []string{
		`Word([big], 2, [big])`,
		`PCase([big], [big])`,
		`RandomString(256, 0, 0, 0, 0, [big])`,
		`FormatDateTime("2021", , "yyyy", Join("", [big], [big]))`,
		`FormatDateTime("2021", , Replace([big], "ab ", , , "g", , ), "yyyy")`,
		`InStr([big], Append([big], "z"))`,
		`InStr([big], Mid([big], 1, 400000), 1, vbTextCompare)`,
		`Contains([many], [big])`,
		`Split(Join("", [big], [big]), "a")`,
		`Split([big], "a")`,
		`RemoveDuplicates(Split([big], " "))`,
		`Count(Split([big], ""))`,
		`Join(",", [many], [many], [many], [many], [many], [many], [many], [many])`,
		`Replace([big], , "(?<x>a)", "x", [big], , )`,
		`Replace([big], , "a|b| ", , "$_", , )`,
		`Replace([big], "a", , , , , [big])`,
		`Switch([big], [big], [big], [big])`,
		`IIF([big] = [big], [big], [big])`,
		`CBool([big])`,
		`DNComponent([big], 3)`,
		`NormalizeDiacritics(ToUpper(PCase(ToLower([big]))))`,
		`ConvertFromBase64([big])`,
		`CDate([big])`,
		`Trim([many])`,
		`AppRoleAssignmentsComplex([many])`,
		`ToLower(ToLower(ToLower(ToLower(ToLower(ToLower(ToLower(ToLower(ToLower(ToLower([big]))))))))))`,
	}
	for _, src := range srcs {
		start := cpuNow()
		_, err := Eval(src, env())
		d := cpuSince(t, start)
		if testing.Verbose() {
			t.Logf("%v CPU %s: %v", d.Round(time.Millisecond), src, err)
		}
		// CPU time, not wall-clock: a loaded machine does not make it fail.
		if d > 3*time.Second {
			t.Errorf("%s took %v of CPU time (err %v)", src, d, err)
		}
	}
}

func TestConcurrentEval(t *testing.T) {
	e := mustParse(t, `Switch([s], Join(" ", [a], [b]), "x", Replace([a], , "(?<f>^.)", "f", "J", , ))`)
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			var err error
			for i := 0; i < 500 && err == nil; i++ {
				env := testEnv(attrs{"a": "ann", "b": "lee", "s": []string{"x", "y"}[i%2]})
				var r Result
				r, err = e.Eval(env)
				want := []string{"Jnn", "ann lee"}[i%2]
				if err == nil && r.Value.String() != want {
					err = errors.New("got " + r.Value.String() + ", want " + want)
				}
			}
			done <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestDiacriticTableCase checks that the upper-case form of every mapped
// lower-case letter maps to the upper-case replacement, and vice versa.
func TestDiacriticTableCase(t *testing.T) {
	for r, to := range diacriticMap {
		var other rune
		var want string
		switch {
		case unicode.IsLower(r):
			other, want = unicode.ToUpper(r), strings.ToUpper(to)
		case unicode.IsUpper(r):
			other, want = unicode.ToLower(r), strings.ToLower(to)
		default:
			continue
		}
		if other == r || r == 'ı' || r == 'İ' || r == 'ß' || r == 'ẞ' {
			continue
		}
		if got, ok := diacriticMap[other]; !ok || got != want {
			t.Errorf("%c → %q but %c → %q (want %q)", r, to, other, got, want)
		}
	}
}
