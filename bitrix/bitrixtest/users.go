package bitrixtest

import (
	"slices"
	"strconv"
	"strings"
)

// UserRow is a portal user as user.get shows it.
type UserRow struct {
	ID       int64
	Email    string
	Name     string
	LastName string
	Active   bool
}

// userAllFields are the keys user.get answers under the user scope
// (user_get.json), in its order.
var userAllFields = []string{"ID", "ACTIVE", "NAME", "LAST_NAME", "SECOND_NAME", "EMAIL", "LAST_LOGIN", "DATE_REGISTER",
	"TIME_ZONE", "IS_ONLINE", "TIMESTAMP_X", "LAST_ACTIVITY_DATE", "PERSONAL_GENDER", "PERSONAL_WWW", "PERSONAL_BIRTHDAY",
	"PERSONAL_MOBILE", "PERSONAL_CITY", "WORK_PHONE", "WORK_POSITION", "UF_EMPLOYMENT_DATE", "UF_DEPARTMENT", "USER_TYPE"}

// userScopeHides are the fields of userAllFields a narrower scope does not
// show (user-scope.md): user_brief has no contact details, user_basic no
// login data.
var userScopeHides = map[string][]string{
	"user_brief": {"EMAIL", "LAST_LOGIN", "PERSONAL_WWW", "PERSONAL_MOBILE", "WORK_PHONE", "USER_TYPE"},
	"user_basic": {"LAST_LOGIN", "USER_TYPE"},
}

// userParamKeys are user.get's own parameters; any other top-level key is
// a filter condition, as the docs' first example passes UF_DEPARTMENT.
var userParamKeys = []string{"SORT", "ORDER", "FILTER", "ADMIN_MODE", "SELECT", "IMAGE_RESIZE", "START"}

func registerUserHandlers() {
	handlers["user.get"] = (*Server).userGet
}

// userScope is the widest user scope of the webhook: user, user_basic,
// user_brief, or "" when it has none.
func (s *Server) userScope() string {
	for _, sc := range []string{"user", "user_basic", "user_brief"} {
		if slices.Contains(s.opts.Scopes, sc) {
			return sc
		}
	}
	return ""
}

func userValues(u *UserRow) map[string]any {
	return map[string]any{"ID": strconv.FormatInt(u.ID, 10), "ACTIVE": u.Active, "NAME": u.Name, "LAST_NAME": u.LastName,
		"SECOND_NAME": "", "EMAIL": u.Email, "LAST_LOGIN": "", "DATE_REGISTER": "2024-07-15T00:00:00+00:00",
		"TIME_ZONE": "", "IS_ONLINE": "N", "TIMESTAMP_X": map[string]any{}, "LAST_ACTIVITY_DATE": map[string]any{},
		"PERSONAL_GENDER": "", "PERSONAL_WWW": "", "PERSONAL_BIRTHDAY": "", "PERSONAL_MOBILE": "", "PERSONAL_CITY": "",
		"WORK_PHONE": "", "WORK_POSITION": "", "UF_EMPLOYMENT_DATE": "", "UF_DEPARTMENT": []any{1}, "USER_TYPE": "employee"}
}

func userGetter(u *UserRow) getter {
	v := userValues(u)
	return func(f string) []string {
		if f == "ACTIVE" {
			return []string{yn(u.Active)}
		}
		return []string{Str(v[f])}
	}
}

// userGet lists users, ID ascending unless SORT/ORDER say otherwise, 50 a
// page. Under user_brief, conditions on EMAIL are dropped and EMAIL is not
// answered: the scope cannot see it (what the portal does with such a
// filter is not documented; the fake takes the reading that hurts a client
// trusting the filter). E-mails compare exactly as stored (case included:
// UNCONFIRMED either way, so a client matches on its own).
func (s *Server) userGet(p map[string]any) (*result, *apiErr) {
	scope := s.userScope()
	hidden := userScopeHides[scope]
	filter := map[string]any{}
	if fv, has := getCI(p, "FILTER"); has {
		filter = asMap(fv)
	} else {
		for k, v := range p {
			if !slices.Contains(userParamKeys, strings.ToUpper(k)) && k != orderKey {
				filter[k] = v
			}
		}
	}
	var active *bool
	conds := map[string]any{}
	for k, v := range filter {
		op, field := splitOp(k)
		if slices.Contains(hidden, field) {
			continue
		}
		if field == "ACTIVE" && op == "=" {
			b := truthy(v)
			active = &b
			continue
		}
		conds[k] = v
	}
	cs := compileFilter(conds)
	var rows []*UserRow
	for _, u := range s.data.users {
		if (active == nil || u.Active == *active) && cs.match(userGetter(u)) {
			rows = append(rows, u)
		}
	}
	order := map[string]any{}
	if sv, has := getCI(p, "SORT"); has && Str(sv) != "" {
		ov, _ := getCI(p, "ORDER")
		order[strings.ToUpper(Str(sv))] = strings.ToUpper(Str(ov))
	}
	sortRows(rows, order, userGetter)
	start, _ := getCI(p, "start")
	rows, res := page(rows, start)
	sel := selectParam(p)
	out := make([]any, len(rows))
	for i, u := range rows {
		v := userValues(u)
		row := map[string]any{}
		for _, f := range userAllFields {
			if slices.Contains(hidden, f) {
				continue
			}
			if len(sel) == 0 || slices.Contains(sel, "*") || slices.Contains(sel, f) {
				row[f] = v[f]
			}
		}
		out[i] = row
	}
	res.value = out
	return res, nil
}

// SeedUser stores a portal user and returns its id (11, 12, ... in seeding
// order; the webhook's own user also exists).
func (s *Server) SeedUser(u UserRow) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == 0 {
		s.data.nextUser++
		u.ID = s.data.nextUser
	}
	s.data.users = append(s.data.users, &u)
	slices.SortFunc(s.data.users, func(a, b *UserRow) int { return int(a.ID - b.ID) })
	return u.ID
}

// Users returns every user by id.
func (s *Server) Users() []UserRow { return copies(s, &s.data.users) }
