package odata

import (
	"slices"
	"strings"
)

// Page is one page of a collection.
type Page struct {
	Items []map[string]any
	Count int    // matches in the whole collection, when Query.Count
	Next  string // $skiptoken of the next page; "" on the last page
}

// Match reports whether item satisfies every $filter clause. Strings
// compare case-insensitively, as in Entra ID.
func (q Query) Match(item map[string]any) bool {
	for _, c := range q.Filter {
		v := item[c.Prop]
		switch want := c.Val.(type) {
		case nil:
			if c.Prefix || v != nil {
				return false
			}
		case bool:
			if b, ok := v.(bool); !ok || b != want {
				return false
			}
		case string:
			s, ok := v.(string)
			if !ok {
				return false
			}
			if c.Prefix {
				if len(s) < len(want) || !strings.EqualFold(s[:len(want)], want) {
					return false
				}
			} else if !strings.EqualFold(s, want) {
				return false
			}
		}
	}
	return true
}

// Project applies $select: the chosen properties (null when unset), id,
// and instance annotations such as @odata.type.
func (q Query) Project(item map[string]any) map[string]any {
	if q.Select == nil {
		return item
	}
	out := map[string]any{"id": item["id"]}
	for _, name := range q.Select {
		out[name] = item[name]
	}
	for k, v := range item {
		if strings.HasPrefix(k, "@") {
			out[k] = v
		}
	}
	return out
}

func idOf(item map[string]any) string {
	s, _ := item["id"].(string)
	return s
}

// collector builds one page from items arriving in id order.
type collector struct {
	q    Query
	p    Page
	more bool
}

// add offers the next item; it reports whether the page is complete and
// nothing more needs reading.
func (c *collector) add(item map[string]any) (done bool) {
	if !c.q.Match(item) {
		return false
	}
	if c.q.Count {
		c.p.Count++
	}
	id := idOf(item)
	if c.q.After != "" && id <= c.q.After {
		return false
	}
	if len(c.p.Items) < c.q.Size() {
		c.p.Items = append(c.p.Items, c.q.Project(item))
		return false
	}
	c.more = true
	return !c.q.Count
}

func (c *collector) page() Page {
	if c.more && len(c.p.Items) > 0 {
		c.p.Next = EncodeSkipToken(idOf(c.p.Items[len(c.p.Items)-1]))
	}
	return c.p
}

// Apply pages an in-memory collection, in id order.
func (q Query) Apply(items []map[string]any) Page {
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b map[string]any) int { return strings.Compare(idOf(a), idOf(b)) })
	c := collector{q: q}
	for _, it := range sorted {
		if c.add(it) {
			break
		}
	}
	return c.page()
}

// List pages a store listing. fetch returns up to limit items with ids
// after the given one, in id order; List calls it until the page is full
// (and, with $count, until the collection ends).
func (q Query) List(fetch func(after string, limit int) ([]map[string]any, error)) (Page, error) {
	batch := q.Size() + 1
	if len(q.Filter) > 0 || q.Count {
		batch = max(batch, 500)
	}
	after := q.After
	if q.Count {
		after = "" // the count covers the whole collection
	}
	c := collector{q: q}
	for {
		items, err := fetch(after, batch)
		if err != nil {
			return Page{}, err
		}
		for _, it := range items {
			if c.add(it) {
				return c.page(), nil
			}
		}
		if len(items) < batch {
			return c.page(), nil
		}
		after = idOf(items[len(items)-1])
	}
}
