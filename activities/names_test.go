package activities_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/refundflow/refundflow/activities"
)

// The workflows call activities by the names in package contract; the
// worker registers the methods of *activities.Activities, whose names are
// the method names. Every name must be a method, taking a context and one
// argument and returning a result or an error, and every such method must
// have its name.
func TestEveryActivityNameIsAMethodAndEveryMethodHasAName(t *testing.T) {
	names := contractNames(t)
	methods := reflect.TypeFor[*activities.Activities]()
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	for name, value := range names {
		if name != value {
			t.Errorf("contract.%s = %q: an activity's name is its method's name", name, value)
		}
		m, ok := methods.MethodByName(value)
		if !ok {
			t.Errorf("contract.%s: *activities.Activities has no method %s", name, value)
			continue
		}
		ft := m.Type // the receiver is the first argument
		if ft.NumIn() != 3 || ft.In(1) != ctxType || ft.NumOut() < 1 || ft.Out(ft.NumOut()-1) != errType {
			t.Errorf("activity %s has the signature %s, want func(context.Context, In) (Out, error)", value, ft)
		}
	}
	for i := range methods.NumMethod() {
		m := methods.Method(i)
		if m.Type.NumIn() > 1 && m.Type.In(1) == ctxType && !slices.Contains(valuesOf(names), m.Name) {
			t.Errorf("activity %s has no name in package contract", m.Name)
		}
	}
}

// contractNames reads the string constants of contract/names.go.
func contractNames(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "contract/names.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			for i, n := range v.Names {
				lit, ok := v.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("contract.%s is not a string literal", n.Name)
				}
				names[n.Name], _ = strconv.Unquote(lit.Value)
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("contract/names.go declares no names")
	}
	return names
}

func valuesOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
