package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/sync/rules"
)

// readSections decodes mapping and rules straight from the YAML so that keys
// keep their case (viper folds them).
func readSections(root *yaml.Node, cfg *Config, p *Errors) {
	mapping := child(root, "mapping")
	cfg.Mapping.Statuses = stringMap(child(mapping, "statuses"), "mapping.statuses", p)
	if cfg.Mapping.Statuses == nil {
		cfg.Mapping.Statuses = DefaultStatuses()
	}
	cfg.Mapping.Stages = stringMap(child(mapping, "stages"), "mapping.stages", p)
	cfg.Mapping.OrderMethods = stringMap(child(mapping, "order_methods"), "mapping.order_methods", p)
	cfg.Mapping.DealFields = stringMap(child(mapping, "deal_fields"), "mapping.deal_fields", p)
	cfg.Mapping.ContactFields = stringMap(child(mapping, "contact_fields"), "mapping.contact_fields", p)
	cfg.Mapping.ProfileFields = stringMap(child(mapping, "profile_fields"), "mapping.profile_fields", p)
	var problems []*rules.Error
	cfg.Rules, problems = rules.Parse(child(root, "rules"))
	for _, e := range problems {
		p.add(e.Path, "%s", e.Detail())
	}
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
