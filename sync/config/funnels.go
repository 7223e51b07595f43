package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Funnel is one entry of the funnels section, or the top-level default
// (bitrix.category_id with mapping.statuses, mapping.stages and
// mapping.deleted_stage): the orders it takes and the deal funnel they go
// to, with that funnel's own status ↔ stage mapping (docs/configuration.md,
// "Several stores, several funnels").
type Funnel struct {
	// Sites, OrderTypes and Methods select the orders: an order matches
	// when each list that is not empty names its store, type or method.
	Sites      []string `yaml:"sites"`
	OrderTypes []string `yaml:"order_types"`
	Methods    []string `yaml:"methods"`
	CategoryID int      `yaml:"category_id"`
	// Statuses, Stages and DeletedStage read as mapping's keys of the same
	// names, with this funnel's stages.
	Statuses     map[string]string `yaml:"statuses"`
	Stages       map[string]string `yaml:"stages"`
	DeletedStage string            `yaml:"deleted_stage"`
	// Index is the entry's place in funnels; -1 for the top-level default.
	Index int `yaml:"-"`
}

// Path names the funnel in messages: funnels[i], or mapping for the
// top-level default.
func (f Funnel) Path() string {
	if f.Index < 0 {
		return "mapping"
	}
	return fmt.Sprintf("funnels[%d]", f.Index)
}

// Matches reports whether an order of that store, type and method goes to
// the funnel.
func (f Funnel) Matches(site, orderType, method string) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return in(f.Sites, site) && in(f.OrderTypes, orderType) && in(f.Methods, method)
}

// StageFor returns the funnel's stage for a RetailCRM status: the exact
// status code first, then its group.
func (f Funnel) StageFor(status, group string) (string, bool) {
	return stageFor(f.Statuses, status, group)
}

// StatusForStage returns the RetailCRM status a stage of the funnel maps
// back to (as Mapping.StatusForStage).
func (f Funnel) StatusForStage(stage string) (string, bool) {
	return statusForStage(f.Statuses, f.Stages, stage)
}

// DeletedStageOr is the funnel's stage for deals of deleted orders: its
// deleted_stage, else its group:cancel stage, else "".
func (f Funnel) DeletedStageOr() string {
	if f.DeletedStage != "" {
		return f.DeletedStage
	}
	s, _ := f.StageFor("", "cancel")
	return s
}

// DefaultFunnel is the top level: bitrix.category_id with the mapping
// section's statuses, stages and deleted_stage.
func (c *Config) DefaultFunnel() Funnel {
	return Funnel{CategoryID: c.Bitrix.CategoryID, Statuses: c.Mapping.Statuses, Stages: c.Mapping.Stages,
		DeletedStage: c.Mapping.DeletedStage, Index: -1}
}

// AllFunnels lists the funnels entries, then the top-level default.
func (c *Config) AllFunnels() []Funnel {
	return append(slices.Clone(c.Funnels), c.DefaultFunnel())
}

// FunnelFor returns the funnel of an order: the first entry of funnels that
// matches its store, type and method, else the top-level default. It is
// decided from the order alone, without asking Bitrix24.
func (c *Config) FunnelFor(site, orderType, method string) Funnel {
	for _, f := range c.Funnels {
		if f.Matches(site, orderType, method) {
			return f
		}
	}
	return c.DefaultFunnel()
}

// FunnelOfCategory returns the funnel that describes a deal standing in
// deal funnel category, of an order of store site: among the funnels with
// that category_id, the first that takes the store, else the first of
// them, else the top-level default. Push and deletions use it, where the
// deal's funnel is known and the order's type and method may not be.
func (c *Config) FunnelOfCategory(site string, category int) Funnel {
	var first *Funnel
	for _, f := range c.AllFunnels() {
		if f.CategoryID != category {
			continue
		}
		if len(f.Sites) == 0 || slices.Contains(f.Sites, site) {
			return f
		}
		if first == nil {
			first = &f
		}
	}
	if first != nil {
		return *first
	}
	return c.DefaultFunnel()
}

// StageCategory is the deal funnel a stage id belongs to: n for Cn:..., 0
// otherwise.
func StageCategory(stage string) int {
	if rest, ok := strings.CutPrefix(stage, "C"); ok {
		if n, _, ok := strings.Cut(rest, ":"); ok {
			if id, err := strconv.Atoi(n); err == nil && id >= 0 {
				return id
			}
		}
	}
	return 0
}

func stageFor(statuses map[string]string, status, group string) (string, bool) {
	if s, ok := statuses[status]; ok {
		return s, true
	}
	if group != "" {
		if s, ok := statuses["group:"+group]; ok {
			return s, true
		}
	}
	return "", false
}

func statusForStage(statuses, stages map[string]string, stage string) (string, bool) {
	if s, ok := stages[stage]; ok {
		return s, true
	}
	found := ""
	for _, status := range slices.Sorted(maps.Keys(statuses)) {
		if statuses[status] != stage || strings.HasPrefix(status, "group:") {
			continue
		}
		if found != "" {
			return "", false // ambiguous
		}
		found = status
	}
	return found, found != ""
}

