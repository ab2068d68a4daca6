package expr

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The standard library has no Unicode normalization, so NormalizeDiacritics
// uses a table of precomposed letters (Latin-1 Supplement, Latin Extended-A,
// the common letters of Latin Extended-B and Latin Extended Additional) and
// drops combining marks (category Mn), which covers decomposed input such
// as "e\u0301". Letters that do not decompose follow the documented table:
// æ→ae, ø→oe, œ→oe, ß→ss, ł→l, ı→i; đ→d and ħ→h are added.
var diacriticGroups = []struct{ to, from string }{
	{"a", "àáâãäåāăąǎǟǡǻȁȃȧạảấầẩẫậắằẳẵặḁ"},
	{"A", "ÀÁÂÃÄÅĀĂĄǍǞǠǺȀȂȦẠẢẤẦẨẪẬẮẰẲẴẶḀ"},
	{"ae", "æǣǽ"},
	{"AE", "ÆǢǼ"},
	{"b", "ḃḅḇ"},
	{"B", "ḂḄḆ"},
	{"c", "çćĉċčḉ"},
	{"C", "ÇĆĈĊČḈ"},
	{"d", "ďđḋḍḏḑḓ"},
	{"D", "ĎĐḊḌḎḐḒ"},
	{"e", "èéêëēĕėęěȅȇȩḕḗḙḛḝẹẻẽếềểễệ"},
	{"E", "ÈÉÊËĒĔĖĘĚȄȆȨḔḖḘḚḜẸẺẼẾỀỂỄỆ"},
	{"f", "ḟ"},
	{"F", "Ḟ"},
	{"g", "ĝğġģǧǵḡ"},
	{"G", "ĜĞĠĢǦǴḠ"},
	{"h", "ĥħȟḣḥḧḩḫẖ"},
	{"H", "ĤĦȞḢḤḦḨḪ"},
	{"i", "ìíîïĩīĭįıǐȉȋḭḯỉị"},
	{"I", "ÌÍÎÏĨĪĬĮİǏȈȊḬḮỈỊ"},
	{"j", "ĵǰ"},
	{"J", "Ĵ"},
	{"k", "ķǩḱḳḵ"},
	{"K", "ĶǨḰḲḴ"},
	{"l", "ĺļľŀłḷḹḻḽ"},
	{"L", "ĹĻĽĿŁḶḸḺḼ"},
	{"m", "ḿṁṃ"},
	{"M", "ḾṀṂ"},
	{"n", "ñńņňǹṅṇṉṋ"},
	{"N", "ÑŃŅŇǸṄṆṈṊ"},
	{"o", "òóôõöōŏőơǒǫǭȍȏȫȭȯȱṍṏṑṓọỏốồổỗộớờởỡợ"},
	{"O", "ÒÓÔÕÖŌŎŐƠǑǪǬȌȎȪȬȮȰṌṎṐṒỌỎỐỒỔỖỘỚỜỞỠỢ"},
	{"oe", "øǿœ"},
	{"OE", "ØǾŒ"},
	{"p", "ṕṗ"},
	{"P", "ṔṖ"},
	{"r", "ŕŗřȑȓṙṛṝṟ"},
	{"R", "ŔŖŘȐȒṘṚṜṞ"},
	{"s", "śŝşšșṡṣṥṧṩ"},
	{"S", "ŚŜŞŠȘṠṢṤṦṨ"},
	{"ss", "ß"},
	{"SS", "ẞ"},
	{"t", "ţťŧțṫṭṯṱẗ"},
	{"T", "ŢŤŦȚṪṬṮṰ"},
	{"u", "ùúûüũūŭůűųưǔǖǘǚǜȕȗṳṵṷṹṻụủứừửữự"},
	{"U", "ÙÚÛÜŨŪŬŮŰŲƯǓǕǗǙǛȔȖṲṴṶṸṺỤỦỨỪỬỮỰ"},
	{"v", "ṽṿ"},
	{"V", "ṼṾ"},
	{"w", "ŵẁẃẅẇẉẘ"},
	{"W", "ŴẀẂẄẆẈ"},
	{"x", "ẋẍ"},
	{"X", "ẊẌ"},
	{"y", "ýÿŷȳẏẙỳỵỷỹ"},
	{"Y", "ÝŸŶȲẎỲỴỶỸ"},
	{"z", "źżžẑẓẕ"},
	{"Z", "ŹŻŽẐẒẔ"},
}

var diacriticMap = func() map[rune]string {
	m := make(map[rune]string, 512)
	for _, g := range diacriticGroups {
		for _, r := range g.from {
			m[r] = g.to
		}
	}
	return m
}()

func normalizeDiacritics(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if to, ok := diacriticMap[r]; ok {
			b.WriteString(to)
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
