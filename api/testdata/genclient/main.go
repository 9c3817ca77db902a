// Command genclient is what an integrator writes against the Go client that
// oapi-codegen generates from the served /openapi.yaml (client.gen.go, made
// by TestGeneratedGoClientCallsTheAPI next to this file in a temporary
// module): it upserts a product and prints what the typed answer says.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
)

func main() {
	if err := run(os.Args[1], os.Getenv("REFUNDFLOW_KEY")); err != nil {
		fmt.Fprintln(os.Stderr, "genclient:", err)
		os.Exit(1)
	}
}

func run(server, key string) error {
	c, err := NewClientWithResponses(server, WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+key)
		return nil
	}))
	if err != nil {
		return err
	}
	lessons := 12
	resp, err := c.UpsertProductWithResponse(context.Background(), "generated-client-course", ProductInput{
		Type: RecordedCourse, Title: "Made by a generated client", LessonsTotal: &lessons,
	})
	if err != nil {
		return err
	}
	if resp.JSON201 == nil {
		return fmt.Errorf("answer %d, not 201 with a product: %s", resp.StatusCode(), resp.Body)
	}
	p := resp.JSON201
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"status": resp.StatusCode(), "id": p.Id, "type": p.Type, "title": p.Title, "lessons_total": p.LessonsTotal,
	})
}
