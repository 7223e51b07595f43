package bitrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ID is a Bitrix24 entity id. Legacy CRM methods send ids as strings ("37"),
// write methods and newer ones as numbers (394); "" and null mean no id (0).
type ID int64

// String returns the decimal form of id.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// UnmarshalJSON accepts a number, a numeric string, "" or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	n, err := parseLooseInt(b)
	if err != nil {
		return fmt.Errorf("bitrix: id %s: %w", truncate(string(b), 40), err)
	}
	*id = ID(n)
	return nil
}

// ParseID parses a decimal id; "" gives 0.
func ParseID(s string) (ID, error) {
	n, err := parseLooseInt([]byte(strconv.Quote(s)))
	return ID(n), err
}

// parseLooseInt decodes a JSON number or string holding an integer. Floats
// with a zero fraction ("12.0", 12.0) are accepted because some portals send
// them for ids; false/null/"" decode as 0.
func parseLooseInt(b []byte) (int64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" || string(b) == "false" {
		return 0, nil
	}
	s := string(b)
	if b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return 0, err
		}
		s = strings.TrimSpace(str)
		if s == "" {
			return 0, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("not an integer")
	}
	return int64(f), nil
}

// parseLooseFloat decodes a JSON number or numeric string; "" and null are 0.
func parseLooseFloat(b []byte) (float64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return 0, nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, nil
		}
	}
	return strconv.ParseFloat(s, 64)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
