package archtest

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gantry-go/gantry"

// row is one line of the package map.
type row struct {
	layer   int
	imports []string
}

// readMap parses the table of docs/ARCHITECTURE.md.
func readMap(t *testing.T, path string) map[string]row {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]row{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) != 6 || !strings.HasPrefix(strings.TrimSpace(cells[2]), "`") {
			continue
		}
		layer, err := strconv.Atoi(strings.TrimSpace(cells[1]))
		if err != nil {
			t.Fatalf("%s: layer %q of %s is not a number", path, cells[1], cells[2])
		}
		pkg := strings.Trim(strings.TrimSpace(cells[2]), "`")
		var imports []string
		for _, imp := range strings.Split(cells[3], ",") {
			if imp = strings.TrimSpace(imp); imp != "" {
				imports = append(imports, imp)
			}
		}
		slices.Sort(imports)
		if _, dup := rows[pkg]; dup {
			t.Errorf("%s lists %s twice", path, pkg)
		}
		rows[pkg] = row{layer, imports}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// realImports returns, for every package of the module under root, the
// gantry packages its non-test files import (over every build tag).
func realImports(t *testing.T, root string) map[string][]string {
	pkgs := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		imports := pkgs[pkg]
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if dep, ok := strings.CutPrefix(p, module+"/"); ok && !slices.Contains(imports, dep) {
				imports = append(imports, dep)
			}
		}
		slices.Sort(imports)
		pkgs[pkg] = imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func TestArchitectureMapMatchesImports(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(root, "docs", "ARCHITECTURE.md")
	want := readMap(t, doc)
	got := realImports(t, root)
	for pkg, imports := range got {
		r, ok := want[pkg]
		if !ok {
			t.Errorf("package %s is not in docs/ARCHITECTURE.md; add a row: | layer | `%s` | %s | why |", pkg, pkg, strings.Join(imports, ", "))
			continue
		}
		if !slices.Equal(r.imports, imports) {
			t.Errorf("docs/ARCHITECTURE.md says %s imports [%s]; it imports [%s]", pkg, strings.Join(r.imports, ", "), strings.Join(imports, ", "))
		}
		for _, dep := range imports {
			if d, ok := want[dep]; ok && r.layer < d.layer {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point down", pkg, want[pkg].layer, dep, d.layer)
			}
		}
	}
	for pkg := range want {
		if _, ok := got[pkg]; !ok {
			t.Errorf("docs/ARCHITECTURE.md lists %s, which is not a package of the module", pkg)
		}
	}
}
