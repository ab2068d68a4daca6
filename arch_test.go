// Package provisiond_test checks the module's architecture rules: which
// packages may import which, and that every package says what it is for.
package provisiond_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const module = "provisiond"

// pkgs maps each package directory to its non-test Go files' imports.
func pkgs(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if out[dir] == nil {
			out[dir] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[dir][p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportRules(t *testing.T) {
	for dir, imports := range pkgs(t) {
		for imp := range imports {
			internal := strings.HasPrefix(imp, module+"/")
			rel := strings.TrimPrefix(imp, module+"/")
			switch {
			case dir == "expr" && internal:
				t.Errorf("expr imports %s: expr must import nothing of the module", imp)
			case strings.HasPrefix(dir, "connector/") && internal &&
				(rel == "store" || strings.HasPrefix(rel, "store/") || rel == "engine" ||
					(strings.HasPrefix(rel, "connector/") && connectorOf(rel) != connectorOf(dir) && rel != "connector/connectortest")):
				t.Errorf("%s imports %s: connectors never import the store, the engine or another connector", dir, imp)
			case dir == "engine" && (imp == "net/http" || rel == "graphapi" || strings.HasPrefix(rel, "connector/") ||
				strings.HasPrefix(rel, "store/") || rel == "directory"):
				t.Errorf("engine imports %s: the engine imports no net/http, graphapi, concrete connector or store", imp)
			case !strings.HasPrefix(dir, "cmd/provisiond") && internal && (rel == "store/sqlstore" || rel == "connector/scim") &&
				!strings.HasPrefix(dir, rel) && !strings.HasPrefix(dir, "connector/scim"):
				t.Errorf("%s imports %s: only cmd/provisiond wires concrete backends", dir, imp)
			}
		}
	}
}

// connectorOf is the connector a package below connector/ belongs to
// ("connector/scim" for connector/scim/scimserver): a connector's own
// packages may import each other.
func connectorOf(dir string) string {
	parts := strings.SplitN(dir, "/", 3)
	return strings.Join(parts[:min(len(parts), 2)], "/")
}

func TestEveryPackageHasDocComment(t *testing.T) {
	for dir := range pkgs(t) {
		fset := token.NewFileSet()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		documented := false
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
				documented = true
			}
		}
		if !documented {
			t.Errorf("package %s has no package doc comment", dir)
		}
	}
}

func TestNoPackageNamedAfterStdlib(t *testing.T) {
	banned := map[string]bool{"sync": true, "http": true, "sql": true, "errors": true, "log": true, "util": true, "common": true, "utils": true}
	for dir := range pkgs(t) {
		if banned[filepath.Base(dir)] {
			t.Errorf("package %s is named after a stdlib package or is a grab-bag", dir)
		}
	}
}

// mdLink matches inline Markdown links and images: [text](target "title").
var mdLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)

// TestMarkdownLinksStayInside fails when a Markdown file links a file
// outside the repository or one that does not exist: the repository must
// stand alone. Web links (https:, http:, mailto:) and in-page anchors are
// not files and are not checked.
func TestMarkdownLinksStayInside(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.HasPrefix(target, "#") || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			abs := filepath.Join(filepath.Dir(filepath.Join(root, path)), filepath.FromSlash(target))
			checked++
			if rel, err := filepath.Rel(root, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				t.Errorf("%s links %s, outside the repository", path, m[1])
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s links %s, which does not exist", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Error("no Markdown links found: the README links the docs, so the check is not running")
	}
}
