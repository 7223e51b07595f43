package sync

import (
	"fmt"
	"text/template"
	"text/template/parse"

	"github.com/crmsync/crmsync/bitrix"
)

// Rule texts escape every value they print (bitrix.EscapeMarkup), the way
// html/template escapes HTML: the template's own text, written by whoever
// configures crmsync, keeps its BBCode ([B], [URL=…]), while order data
// cannot add any. A text opts a value out explicitly with raw, as the last
// step of the action: {{raw .CustomerComment}} or {{.CustomerComment | raw}}.

// escapeFunc is the name of the function appended to every printing
// action of a rule text.
const escapeFunc = "escape"

// rawText is a value raw marked as not to be escaped.
type rawText string

var textFuncs = template.FuncMap{
	"raw": func(v any) rawText { return rawText(printed(v)) },
	escapeFunc: func(v any) string {
		if r, ok := v.(rawText); ok {
			return string(r)
		}
		return bitrix.EscapeMarkup(printed(v))
	},
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
