package retailcrm

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// User is a RetailCRM user (a manager, an administrator) as GET
// /api/v5/users and /api/v5/users/{id} return it. Orders and customers name
// their manager by ID (managerId); history records of source "user" name
// the person behind the change (user.id). See docs/api-notes.md, "Users,
// corporate customers, merges and deletions".
type User struct {
	ID         int64       `json:"id"`
	CreatedAt  DateTime    `json:"createdAt"`
	Active     bool        `json:"active"`
	Email      string      `json:"email,omitempty"`
	FirstName  string      `json:"firstName,omitempty"`
	LastName   string      `json:"lastName,omitempty"`
	Patronymic string      `json:"patronymic,omitempty"`
	Position   string      `json:"position,omitempty"`
	Phone      string      `json:"phone,omitempty"`
	Status     string      `json:"status,omitempty"`
	Online     bool        `json:"online"`
	IsAdmin    bool        `json:"isAdmin"`
	IsManager  bool        `json:"isManager"`
	Groups     []UserGroup `json:"groups,omitempty"`
}

// UserGroup is a group a user belongs to ({id, name, code}).
type UserGroup struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
	Code string `json:"code,omitempty"`
}

// Name is the user's name as people write it: first, patronymic and last
// name that are set, or "" when the user has none.
func (u *User) Name() string {
	var parts []string
	for _, p := range []string{u.FirstName, u.Patronymic, u.LastName} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

// UsersFilter selects users for /api/v5/users. A nil flag sends no filter;
// the API takes the flags as 1 or 0.
type UsersFilter struct {
	Email     string
	Active    *bool
	IsManager *bool
	// Limit is 20, 50 or 100; 0 means 100.
	Limit int
	// Page is 1-based; 0 sends none (page 1).
	Page int
}

func (f UsersFilter) query() (url.Values, error) {
	q, err := IDsFilter{Limit: f.Limit, Page: f.Page}.query()
	if err != nil {
		return nil, err
	}
	if f.Email != "" {
		q.Set("filter[email]", f.Email)
	}
	for name, v := range map[string]*bool{"filter[active]": f.Active, "filter[isManager]": f.IsManager} {
		if v != nil {
			q.Set(name, numericBool(*v))
		}
	}
	return q, nil
}

func numericBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// UsersPage is one answer of /api/v5/users.
type UsersPage struct {
	Users      []User     `json:"users"`
	Pagination Pagination `json:"pagination"`
}

type usersResponse struct {
	envelope
	UsersPage
}

// Users reads one page of /api/v5/users.
func (c *Client) Users(ctx context.Context, f UsersFilter) (*UsersPage, error) {
	r, err := getPage[usersResponse](ctx, c, "/api/v5/users", f.query)
	if err != nil {
		return nil, err
	}
	return &r.UsersPage, nil
}

// AllUsers reads every page of /api/v5/users for f (Page is ignored), in
// the order the API lists them.
func (c *Client) AllUsers(ctx context.Context, f UsersFilter) ([]User, error) {
	return allPages(func(page int) ([]User, Pagination, error) {
		f.Page = page
		p, err := c.Users(ctx, f)
		if err != nil {
			return nil, Pagination{}, err
		}
		return p.Users, p.Pagination, nil
	})
}

type userResponse struct {
	envelope
	User *User `json:"user"`
}

// User reads one user by id. A user that does not exist is an APIError
// with HTTP 404 (ErrNotFound).
func (c *Client) User(ctx context.Context, id int64) (*User, error) {
	if id <= 0 {
		return nil, fmt.Errorf("retailcrm: user id %d", id)
	}
	path := "/api/v5/users/" + strconv.FormatInt(id, 10)
	var r userResponse
	if err := c.get(ctx, path, nil, &r); err != nil {
		return nil, err
	}
	if r.User == nil {
		return nil, &DecodeError{Endpoint: "GET " + path, HTTPStatus: 200, Err: errors.New("no user in answer")}
	}
	return r.User, nil
}
