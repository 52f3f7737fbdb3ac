package mtu

import (
	_ "embed"
	"encoding/json"
)

//go:generate go run ./internal/genv2tables -out v2tables.json

//go:embed v2tables.json
var v2tablesJSON []byte

// v2tables are HL7 v2 tables by number ("0085"): code → description.
var v2tables = func() map[string]map[string]string {
	var doc struct {
		Tables map[string]struct {
			Codes [][2]string `json:"codes"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(v2tablesJSON, &doc); err != nil {
		panic("mtu: v2tables.json: " + err.Error())
	}
	out := map[string]map[string]string{}
	for t, tb := range doc.Tables {
		m := map[string]string{}
		for _, c := range tb.Codes {
			m[c[0]] = c[1]
		}
		out[t] = m
	}
	return out
}()

// inTable reports whether code is in HL7 v2 table t.
func inTable(t, code string) bool {
	_, ok := v2tables[t][code]
	return ok
}
