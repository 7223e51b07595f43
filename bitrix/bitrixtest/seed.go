package bitrixtest

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// SeedDeal stores a deal as if created in the portal and returns its id.
// Values may be any scalars; they are stored as legacy strings.
func (s *Server) SeedDeal(fields map[string]any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.data.add("deal", toParamMap(fields))
	return id
}

// SeedContact stores a contact; PHONE and EMAIL may be []string or rows.
func (s *Server) SeedContact(fields map[string]any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.data.add("contact", toParamMap(fields))
	return id
}

// SeedLead stores a lead.
func (s *Server) SeedLead(fields map[string]any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.data.add("lead", toParamMap(fields))
	return id
}

// SeedStage adds a directory entry: entityID DEAL_STAGE (funnel 0),
// DEAL_STAGE_n (funnel n, stage ids "Cn:..."), STATUS (lead) or SOURCE;
// semantics "", "S" or "F".
func (s *Server) SeedStage(entityID, statusID, name, semantics string, sort int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cat int64
	if rest, ok := strings.CutPrefix(entityID, "DEAL_STAGE_"); ok {
		cat, _ = strconv.ParseInt(rest, 10, 64)
	}
	if st := s.data.status(entityID, statusID); st != nil {
		st.Name, st.Semantics, st.Sort = name, semantics, sort
		return
	}
	s.data.addStatus(entityID, statusID, name, semantics, sort, cat)
}

// SeedCategory adds a deal funnel with stages Cn:NEW, Cn:PREPARATION,
// Cn:WON (S) and Cn:LOSE (F).
func (s *Server) SeedCategory(id int64, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.categories[id] = &Category{ID: id, Name: name, Sort: 200}
	ent := fmt.Sprintf("DEAL_STAGE_%d", id)
	for i, st := range []struct{ id, sem string }{{"NEW", ""}, {"PREPARATION", ""}, {"WON", "S"}, {"LOSE", "F"}} {
		sid := fmt.Sprintf("C%d:%s", id, st.id)
		if s.data.status(ent, sid) == nil {
			s.data.addStatus(ent, sid, st.id, st.sem, (i+1)*10, id)
		}
	}
}

// SeedUserField registers a user field (entityID CRM_DEAL, CRM_CONTACT,
// CRM_LEAD) so that updates of it are stored.
func (s *Server) SeedUserField(entityID, fieldName, userType string, multiple bool) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.addUserField(entityID, fieldName, userType, multiple)
}

func (d *store) addUserField(entityID, fieldName, userType string, multiple bool) int64 {
	d.nextUF++
	d.userFields = append(d.userFields, &UserField{ID: d.nextUF, EntityID: entityID, FieldName: fieldName, UserTypeID: userType, Multiple: multiple})
	return d.nextUF
}

// MoveDeal acts as a portal user moving a deal to a stage: the stage changes
// and a stage-history row is written.
func (s *Server) MoveDeal(id int64, stageID string, userID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.data.entities["deal"].rows[id]
	if !ok {
		return fmt.Errorf("bitrixtest: deal %d not found", id)
	}
	s.data.setStage(r, stageID, userID, false)
	s.emit("ONCRMDEALUPDATE", fieldsID(id))
	return nil
}

// AddComment acts as portal user authorID writing a timeline comment.
func (s *Server) AddComment(entityType string, entityID, authorID int64, text string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.addComment(strings.ToLower(entityType), entityID, authorID, text)
}

func (d *store) addComment(entityType string, entityID, authorID int64, text string) int64 {
	c := &CommentRow{ID: d.newID(), EntityType: entityType, EntityID: entityID, AuthorID: authorID,
		Comment: storedComment(text), Created: d.s.clock.Now()}
	d.comments = append(d.comments, c)
	k, _ := eqKey(newOperand(strconv.FormatInt(entityID, 10)))
	d.byEntity[k] = append(d.byEntity[k], c)
	if t := d.entities[entityType]; !d.s.opts.CommentsLeaveActivity && t != nil && t.rows[entityID] != nil {
		touchActivity(t.rows[entityID], d.nowString(), authorID)
	}
	d.s.emit("ONCRMTIMELINECOMMENTADD", url.Values{"data[ID]": {strconv.FormatInt(c.ID, 10)}})
	return c.ID
}

// storedComment is a comment's text as the fake stores and lists it: line
// ends as \n and no whitespace at either end. A real portal may change a
// comment's whitespace like this (docs/api-notes.md), so a client must not
// find its own comments by comparing texts byte for byte.
func storedComment(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return strings.TrimSpace(strings.ReplaceAll(text, "\r", "\n"))
}

// toParamMap copies seed values, turning []string multifields into rows.
func toParamMap(fields map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range fields {
		if ss, ok := v.([]string); ok && isMultiField(k) {
			rows := make([]any, len(ss))
			for i, val := range ss {
				rows[i] = map[string]any{"VALUE": val, "VALUE_TYPE": "WORK"}
			}
			out[k] = rows
			continue
		}
		out[k] = v
	}
	return out
}

// Readers.

// Deal returns a copy of a stored deal.
func (s *Server) Deal(id int64) (Row, bool) { return s.row("deal", id) }

// Contact returns a copy of a stored contact.
func (s *Server) Contact(id int64) (Row, bool) { return s.row("contact", id) }

// Lead returns a copy of a stored lead.
func (s *Server) Lead(id int64) (Row, bool) { return s.row("lead", id) }

// Deals returns copies of all deals by id.
func (s *Server) Deals() []Row { return s.rows("deal") }

// Contacts returns copies of all contacts by id.
func (s *Server) Contacts() []Row { return s.rows("contact") }

// Leads returns copies of all leads by id.
func (s *Server) Leads() []Row { return s.rows("lead") }

func (s *Server) row(kind string, id int64) (Row, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.data.entities[kind].rows[id]
	if !ok {
		return Row{}, false
	}
	return r.clone(), true
}

func (s *Server) rows(kind string) []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.data.entities[kind]
	out := make([]Row, 0, len(t.rows))
	for _, id := range t.ids {
		out = append(out, t.rows[id].clone())
	}
	return out
}

// copies returns a copy of each row of *rows, read under the lock.
func copies[T any](s *Server, rows *[]*T) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]T, len(*rows))
	for i, r := range *rows {
		out[i] = *r
	}
	return out
}

// Comments returns every timeline comment in creation order.
func (s *Server) Comments() []CommentRow { return copies(s, &s.data.comments) }

// Tasks returns created tasks.
func (s *Server) Tasks() []TaskRow { return copies(s, &s.data.tasks) }

// Notifications returns sent notifications.
func (s *Server) Notifications() []NotifyRow { return copies(s, &s.data.notes) }

// Workflows returns started workflows.
func (s *Server) Workflows() []WorkflowRow { return copies(s, &s.data.workflows) }

// StageHistory returns the stage history rows in id order.
func (s *Server) StageHistory() []HistoryRow {
	out := copies(s, &s.data.history)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
