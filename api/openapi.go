package api

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"sort"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"
)

// openapiFiles holds the API's contract, one file per area: 00-base.yaml
// has the document's head and the shared components; each other file adds
// its paths and components. They are merged into one document, served at
// /openapi.yaml; tests check that it covers every route, that responses
// match it, and that Redocly's recommended rules and a client generator
// take it as it is served.
//
//go:embed openapi/*.yaml
var openapiFiles embed.FS

// OpenAPI is the merged OpenAPI 3 document.
var OpenAPI = mustMergeOpenAPI()

func serveOpenAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/yaml", OpenAPI)
}

func mustMergeOpenAPI() []byte {
	doc, err := mergeOpenAPI(openapiFiles)
	if err != nil {
		panic(err)
	}
	return doc
}

// mergeOpenAPI merges the area files into the base document; a path or a
// component defined twice is an error. It works on YAML nodes, not maps,
// so that the document keeps the order it is written in — the base file's
// openapi, info, servers, …, paths, components, and each area's paths in
// the order its file gives them — which is the order people and client
// generators read it in.
func mergeOpenAPI(files fs.FS) ([]byte, error) {
	names, err := fs.Glob(files, "openapi/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names) // 00-base.yaml first
	var doc *yaml.Node
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, err
		}
		var file yaml.Node
		if err := yaml.Unmarshal(b, &file); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(file.Content) != 1 || file.Content[0].Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s: not a YAML mapping", name)
		}
		part := file.Content[0]
		if doc == nil {
			doc = part
			continue
		}
		if err := mergeSection(doc, part, name, "paths"); err != nil {
			return nil, err
		}
		comps := value(part, "components")
		if comps == nil {
			continue
		}
		docComps := value(doc, "components")
		if docComps == nil {
			return nil, fmt.Errorf("openapi: %s has components but %s has no components section", name, names[0])
		}
		for i := 0; i+1 < len(comps.Content); i += 2 {
			if err := mergeSection(docComps, comps, name, comps.Content[i].Value); err != nil {
				return nil, err
			}
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// mergeSection appends the entries of from's mapping key to into's,
// creating it at the end of into when into has none.
func mergeSection(into, from *yaml.Node, file, key string) error {
	src := value(from, key)
	if src == nil || len(src.Content) == 0 {
		return nil
	}
	if src.Kind != yaml.MappingNode {
		return fmt.Errorf("openapi: %s: %s is not a mapping", file, key)
	}
	dst := value(into, key)
	if dst == nil {
		dst = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		into.Content = append(into.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, dst)
	}
	for i := 0; i+1 < len(src.Content); i += 2 {
		if value(dst, src.Content[i].Value) != nil {
			return fmt.Errorf("openapi: %s defines %s %q again", file, key, src.Content[i].Value)
		}
		dst.Content = append(dst.Content, src.Content[i], src.Content[i+1])
	}
	return nil
}

// value is the value of key in mapping m, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
