package bitrix

import "encoding/json"

// UnmarshalJSONForTest fills a Record from text.
func (r *Record) UnmarshalJSONForTest(s string) error { return json.Unmarshal([]byte(s), r) }
