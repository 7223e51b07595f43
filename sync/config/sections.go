package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/sync/rules"
)

// node returns the value node at a dotted key path, or nil. A key may be
// written nested (retailcrm: {url: ...}) or with its dots
// (retailcrm.url: ...); the longest key written wins.
func node(root *yaml.Node, path string) *yaml.Node {
	parts := strings.Split(path, ".")
	for i := len(parts); i > 0; i-- {
		n := child(root, strings.Join(parts[:i], "."))
		switch {
		case n == nil:
		case i == len(parts):
			return n
		default:
			if n := node(n, strings.Join(parts[i:], ".")); n != nil {
				return n
			}
		}
	}
	return nil
}

// child returns the value node under key in a mapping node, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// stringMap decodes a mapping of scalars. An absent or null node yields nil;
// an explicit {} yields an empty, non-nil map.
func stringMap(n *yaml.Node, key string, p *Errors) map[string]string {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.add(key, "must be %s (line %d)", kStringMap, n.Line)
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := fmt.Sprintf("%s.%s", key, k.Value)
		if k.Kind != yaml.ScalarNode {
			p.add(key, "keys must be plain strings (line %d)", k.Line)
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			p.add(path, "must be a string value (line %d)", v.Line)
			continue
		}
		out[k.Value] = strings.TrimSpace(v.Value)
	}
	return out
}

// valueMaps decodes a mapping of mappings of scalars (mapping.values):
// each inner mapping goes through stringMap, so its keys keep their case
// and a value that is not a scalar is reported under its own key.
func valueMaps(n *yaml.Node, key string, p *Errors) map[string]map[string]string {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.add(key, "must be %s (line %d)", kValueMaps, n.Line)
		return nil
	}
	out := make(map[string]map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(key, "keys must be plain strings (line %d)", k.Line)
			continue
		}
		path := key + "." + k.Value
		if v.Kind != yaml.MappingNode {
			p.add(path, "must be a mapping of the order's values to Bitrix24 values (line %d)", v.Line)
			continue
		}
		if m := stringMap(v, path, p); m != nil {
			out[k.Value] = m
		}
	}
	return out
}

// parseRules reads the rules section with the rules package, which keeps
// its map keys' case and names each problem's key and line.
func parseRules(n *yaml.Node, p *Errors) []rules.Rule {
	out, problems := rules.Parse(n)
	for _, e := range problems {
		p.add(e.Path, "%s", e.Detail())
	}
	return out
}
