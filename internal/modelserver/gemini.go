package modelserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The Gemini API, as Gemini CLI uses it: POST .../models/<model>:
// streamGenerateContent?alt=sse (the session) and :generateContent (side
// requests, such as its model router, which want JSON of a given schema);
// its shell tool is run_shell_command.

type geminiRequest struct {
	Contents []struct {
		Role  string `json:"role"`
		Parts []struct {
			Text             string          `json:"text"`
			FunctionResponse json.RawMessage `json:"functionResponse"`
		} `json:"parts"`
	} `json:"contents"`
	Tools []struct {
		FunctionDeclarations []struct {
			Name string `json:"name"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	GenerationConfig struct {
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
	} `json:"generationConfig"`
}

func (s *Server) gemini(w http.ResponseWriter, r *http.Request, body []byte) {
	var req geminiRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var prompt strings.Builder
	turn := 0
	for _, c := range req.Contents {
		for _, p := range c.Parts {
			switch {
			case len(p.FunctionResponse) > 0:
				turn++
			case c.Role == "user" && turn == 0:
				prompt.WriteString(p.Text + "\n")
			}
		}
	}
	hasShell := false
	for _, t := range req.Tools {
		for _, f := range t.FunctionDeclarations {
			hasShell = hasShell || f.Name == "run_shell_command"
		}
	}
	var part map[string]any
	switch schema := firstNonEmpty(req.GenerationConfig.ResponseJSONSchema, req.GenerationConfig.ResponseSchema); {
	case len(schema) > 0 || req.GenerationConfig.ResponseMimeType == "application/json":
		// A side request wanting JSON: the smallest object of its schema.
		var sc map[string]any
		json.Unmarshal(schema, &sc)
		out, _ := json.Marshal(sample(sc))
		part = map[string]any{"text": string(out)}
	case !hasShell:
		part = map[string]any{"text": "Done."}
	default:
		st, err := s.planShell(prompt.String(), turn)
		if err != nil {
			fail(w, err)
			return
		}
		s.record(Request{API: "gemini", Path: r.URL.Path, Prompt: prompt.String(), Turn: turn})
		if st.done {
			part = map[string]any{"text": st.say}
		} else {
			part = map[string]any{"functionCall": map[string]any{"name": "run_shell_command",
				"args": map[string]any{"command": st.run, "description": "Run a step of the task"}}}
		}
	}
	resp := map[string]any{
		"candidates": []any{map[string]any{"index": 0, "finishReason": "STOP",
			"content": map[string]any{"role": "model", "parts": []any{part}}}},
		"usageMetadata": map[string]any{"promptTokenCount": 10, "candidatesTokenCount": 10, "totalTokenCount": 20},
		"modelVersion":  "scripted",
	}
	if !strings.Contains(r.URL.Path, ":streamGenerateContent") {
		writeJSON(w, resp)
		return
	}
	newSSE(w).event("", resp)
}

func firstNonEmpty(a, b json.RawMessage) json.RawMessage {
	if len(a) > 0 && string(a) != "null" {
		return a
	}
	return b
}

// sample returns the smallest value of a JSON schema (OpenAPI's upper-case
// types as well): every required property, with its enum's first value,
// its minimum, an empty string or list.
func sample(schema map[string]any) any {
	if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	switch t := strings.ToLower(fmt.Sprint(schema["type"])); t {
	case "object":
		out := map[string]any{}
		props, _ := schema["properties"].(map[string]any)
		for name, p := range props {
			if ps, ok := p.(map[string]any); ok {
				out[name] = sample(ps)
			}
		}
		return out
	case "array":
		return []any{}
	case "integer", "number":
		if m, ok := schema["minimum"].(float64); ok {
			return m
		}
		return 1
	case "boolean":
		return false
	}
	return "scripted"
}
