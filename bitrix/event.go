package bitrix

import (
	"context"
	"errors"
	"strings"
)

// Events crmsync serve is woken by (docs/api-notes.md, "Events and outbound
// webhooks"): a deal changed in the portal (stage, fields) and a comment
// written on a timeline, by any user.
const (
	EventDealUpdate         = "ONCRMDEALUPDATE"
	EventLeadUpdate         = "ONCRMLEADUPDATE"
	EventTimelineCommentAdd = "ONCRMTIMELINECOMMENTADD"
)

// CodeWrongAuthType refuses a method the caller's kind of authorisation may
// not call (an inbound webhook calling an application-only method).
const CodeWrongAuthType = "WRONG_AUTH_TYPE"

// descAlreadyBound is how the portal words a second event.bind of the same
// event and handler (ERROR_CORE; UNCONFIRMED, docs/api-notes.md).
const descAlreadyBound = "Handler already binded"

// EventHandler is one handler event.get lists.
type EventHandler struct {
	Event   string `json:"event"`
	Handler string `json:"handler"`
	// AuthType is the user the handler runs as; 0: the user who acted.
	AuthType ID `json:"auth_type"`
}

// NeedsApplication reports the portal's refusal of a method that works only
// in an application's (OAuth) context, as event.bind, event.get and
// event.unbind do for an inbound webhook: 403 WRONG_AUTH_TYPE. Handlers then
// come from an outbound webhook made in the portal's Developer resources.
func NeedsApplication(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && strings.EqualFold(strings.TrimSpace(ae.Code), CodeWrongAuthType)
}

// EventHandlers lists the handlers bound by this application (event.get).
func (c *Client) EventHandlers(ctx context.Context) ([]EventHandler, error) {
	cmd := Cmd{Method: "event.get", Params: map[string]any{}}
	return runAs(ctx, c, cmd, listOf[EventHandler](cmd.Method))
}

// BindEvent binds handler to event (event.bind). A handler already bound is
// no error: binding is what the caller wanted.
func (c *Client) BindEvent(ctx context.Context, event, handler string) error {
	resp, err := c.Call(ctx, "event.bind", map[string]any{"event": event, "handler": handler}, nil)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && strings.Contains(ae.Description, descAlreadyBound) {
			return nil
		}
		return err
	}
	return DecodeTrue("event.bind", resp.Result)
}

// UnbindEvent removes handler from event (event.unbind) and returns how
// many bindings went.
func (c *Client) UnbindEvent(ctx context.Context, event, handler string) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	if _, err := c.Call(ctx, "event.unbind", map[string]any{"event": event, "handler": handler}, &out); err != nil {
		return 0, err
	}
	return out.Count, nil
}
