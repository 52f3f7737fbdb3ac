package guides

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Hit is one section that matches a search.
type Hit struct {
	Guide   *Guide
	Section Section
	// Snippet is text around the first match in the section.
	Snippet string
	score   int
}

// maxHits bounds the answer of one search; maxQueryTerms the words of a
// query that are looked at.
const (
	maxHits       = 50
	maxQueryTerms = 10
)

// Search finds the sections of the guides (the index included) whose
// title or text hold every word of q, ignoring case; a match in a title
// ranks higher. An empty query finds nothing.
func (s *Set) Search(q string) []Hit {
	terms := strings.Fields(strings.ToLower(q))
	if len(terms) > maxQueryTerms {
		terms = terms[:maxQueryTerms]
	}
	if len(terms) == 0 {
		return nil
	}
	var hits []Hit
	for _, g := range append([]*Guide{s.Index}, s.Guides...) {
		for _, sec := range g.Sections {
			title, body := strings.ToLower(sec.Title), strings.ToLower(sec.Text)
			score := 0
			for _, t := range terms {
				switch {
				case strings.Contains(title, t):
					score += 10 + strings.Count(body, t)
				case strings.Contains(body, t):
					score += 1 + min(strings.Count(body, t), 5)
				default:
					score = -1
				}
				if score < 0 {
					break
				}
			}
			if score < 0 {
				continue
			}
			hits = append(hits, Hit{Guide: g, Section: sec, Snippet: snippet(sec.Text, terms[0]), score: score})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	if len(hits) > maxHits {
		hits = hits[:maxHits]
	}
	return hits
}

// snippet is about 200 bytes of text around the first match of term.
func snippet(text, term string) string {
	const width = 100
	i := strings.Index(strings.ToLower(text), term)
	if i < 0 {
		i = 0
	}
	start, end := max(0, i-width), min(len(text), i+len(term)+width)
	for start > 0 && !utf8.RuneStart(text[start]) {
		start--
	}
	for end < len(text) && !utf8.RuneStart(text[end]) {
		end++
	}
	out := text[start:end]
	if start > 0 {
		out = "…" + out
	}
	if end < len(text) {
		out += "…"
	}
	return out
}
