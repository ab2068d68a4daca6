package graphapi

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzOnDemandDecode: decoding a provisionOnDemand body never panics, and
// every subject it accepts has an objectId and an objectTypeName.
func FuzzOnDemandDecode(f *testing.F) {
	f.Add([]byte(`{"parameters":[{"ruleId":"r","subjects":[{"objectId":"u","objectTypeName":"User"}]}]}`))
	f.Add([]byte(`{"parameters":[{"ruleId":"r","subjects":[{"objectId":"g","objectTypeName":"Group","links":{"members":[{"objectId":"u","objectTypeName":"User"},{}]}}]}]}`))
	f.Add([]byte(`{"parameters":null}`))
	f.Add([]byte{0x1f, 0x8b, 0, 1})
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
		var b onDemandBody
		if err := decodeJSON(httptest.NewRecorder(), r, &b); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("decode error is not a Graph error: %T %v", err, err)
			}
			return
		}
		if b.Parameters == nil {
			return
		}
		for _, p := range *b.Parameters {
			if p.Subjects == nil {
				continue
			}
			for _, s := range *p.Subjects {
				subj, err := toSubject(s, "subjects[0]")
				if err != nil {
					continue
				}
				if subj.ObjectID == "" || subj.ObjectTypeName == "" {
					t.Fatalf("accepted subject without id or type: %+v", subj)
				}
			}
		}
	})
}

func TestDecodeJSONGzipAndMislabelled(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(`{"a":1}`))
	zw.Close()
	for name, body := range map[string][]byte{"gzip": zipped.Bytes(), "plain labelled gzip": []byte(`{"a":1}`)} {
		r := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
		r.Header.Set("Content-Encoding", "gzip")
		var v map[string]int
		if err := decodeJSON(httptest.NewRecorder(), r, &v); err != nil || v["a"] != 1 {
			t.Errorf("%s: %v %v", name, v, err)
		}
	}
	big := `{"a":"` + strings.Repeat("x", maxBody) + `"}`
	r := httptest.NewRequest("POST", "/x", strings.NewReader(big))
	var v any
	err := decodeJSON(httptest.NewRecorder(), r, &v)
	if ge, ok := err.(*Error); !ok || ge.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %v", err)
	}
}
