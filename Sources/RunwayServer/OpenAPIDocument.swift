/// The controller's HTTP API as an OpenAPI 3.0 document, served at `GET /openapi.json`. The
/// tests run schemathesis against a live controller with it: every answer must match it.
public enum OpenAPIDocument {
    public static let json = #"""
{
  "openapi": "3.0.3",
  "info": {
    "title": "Runway controller API",
    "version": "1",
    "description": "Runner calls (task tokens) and the read API (the operator's API token). Who may call what is decided from the headers before a body is read; bodies beyond a path's limit get 413."
  },
  "components": {
    "securitySchemes": {
      "operatorToken": {"type": "http", "scheme": "bearer", "description": "The operator's API token (--api-token-file, or the state dir's api-token on loopback)."},
      "taskToken": {"type": "http", "scheme": "bearer", "description": "The task token of one attempt (RUNWAY_TASK_TOKEN)."}
    },
    "parameters": {
      "attemptID": {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}},
      "jobName": {"name": "name", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}}
    },
    "responses": {
      "Unauthorized": {"description": "No token, or not one that may make this call.", "content": {"text/plain": {"schema": {"type": "string"}}}},
      "TooLarge": {"description": "The body exceeds the path's limit.", "content": {"text/plain": {"schema": {"type": "string"}}}},
      "BadRequest": {"description": "A parameter or the body cannot be read.", "content": {"text/plain": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}},
      "Conflict": {"description": "The attempt is not in a state that takes this call.", "content": {"text/plain": {"schema": {"type": "string"}}}},
      "Unavailable": {"description": "No leader can take the call now, or the store cannot record it: retry (Retry-After).", "content": {"text/plain": {"schema": {"type": "string"}}}},
      "Redirect": {"description": "A standby names the leader (Location, Runway-Leader-URL)."},
      "NotFound": {"description": "No such job or path.", "content": {"text/plain": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}
    },
    "schemas": {
      "ClaimedJob": {
        "type": "object",
        "required": ["attemptID", "job", "generation", "attempt", "command", "environment", "heartbeatIntervalMilliseconds", "maxLogChunkBytes"],
        "properties": {
          "attemptID": {"type": "string"}, "job": {"type": "string"}, "generation": {"type": "string"}, "attempt": {"type": "integer"},
          "command": {"type": "array", "items": {"type": "string"}}, "workingDirectory": {"type": "string", "nullable": true},
          "environment": {"type": "object", "additionalProperties": {"type": "string"}},
          "heartbeatIntervalMilliseconds": {"type": "integer"}, "maxLogChunkBytes": {"type": "integer"}
        }
      },
      "CompletionReport": {
        "type": "object",
        "properties": {"exitCode": {"type": "integer", "format": "int32", "nullable": true}, "reason": {"type": "string", "nullable": true},
          "outputIncomplete": {"type": "string", "nullable": true, "description": "Set when part of the output never reached the controller: from which byte, and why."}}
      },
      "JobStatus": {
        "type": "object",
        "required": ["job", "generation", "profile", "state", "attempts", "createdAt", "updatedAt"],
        "properties": {
          "job": {"type": "string"}, "generation": {"type": "string"}, "profile": {"type": "string"},
          "state": {"type": "string", "enum": ["pending", "held", "running", "succeeded", "failed", "cancelled", "blocked", "scheduled"]},
          "attempts": {"type": "integer"}, "lastReason": {"type": "string"}, "exitCode": {"type": "integer"},
          "run": {"type": "integer", "minimum": 1}, "origin": {"type": "string"}, "compacted": {"type": "boolean"},
          "scheduledFor": {"type": "string", "format": "date-time"}, "scheduledAfter": {"type": "string", "format": "date-time"},
          "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"},
          "runningSince": {"type": "string", "format": "date-time"}, "nextAttemptAt": {"type": "string", "format": "date-time"},
          "heldSince": {"type": "string", "format": "date-time"}, "lastHeartbeatAt": {"type": "string", "format": "date-time"}
        }
      },
      "RequestBody": {
        "type": "object",
        "properties": {
          "requestId": {"type": "string", "nullable": true, "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"},
          "reason": {"type": "string", "nullable": true, "maxLength": 1024},
          "requestedBy": {"type": "string", "nullable": true, "maxLength": 256}
        }
      },
      "JobRequest": {
        "type": "object",
        "required": ["id", "job", "kind", "requestedBy", "requestedAt"],
        "properties": {
          "id": {"type": "string"}, "job": {"type": "string"}, "kind": {"type": "string", "enum": ["rerun", "cancel"]},
          "reason": {"type": "string"}, "requestedBy": {"type": "string"}, "requestedAt": {"type": "string"},
          "handledAt": {"type": "string"}, "outcome": {"type": "string"}
        }
      },
      "Profile": {
        "type": "object",
        "required": ["name", "plugin", "isDefault", "startTimeout", "tasks", "waiting", "jobs"],
        "properties": {
          "name": {"type": "string"}, "plugin": {"type": "string"}, "image": {"type": "string"}, "isDefault": {"type": "boolean"},
          "maxConcurrent": {"type": "integer"}, "startTimeout": {"type": "string"},
          "tasks": {"type": "object", "additionalProperties": {"type": "integer"}}, "waiting": {"type": "integer"},
          "jobs": {"type": "object", "additionalProperties": {"type": "integer"}},
          "environment": {"type": "object", "additionalProperties": {"type": "string"}},
          "secretEnvironment": {"type": "object", "additionalProperties": {"type": "string"}, "description": "By reference only, never a value."},
          "config": {}
        }
      },
      "JobDetail": {
        "type": "object",
        "required": ["records", "attempts", "events"],
        "properties": {
          "records": {"type": "array", "items": {"$ref": "#/components/schemas/JobStatus"}},
          "requests": {"type": "array", "items": {"$ref": "#/components/schemas/JobRequest"}},
          "attempts": {"type": "array", "items": {
            "type": "object", "required": ["id", "number", "generation", "task", "state", "requestedAt"],
            "properties": {
              "id": {"type": "string"}, "number": {"type": "integer"}, "generation": {"type": "string"}, "run": {"type": "integer"}, "task": {"type": "string"},
              "state": {"type": "string"}, "exitCode": {"type": "integer"}, "reason": {"type": "string"},
              "requestedAt": {"type": "string", "format": "date-time"}, "claimedAt": {"type": "string", "format": "date-time"},
              "completedAt": {"type": "string", "format": "date-time"}, "stoppedAt": {"type": "string", "format": "date-time"}
            }
          }},
          "events": {"type": "array", "items": {
            "type": "object", "required": ["at", "generation", "kind", "message"],
            "properties": {
              "at": {"type": "string", "format": "date-time"}, "generation": {"type": "string"}, "attempt": {"type": "integer"},
              "kind": {"type": "string"}, "message": {"type": "string"}
            }
          }}
        }
      }
    }
  },
  "paths": {
    "/v1/runner/claim": {
      "post": {
        "summary": "A runner takes the job its token was issued for (once; again with the same claim id).",
        "security": [{"taskToken": []}],
        "parameters": [{"name": "Runway-Claim-ID", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 128}}],
        "responses": {
          "200": {"description": "The job.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClaimedJob"}}}},
          "307": {"$ref": "#/components/responses/Redirect"}, "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/TooLarge"}, "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/v1/runner/attempts/{id}/heartbeat": {
      "post": {
        "summary": "A sign of life from the attempt's runner (a body of at most 4 KiB is ignored).",
        "security": [{"taskToken": []}],
        "parameters": [{"$ref": "#/components/parameters/attemptID"}],
        "responses": {
          "204": {"description": "Recorded."}, "307": {"$ref": "#/components/responses/Redirect"},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/TooLarge"}, "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/v1/runner/attempts/{id}/logs": {
      "post": {
        "summary": "Chunk seq of the attempt's output (in order; a repeat is acknowledged, a gap refused).",
        "security": [{"taskToken": []}],
        "parameters": [
          {"$ref": "#/components/parameters/attemptID"},
          {"name": "seq", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": 9223372036854775807, "format": "int64"}},
          {"name": "stream", "in": "query", "required": false, "schema": {"type": "string", "enum": ["stdout", "stderr"]}}
        ],
        "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary", "maxLength": 262144}}}},
        "responses": {
          "204": {"description": "Taken (Runway-Output-Capped: true once the attempt's output reached its cap)."},
          "307": {"$ref": "#/components/responses/Redirect"}, "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/TooLarge"}, "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/v1/runner/attempts/{id}/complete": {
      "post": {
        "summary": "The runner's final report (at most 64 KiB).",
        "security": [{"taskToken": []}],
        "parameters": [{"$ref": "#/components/parameters/attemptID"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CompletionReport"}}}},
        "responses": {
          "204": {"description": "Recorded (a repeat is acknowledged)."}, "307": {"$ref": "#/components/responses/Redirect"},
          "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
          "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/v1/jobs": {
      "get": {
        "summary": "The latest generation of every job.",
        "security": [{"operatorToken": []}],
        "responses": {
          "200": {"description": "Jobs by name.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/JobStatus"}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "413": {"$ref": "#/components/responses/TooLarge"}
        }
      }
    },
    "/v1/jobs/{name}": {
      "get": {
        "summary": "A job with every generation, attempt and event.",
        "security": [{"operatorToken": []}],
        "parameters": [{"$ref": "#/components/parameters/jobName"}],
        "responses": {
          "200": {"description": "The job.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobDetail"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"}
        }
      }
    },
    "/v1/jobs/{name}/logs": {
      "get": {
        "summary": "The output of the job's latest (or Nth) attempt, streamed; from an offset, or a byte range.",
        "security": [{"operatorToken": []}],
        "parameters": [
          {"$ref": "#/components/parameters/jobName"},
          {"name": "run", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "maximum": 9223372036854775807, "format": "int64"}},
          {"name": "attempt", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "maximum": 9223372036854775807, "format": "int64"}},
          {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "maximum": 9223372036854775807, "format": "int64"}},
          {"name": "Range", "in": "header", "required": false, "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "The log.", "content": {"text/plain": {"schema": {"type": "string"}}}},
          "206": {"description": "The range asked (Content-Range).", "content": {"text/plain": {"schema": {"type": "string"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"}, "416": {"description": "The range lies past the end (Content-Range: bytes */SIZE)."}
        }
      }
    },
\#(requestOperations)    "/v1/profiles": {
      "get": {
        "summary": "Every runner profile in force: plugin, image, default, maxConcurrent, live tasks by state, waiting jobs.",
        "security": [{"operatorToken": []}],
        "responses": {
          "200": {"description": "Profiles by name.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Profile"}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"description": "The manifests have not loaded yet.", "content": {"application/json": {"schema": {"type": "object"}}}}
        }
      }
    },
    "/v1/profiles/{name}": {
      "get": {
        "summary": "One profile with its resolved settings (secrets by reference).",
        "security": [{"operatorToken": []}],
        "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}}],
        "responses": {
          "200": {"description": "The profile.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Profile"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"description": "The manifests have not loaded yet.", "content": {"application/json": {"schema": {"type": "object"}}}}
        }
      }
    },
    "/healthz": {
      "get": {"summary": "The process is alive.", "security": [],
        "responses": {"200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}, "413": {"$ref": "#/components/responses/TooLarge"}}}
    },
    "/readyz": {
      "get": {"summary": "Ready (valid manifests): leader or standby; else the number of errors and the first one's place and code.", "security": [],
        "responses": {
          "200": {"description": "Ready.", "content": {"text/plain": {"schema": {"type": "string"}}}},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"description": "Not ready, and why.", "content": {"text/plain": {"schema": {"type": "string"}}}}
        }}
    },
    "/metrics": {
      "get": {"summary": "Prometheus text (behind the operator's token with --metrics-require-token).", "security": [{}, {"operatorToken": []}],
        "responses": {
          "200": {"description": "Metrics.", "content": {"text/plain": {"schema": {"type": "string"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "413": {"$ref": "#/components/responses/TooLarge"}
        }}
    },
    "/openapi.json": {
      "get": {"summary": "This document.", "security": [],
        "responses": {"200": {"description": "OpenAPI 3.0.", "content": {"application/json": {"schema": {"type": "object"}}}}, "413": {"$ref": "#/components/responses/TooLarge"}}}
    }
  }
}
"""#

    /// `POST /v1/jobs/{name}/rerun` and `/cancel`: one shape, two summaries.
    static var requestOperations: String {
        [
            ("rerun", "Run the job's current generation once more, as a new run (taken up by the controller's next pass)."),
            ("cancel", "End the job's open run: its task is stopped, no retry follows (taken up by the controller's next pass)."),
        ].map { kind, summary in
            #"""
    "/v1/jobs/{name}/\#(kind)": {
      "post": {
        "summary": "\#(summary)",
        "security": [{"operatorToken": []}],
        "parameters": [{"$ref": "#/components/parameters/jobName"}, {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"}}],
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RequestBody"}}}},
        "responses": {
          "202": {"description": "The request as recorded (the first one under its id, with its outcome once taken up).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobRequest"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"description": "The request id was used for another job or kind.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"description": "The manifests have not loaded yet.", "content": {"application/json": {"schema": {"type": "object"}}}}
        }
      }
    },
"""#
        }.joined()
    }
}
