package rules

import (
	"bytes"
	"fmt"
	"text/template"
	"text/template/parse"

	"github.com/crmsync/crmsync/bitrix"
)

// Text is a compiled rule text (a comment, a task title or description, a
// message, a workflow parameter).
//
// Rule texts escape every value they print (bitrix.EscapeMarkup), the way
// html/template escapes HTML: the template's own text, written by whoever
// configures crmsync, keeps its BBCode ([B], [URL=…]), while order data
// cannot add any. A text opts a value out explicitly with raw, as the last
// step of the action: {{raw .CustomerComment}} or {{.CustomerComment | raw}}.
type Text struct {
	t *template.Template
}

// Render executes the text over an order's data. A nil Text renders "".
func (t *Text) Render(d Data) (string, error) {
	if t == nil {
		return "", nil
	}
	var b bytes.Buffer
	if err := t.t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// CompileText compiles a text of the configuration outside the rules
// section (mapping.deal_title) exactly as rule texts are compiled: values
// escaped, a field rule texts do not have refused.
func CompileText(name, s string) (*Text, error) { return compileText(name, s) }

// compileText parses a rule text and runs it once against empty order
// data, so a misspelt field ({{.Numbr}}) is reported by check and refused
// at start instead of parking an order in the middle of the night.
func compileText(name, s string) (*Text, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(textFuncs()).Parse(s)
	if err != nil {
		return nil, err
	}
	escapeActions(t)
	if err := t.Execute(&bytes.Buffer{}, Data{}); err != nil {
		return nil, fmt.Errorf("%w (the fields rule texts can use are listed in docs/rules.md)", err)
	}
	return &Text{t: t}, nil
}

// escapeFunc is the name of the function appended to every printing
// action of a rule text.
const escapeFunc = "escape"

// rawText is a value raw marked as not to be escaped.
type rawText string

func textFuncs() template.FuncMap {
	return template.FuncMap{
		"raw": func(v any) rawText { return rawText(printed(v)) },
		escapeFunc: func(v any) string {
			if r, ok := v.(rawText); ok {
				return string(r)
			}
			return bitrix.EscapeMarkup(printed(v))
		},
	}
}

// printed is a value as a template prints it.
func printed(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case rawText:
		return string(x)
	}
	return fmt.Sprint(v)
}

// escapeActions appends escape to the pipeline of every action that prints
// (not to assignments), in every template of t's set.
func escapeActions(t *template.Template) {
	for _, tt := range t.Templates() {
		if tt.Tree != nil && tt.Tree.Root != nil {
			escapeList(tt.Tree.Root)
		}
	}
}

func escapeList(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			if n.Pipe != nil && len(n.Pipe.Decl) == 0 {
				id := parse.NewIdentifier(escapeFunc).SetTree(nil).SetPos(n.Pos)
				n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{id}})
			}
		case *parse.IfNode:
			escapeList(n.List)
			escapeList(n.ElseList)
		case *parse.RangeNode:
			escapeList(n.List)
			escapeList(n.ElseList)
		case *parse.WithNode:
			escapeList(n.List)
			escapeList(n.ElseList)
		}
	}
}

// Data is what rule texts can use ({{.Number}}, {{.StatusName}}, …).
// docs/rules.md documents every field: a field added
// here is added there too, since texts naming a field that does not exist
// are refused at start.
type Data struct {
	ID              int64  // RetailCRM order id
	Number          string // order number, e.g. 1042A
	Site            string // store code
	Status          string // status code after the event
	StatusName      string // its name from the statuses reference
	StatusGroup     string // its group code
	OldStatus       string // status code before a status change ("" otherwise)
	OldStatusName   string
	StatusComment   string
	Method          string // order method code
	Amount          string // total, two decimals
	Total           string // the same as Amount
	Currency        string
	CustomerName    string // first and last name
	FirstName       string
	LastName        string
	Email           string
	Phone           string
	Delivery        string // delivery type code
	DeliveryName    string // its name from the delivery types reference
	Payment         string // payment type codes, comma separated
	PaymentName     string // their names from the payment types reference
	Paid            bool   // RetailCRM marks the order fully paid (fullPaidAt)
	PaidAt          string // when it became so, as RetailCRM gives it; "" when unpaid
	CustomerComment string
	ManagerComment  string
	ReturnedItems   string // returned items, comma separated (returned)
	OrderURL        string // the order in RetailCRM
	DealURL         string // the deal (or lead) in Bitrix24
	CustomerID      int64
	DealID          int64
	ContactID       int64
}
