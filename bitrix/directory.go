package bitrix

import (
	"context"
	"encoding/json"
)

// Status is a crm.status.list row (a stage, source, ...).
type Status struct {
	ID         ID     `json:"ID"`
	EntityID   string `json:"ENTITY_ID"`
	StatusID   string `json:"STATUS_ID"`
	Name       string `json:"NAME"`
	Sort       ID     `json:"SORT"`
	CategoryID ID     `json:"CATEGORY_ID"`
	// Semantics: "" in progress, "S" success, "F" failure.
	Semantics string `json:"SEMANTICS"`
}

// UnmarshalJSON reads the row loosely (SEMANTICS may be null, numbers strings).
func (s *Status) UnmarshalJSON(b []byte) error {
	return fromRecord(b, s, func(r Record) (Status, error) {
		return Status{ID: r.ID(), EntityID: r.String("ENTITY_ID"), StatusID: r.String("STATUS_ID"), Name: r.String("NAME"),
			Sort: r.IDField("SORT"), CategoryID: r.IDField("CATEGORY_ID"), Semantics: r.String("SEMANTICS")}, nil
	})
}

// DealStageEntityID is the crm.status ENTITY_ID of a deal funnel's stages.
func DealStageEntityID(categoryID ID) string {
	if categoryID == 0 {
		return "DEAL_STAGE"
	}
	return "DEAL_STAGE_" + categoryID.String()
}

// StatusListCmd builds crm.status.list.
func StatusListCmd(filter map[string]any) Cmd {
	p := map[string]any{}
	if len(filter) > 0 {
		p["filter"] = filter
	}
	p["order"] = map[string]string{"SORT": "ASC"}
	return Cmd{Method: "crm.status.list", Params: p}
}

// StatusList reads directory entries, e.g. {"ENTITY_ID": "DEAL_STAGE"}.
func (c *Client) StatusList(ctx context.Context, filter map[string]any) ([]Status, error) {
	cmd := StatusListCmd(filter)
	return runAs(ctx, c, cmd, listOf[Status](cmd.Method))
}

// Category is a funnel of crm.category.list.
type Category struct {
	ID           ID     `json:"id"`
	Name         string `json:"name"`
	Sort         ID     `json:"sort"`
	EntityTypeID ID     `json:"entityTypeId"`
	IsDefault    bool   `json:"-"`
}

// UnmarshalJSON reads isDefault as "Y"/"N" or a boolean.
func (c *Category) UnmarshalJSON(b []byte) error {
	return fromRecord(b, c, func(r Record) (Category, error) {
		return Category{ID: r.IDField("id"), Name: r.String("name"), Sort: r.IDField("sort"),
			EntityTypeID: r.IDField("entityTypeId"), IsDefault: r.Bool("isDefault")}, nil
	})
}

// CategoryListCmd builds crm.category.list.
func CategoryListCmd(entityTypeID int) Cmd {
	return Cmd{Method: "crm.category.list", Params: map[string]any{"entityTypeId": entityTypeID}}
}

// CategoryList reads the funnels of an entity type (2 = deals).
func (c *Client) CategoryList(ctx context.Context, entityTypeID int) ([]Category, error) {
	return runAs(ctx, c, CategoryListCmd(entityTypeID), DecodeCategories)
}

// DecodeCategories decodes {"categories": [...]}.
func DecodeCategories(raw json.RawMessage) ([]Category, error) {
	return listUnder[Category]("crm.category.list", "categories")(raw)
}

// UserField is a crm.deal.userfield.list row.
type UserField struct {
	ID         ID     `json:"ID"`
	EntityID   string `json:"ENTITY_ID"`
	FieldName  string `json:"FIELD_NAME"`
	UserTypeID string `json:"USER_TYPE_ID"`
	Multiple   bool   `json:"-"`
	Mandatory  bool   `json:"-"`
	Raw        Record `json:"-"`
}

// UnmarshalJSON reads the row loosely.
func (u *UserField) UnmarshalJSON(b []byte) error {
	return fromRecord(b, u, func(r Record) (UserField, error) {
		return UserField{ID: r.ID(), EntityID: r.String("ENTITY_ID"), FieldName: r.String("FIELD_NAME"),
			UserTypeID: r.String("USER_TYPE_ID"), Multiple: r.Bool("MULTIPLE"), Mandatory: r.Bool("MANDATORY"), Raw: r}, nil
	})
}

// DealUserFieldListCmd builds crm.deal.userfield.list.
func DealUserFieldListCmd(filter map[string]any) Cmd {
	p := map[string]any{}
	if len(filter) > 0 {
		p["filter"] = filter
	}
	return Cmd{Method: "crm.deal.userfield.list", Params: p}
}

// DealUserFieldList reads deal user fields, e.g. {"FIELD_NAME": "UF_CRM_X"}.
func (c *Client) DealUserFieldList(ctx context.Context, filter map[string]any) ([]UserField, error) {
	cmd := DealUserFieldListCmd(filter)
	return runAs(ctx, c, cmd, listOf[UserField](cmd.Method))
}

// DealUserFieldAddCmd builds crm.deal.userfield.add; FIELD_NAME gets the
// UF_CRM_ prefix from the portal.
func DealUserFieldAddCmd(fields Fields) Cmd {
	return Cmd{Method: "crm.deal.userfield.add", Params: map[string]any{"fields": map[string]any(fields)}}
}

// DealUserFieldAdd creates a deal user field (CRM administrators only).
func (c *Client) DealUserFieldAdd(ctx context.Context, fields Fields) (ID, error) {
	var id ID
	_, err := c.Run(ctx, DealUserFieldAddCmd(fields), &id)
	return id, err
}

// UserFieldAddCmd builds crm.<entity>.userfield.add for deals, contacts or
// leads; FIELD_NAME gets the UF_CRM_ prefix from the portal.
func UserFieldAddCmd(e Entity, fields Fields) Cmd {
	return Cmd{Method: "crm." + string(e) + ".userfield.add", Params: map[string]any{"fields": map[string]any(fields)}}
}

// UserFieldAdd creates a user field of a deal, contact or lead (CRM
// administrators only).
func (c *Client) UserFieldAdd(ctx context.Context, e Entity, fields Fields) (ID, error) {
	var id ID
	_, err := c.Run(ctx, UserFieldAddCmd(e, fields), &id)
	return id, err
}

// ScopeCmd builds scope.
func ScopeCmd() Cmd { return Cmd{Method: "scope", Params: map[string]any{}} }

// Scope lists the webhook's scopes.
func (c *Client) Scope(ctx context.Context) ([]string, error) {
	return runAs(ctx, c, ScopeCmd(), listOf[string]("scope"))
}
