package bitrix

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Timeline entity types of crm.timeline.comment.*.
const (
	TimelineDeal    = "deal"
	TimelineContact = "contact"
	TimelineLead    = "lead"
)

// TimelineCommentAddCmd builds crm.timeline.comment.add. The "fields" key
// must be lowercase (crm ≥ 23.100.0 rejects FIELDS).
func TimelineCommentAddCmd(entityType string, entityID ID, comment string) Cmd {
	return Cmd{Method: "crm.timeline.comment.add", Params: map[string]any{"fields": map[string]any{
		"ENTITY_ID": entityID, "ENTITY_TYPE": entityType, "COMMENT": comment}}}
}

// TimelineCommentAdd writes a comment and returns its id.
func (c *Client) TimelineCommentAdd(ctx context.Context, entityType string, entityID ID, comment string) (ID, error) {
	var id ID
	_, err := c.Run(ctx, TimelineCommentAddCmd(entityType, entityID, comment), &id)
	return id, err
}

// Comment is a crm.timeline.comment.list row.
type Comment struct {
	ID         ID
	EntityID   ID
	EntityType string
	Created    string
	Comment    string
	AuthorID   ID
}

// CommentKey is a timeline comment's text as crmsync compares it: every
// run of whitespace (line ends included) as one space, none at either end.
// A portal may store a comment with its whitespace changed (trimmed, \r\n
// as \n; see docs/api-notes.md), so the text crmsync sent and the text a
// list returns are only compared through CommentKey, by pull and push alike.
func CommentKey(text string) string { return strings.Join(strings.Fields(text), " ") }

// UnmarshalJSON reads ids as numbers or strings.
func (cm *Comment) UnmarshalJSON(b []byte) error {
	return fromRecord(b, cm, func(r Record) (Comment, error) {
		return Comment{ID: r.ID(), EntityID: r.IDField("ENTITY_ID"), EntityType: r.String("ENTITY_TYPE"),
			Created: r.String("CREATED"), Comment: r.String("COMMENT"), AuthorID: r.IDField("AUTHOR_ID")}, nil
	})
}

// TimelineCommentListCmd builds crm.timeline.comment.list for one entity
// (ENTITY_ID and ENTITY_TYPE are mandatory). Default order: newest first.
func TimelineCommentListCmd(entityType string, entityID ID, req ListRequest) Cmd {
	f := map[string]any{}
	for k, v := range req.Filter {
		f[k] = v
	}
	f["ENTITY_ID"], f["ENTITY_TYPE"] = entityID, entityType
	req.Filter = f
	if len(req.Order) == 0 {
		req.Order = map[string]string{"ID": "DESC"}
	}
	if len(req.Select) == 0 {
		req.Select = []string{"ID", "ENTITY_ID", "ENTITY_TYPE", "CREATED", "COMMENT", "AUTHOR_ID"}
	}
	return Cmd{Method: "crm.timeline.comment.list", Params: req.params("crm.timeline.comment.list")}
}

// TimelineCommentList reads one page of an entity's comments.
func (c *Client) TimelineCommentList(ctx context.Context, entityType string, entityID ID, req ListRequest) ([]Comment, *Response, error) {
	return runResult(ctx, c, TimelineCommentListCmd(entityType, entityID, req), DecodeComments)
}

// DecodeComments decodes a comment list.
func DecodeComments(raw json.RawMessage) ([]Comment, error) { return listOf[Comment]("comments")(raw) }

// TaskAddCmd builds tasks.task.add; TITLE and RESPONSIBLE_ID are required.
// Bind to CRM with "UF_CRM_TASK": []string{"D_10"}.
func TaskAddCmd(fields Fields) Cmd {
	return Cmd{Method: "tasks.task.add", Params: map[string]any{"fields": map[string]any(fields)}}
}

// TaskAdd creates a task and returns its id.
func (c *Client) TaskAdd(ctx context.Context, fields Fields) (ID, error) {
	return runAs(ctx, c, TaskAddCmd(fields), DecodeTaskID)
}

// DecodeTaskID reads result.task.id (a string).
func DecodeTaskID(raw json.RawMessage) (ID, error) {
	var wrap struct {
		Task struct {
			ID ID `json:"id"`
		} `json:"task"`
	}
	if err := json.Unmarshal(raw, &wrap); err != nil || wrap.Task.ID == 0 {
		return 0, fmt.Errorf("%w: tasks.task.add: no task id in %s", ErrBadResponse, truncate(string(raw), 60))
	}
	return wrap.Task.ID, nil
}

// TaskCRMBinding is the UF_CRM_TASK value binding a task to a deal.
func TaskCRMBinding(dealID ID) string { return "D_" + dealID.String() }

// NotifySystemAddCmd builds im.notify.system.add; extra may add TAG,
// SUB_TAG, MESSAGE_OUT, CLIENT_ID.
func NotifySystemAddCmd(userID ID, message string, extra Fields) Cmd {
	p := map[string]any{"USER_ID": userID, "MESSAGE": message}
	for k, v := range extra {
		p[k] = v
	}
	return Cmd{Method: "im.notify.system.add", Params: p}
}

// NotifySystemAdd sends a system notification and returns its id. A
// notification the portal did not create (result false) is an error.
func (c *Client) NotifySystemAdd(ctx context.Context, userID ID, message string, extra Fields) (ID, error) {
	return runAs(ctx, c, NotifySystemAddCmd(userID, message, extra), DecodeNotifyID)
}

// DecodeNotifyID reads the id of a notification; false means not created.
func DecodeNotifyID(raw json.RawMessage) (ID, error) {
	id, err := DecodeID(raw)
	if err != nil || id == 0 {
		return 0, &APIError{Method: "im.notify.system.add", Description: "notification not created"}
	}
	return id, nil
}

// Document ids of bizproc.workflow.start.
func DealDocumentID(id ID) []string {
	return []string{"crm", "CCrmDocumentDeal", "DEAL_" + id.String()}
}
func LeadDocumentID(id ID) []string {
	return []string{"crm", "CCrmDocumentLead", "LEAD_" + id.String()}
}
func ContactDocumentID(id ID) []string {
	return []string{"crm", "CCrmDocumentContact", "CONTACT_" + id.String()}
}

// WorkflowStartCmd builds bizproc.workflow.start.
func WorkflowStartCmd(templateID ID, documentID []string, parameters map[string]any) Cmd {
	p := map[string]any{"TEMPLATE_ID": templateID, "DOCUMENT_ID": documentID}
	if len(parameters) > 0 {
		p["PARAMETERS"] = parameters
	}
	return Cmd{Method: "bizproc.workflow.start", Params: p}
}

// WorkflowStart starts a workflow and returns its id (a string).
func (c *Client) WorkflowStart(ctx context.Context, templateID ID, documentID []string, parameters map[string]any) (string, error) {
	var id string
	resp, err := c.Run(ctx, WorkflowStartCmd(templateID, documentID, parameters), nil)
	if err != nil {
		return "", err
	}
	id = rawText(resp.Result)
	if id == "" || id == "false" {
		return "", &APIError{Method: "bizproc.workflow.start", Description: "no workflow id"}
	}
	return id, nil
}