// parseFunnels reads the funnels section from the file alone, as the
// mapping section: the statuses and stages keep their case.
func parseFunnels(n *yaml.Node, p *Errors) []Funnel {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.add("funnels", "must be a list of funnels, each with sites (or order_types, methods), category_id and statuses (line %d)", n.Line)
		return nil
	}
	keys := fieldsOf(reflect.TypeFor[Funnel]())
	var out []Funnel
	for i, item := range n.Content {
		path := fmt.Sprintf("funnels[%d]", i)
		if item.Kind != yaml.MappingNode {
			p.add(path, "must be a mapping with sites, category_id and statuses (line %d)", item.Line)
			continue
		}
		f := Funnel{Index: i}
		entry := reflect.ValueOf(&f).Elem()
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			key := path + "." + k.Value
			var raw any
			if v.Kind == yaml.ScalarNode || v.Kind == yaml.SequenceNode {
				if err := v.Decode(&raw); err != nil {
					p.add(key, "cannot be read (line %d)", v.Line)
					continue
				}
			}
			at := slices.IndexFunc(keys, func(fd field) bool { return fd.path == k.Value })
			if at < 0 {
				p.add(key, "unknown key; a funnel has %s", strings.Join(paths(keys), ", "))
				continue
			}
			// A key reads as a top-level key of its kind, under its own path.
			fd := field{path: key, kind: keys[at].kind}
			var val any
			if fd.kind == kStringMap {
				val = stringMap(v, key, p)
			} else {
				val = scalar(fd, raw, p)
			}
			entry.FieldByIndex(keys[at].index).Set(reflect.ValueOf(val))
		}
		out = append(out, f)
	}
	return out
}

// validateFunnels checks each funnels entry like the top-level mapping,
// against its own category_id, naming the entry in every problem.
func validateFunnels(c *Config, p *Errors) {
	if len(c.Funnels) > 0 && c.Bitrix.Entity == EntityLead {
		p.add("funnels", "leads have no funnels; remove funnels or use bitrix.entity: deal")
		return
	}
	for _, f := range c.Funnels {
		path := f.Path()
		if len(f.Sites)+len(f.OrderTypes)+len(f.Methods) == 0 {
			p.add(path, "matches every order, so the funnels after it and the top level would never be used; give sites (or order_types, methods)")
		}
		for _, list := range []struct {
			key    string
			values []string
		}{{"sites", f.Sites}, {"order_types", f.OrderTypes}, {"methods", f.Methods}} {
			for i, s := range list.values {
				key := fmt.Sprintf("%s.%s[%d]", path, list.key, i)
				switch {
				case strings.ContainsAny(s, " \t/?&"):
					p.add(key, "is not a RetailCRM code (no spaces, /, ? or &)")
				case list.key == "sites" && len(c.RetailCRM.Sites) > 0 && !slices.Contains(c.RetailCRM.Sites, s):
					p.add(key, "names a store retailcrm.sites leaves out, so no order of it is synced; add it there or remove it here")
				}
			}
		}
		if f.CategoryID < 0 {
			p.add(path+".category_id", "must be 0 (the default funnel) or a funnel id")
		}
		if len(f.Statuses) == 0 {
			p.add(path+".statuses", "must map RetailCRM statuses (or group:<code>) to stages of funnel %d, like mapping.statuses", f.CategoryID)
		}
		checkStage := func(key, stage string) {
			if !stagePattern.MatchString(stage) {
				p.add(key, "is not a Bitrix24 stage id (like C%d:NEW, or NEW in the default funnel)", f.CategoryID)
				return
			}
			if cat := StageCategory(stage); cat != f.CategoryID {
				want := "prefix it with C" + strconv.Itoa(f.CategoryID) + ":"
				if f.CategoryID == 0 {
					want = "the default funnel's stages have no prefix"
				}
				p.add(key, "stage %q belongs to funnel %d, but %s.category_id is %d; %s", stage, cat, path, f.CategoryID, want)
			}
		}
		checkStatusMap(path, f.Statuses, f.Stages, checkStage, p)
		if f.DeletedStage != "" {
			checkStage(path+".deleted_stage", f.DeletedStage)
		}
	}
	// A rule's stage action moves the deal within its funnel; a stage of a
	// funnel no order goes to would never apply.
	used := map[int]bool{}
	for _, f := range c.AllFunnels() {
		used[f.CategoryID] = true
	}
	if c.Bitrix.Entity == EntityDeal {
		for _, r := range c.Rules {
			for _, a := range r.Actions {
				if a.Stage == "" {
					continue
				}
				if cat := StageCategory(a.Stage); !used[cat] {
					p.add(fmt.Sprintf("rules[%d].do.stage", r.Index), "stage %q belongs to funnel %d, which neither bitrix.category_id nor funnels names", a.Stage, cat)
				}
			}
		}
	}
}

// checkStatusMap checks a statuses map and its stages map, with checkStage
// for the stage ids; section names them in problems.
func checkStatusMap(section string, statuses, stages map[string]string, checkStage func(key, stage string), p *Errors) {
	for _, code := range slices.Sorted(maps.Keys(statuses)) {
		key := section + ".statuses." + code
		if strings.HasPrefix(code, "group:") && strings.TrimPrefix(code, "group:") == "" {
			p.add(key, "a group entry needs the group code, like group:complete")
			continue
		}
		if strings.ContainsAny(code, " \t") {
			p.add(key, "is not a RetailCRM status code (no spaces)")
			continue
		}
		checkStage(key, statuses[code])
	}
	for _, stage := range slices.Sorted(maps.Keys(stages)) {
		key := section + ".stages." + stage
		checkStage(key, stage)
		status := stages[stage]
		switch {
		case status == "":
			p.add(key, "must name a RetailCRM status code")
		case strings.HasPrefix(status, "group:"):
			p.add(key, "must name one RetailCRM status, not a group")
		}
	}
}
