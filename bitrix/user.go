package bitrix

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
)

// Webhook scopes of user.get (docs/api-notes.md, "Users, companies,
// requisites"). user_brief shows no EMAIL, so matching managers by e-mail
// needs user or user_basic.
const (
	ScopeUser      = "user"
	ScopeUserBasic = "user_basic"
	ScopeUserBrief = "user_brief"
)

// userEmailScopes are the scopes under which user.get returns EMAIL.
var userEmailScopes = []string{ScopeUser, ScopeUserBasic}

// CanReadUserEmails reports whether a webhook with scopes (the scope
// method's answer) can match users by e-mail.
func CanReadUserEmails(scopes []string) bool {
	return slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(userEmailScopes, s) })
}

// User is a portal user as user.get returns it.
type User struct {
	ID       ID
	Email    string
	Name     string
	LastName string
	Active   bool
}

// FullName is "Name LastName", or what of it is there; "" when neither.
func (u User) FullName() string {
	return strings.TrimSpace(strings.TrimSpace(u.Name) + " " + strings.TrimSpace(u.LastName))
}

// UnmarshalJSON reads ID as a string or number and ACTIVE as true/false or
// "Y"/"N" (the docs' example shows a JSON boolean).
func (u *User) UnmarshalJSON(raw []byte) error {
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	*u = User{ID: r.ID(), Email: r.String("EMAIL"), Name: r.String(FieldName), LastName: r.String(FieldLastName),
		Active: r.Bool("ACTIVE")}
	return nil
}

// userSelect are the fields crmsync reads of a user.
func userSelect() []string { return []string{FieldID, "EMAIL", FieldName, FieldLastName, "ACTIVE"} }

// UsersCmd builds user.get: users matching filter (e.g. {"ACTIVE": true},
// {"@ID": [...]}), ID ascending, the page at start (pages of 50, a next in
// the answer while more follow). FILTER, SORT and ORDER are written as the
// docs' examples write them.
func UsersCmd(filter map[string]any, start int) Cmd {
	p := map[string]any{"SORT": FieldID, "ORDER": "ASC", "select": userSelect(), "start": max(start, 0)}
	if len(filter) > 0 {
		p["FILTER"] = filter
	}
	return Cmd{Method: "user.get", Params: p}
}

// UsersByIDCmd builds user.get of the given users.
func UsersByIDCmd(ids []ID) Cmd {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return UsersCmd(map[string]any{"@ID": s}, 0)
}

// UsersByEmailCmd builds user.get of the users with any of the e-mails.
// Whether the portal compares e-mails case-insensitively is not documented:
// compare the answer's EMAIL with NormalizeEmail yourself, or list every
// user (UsersCmd) and match locally.
func UsersByEmailCmd(emails []string) Cmd {
	return UsersCmd(map[string]any{"@EMAIL": slices.Clone(emails)}, 0)
}

// DecodeUsers decodes a user.get result.
func DecodeUsers(raw json.RawMessage) ([]User, error) { return listOf[User]("users")(raw) }

// Users reads every user matching filter, over as many pages as it takes.
func (c *Client) Users(ctx context.Context, filter map[string]any) ([]User, error) {
	return readPages(ctx, c, func(start int) Cmd { return UsersCmd(filter, start) }, decodeIn(UsersCmd(filter, 0).Method, DecodeUsers))
}

// UsersByEmail maps normalised e-mail → active user, from every active
// user of the portal. Two active users with one e-mail are left out: the
// match would be a guess.
func UsersByEmail(users []User) map[string]User {
	out := map[string]User{}
	dup := map[string]bool{}
	for _, u := range users {
		e := NormalizeEmail(u.Email)
		if e == "" || !u.Active {
			continue
		}
		if _, seen := out[e]; seen {
			dup[e] = true
		}
		out[e] = u
	}
	for e := range dup {
		delete(out, e)
	}
	return out
}
