package api

import (
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
// /openapi.yaml; tests check that it covers every route and that
// responses match it.
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
// component defined twice is an error.
func mergeOpenAPI(files fs.FS) ([]byte, error) {
	names, err := fs.Glob(files, "openapi/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names) // 00-base.yaml first
	var doc map[string]any
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, err
		}
		var part map[string]any
		if err := yaml.Unmarshal(b, &part); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if doc == nil {
			doc = part
			continue
		}
		if err := mergeSection(doc, part, name, "paths"); err != nil {
			return nil, err
		}
		comps, _ := part["components"].(map[string]any)
		for section := range comps {
			docComps := doc["components"].(map[string]any)
			if err := mergeSection(docComps, comps, name, section); err != nil {
				return nil, err
			}
		}
	}
	return yaml.Marshal(doc)
}

func mergeSection(into, from map[string]any, file, key string) error {
	src, _ := from[key].(map[string]any)
	if len(src) == 0 {
		return nil
	}
	dst, _ := into[key].(map[string]any)
	if dst == nil {
		dst = map[string]any{}
		into[key] = dst
	}
	for k, v := range src {
		if _, dup := dst[k]; dup {
			return fmt.Errorf("openapi: %s defines %s %q again", file, key, k)
		}
		dst[k] = v
	}
	return nil
}
