"""The OpenAPI 3.1 description of the API, built here in Python so that it changes together with the views.

tests/webapp/test_openapi.py checks that every route under /api is described and nothing else is, and
tests/webapp/test_api_fuzz.py sends what this document allows to the real app.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from webapp.api.inputs import (
    DEFAULT_INSTANCES_PER_PAGE,
    DEFAULT_PER_PAGE,
    MAX_CODE_LENGTH,
    MAX_INSTANCES_PER_PAGE,
    MAX_JSON_DEPTH,
    MAX_PAGE,
    MAX_PER_PAGE,
    PROCESS_ID_RE,
)
from workflows.query_args import MAX_ID

API_VERSION = "1.0.0"

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }


_TEXT: Schema = {"type": "string"}
_INT: Schema = {"type": "integer"}
_ID: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_TIME: Schema = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC (ends in Z)"}
_PROCESS_ID: Schema = {"type": "string", "pattern": f"^{PROCESS_ID_RE.pattern}$"}
_ANY_OBJECT: Schema = {"type": "object", "additionalProperties": True}
_PROCESS_PATH: list[Schema] = [{"name": "process_id", "in": "path", "required": True, "schema": _PROCESS_ID}]

_TASK_SUMMARY: dict[str, Schema] = {
    "id": _ID,
    "name": _TEXT,
    "task_key": {**_TEXT, "description": "the BPMN element id of the user task"},
    "process_id": _TEXT,
    "process_name": _TEXT,
    "instance_id": _ID,
    "subject": _nullable(_ref("Ref")),
    "unit": _nullable(_ref("Ref")),
    "due": _nullable(_TIME),
    "overdue": {"type": "boolean"},
    "assignee_id": _nullable(_ID),
}

SCHEMAS: dict[str, Schema] = {
    "Problem": _object(
        {
            "field": {**_nullable(_TEXT), "description": "the field of the request it is about, if any"},
            "message": _TEXT,
            "file": {**_nullable(_TEXT), "description": "the uploaded file it is about, if any"},
            "line": _nullable(_INT),
            "column": {**_nullable(_INT), "description": "the column on that line, where a parser says it"},
            "element": {**_nullable(_TEXT), "description": "the BPMN/DMN element id, if any"},
        },
        optional=("file", "line", "column", "element"),
    ),
    "Error": _object(
        {"error": _TEXT, "status": _INT, "problems": {"type": "array", "items": _ref("Problem")}},
        optional=("problems",),
    ),
    "Ref": _object({"code": _TEXT, "name": _TEXT}),
    "Me": _object(
        {
            "id": _ID,
            "username": _TEXT,
            "full_name": _TEXT,
            "unit": _ref("Ref"),
            "cadre": {**_nullable(_ref("Ref")), "description": "the caller's own cadre record, if any"},
            "roles": {
                "type": "array",
                "items": _object({"role": _TEXT, "unit": {**_ref("Ref"), "description": "covers its subtree"}}),
            },
            "locale": _TEXT,
        }
    ),
    "TaskSummary": _object(_TASK_SUMMARY),
    "TaskListItem": _object(
        {
            **_TASK_SUMMARY,
            "reopened": {
                "type": "boolean",
                "description": "the step was done before in this case and is open again: returned for changes",
            },
        }
    ),
    "TaskList": _object(
        {
            "items": {"type": "array", "items": _ref("TaskListItem")},
            "total": _INT,
            "page": _INT,
            "per_page": _INT,
        }
    ),
    "Task": _object(
        {
            **_TASK_SUMMARY,
            "status": {"type": "string", "enum": ["open", "completed", "cancelled"]},
            "lane": _nullable(_TEXT),
            "candidate_role": _nullable(_TEXT),
            "process_version": _INT,
            "opened": _TIME,
            "closed": _nullable(_TIME),
            "can_act": {"type": "boolean", "description": "whether the caller may claim or complete it now"},
            "instructions": _nullable(_TEXT),
            "form_schema": {
                **_nullable(_ANY_OBJECT),
                "description": "the JSON Schema (draft 2020-12) the completion data must satisfy; null: no form",
            },
            "context": {**_ANY_OBJECT, "description": "the process data this task sees (read-only)"},
        }
    ),
    "Instance": _object(
        {
            "id": _ID,
            "reference": _TEXT,
            "process_id": _TEXT,
            "process_name": _TEXT,
            "version": _INT,
            "status": {"type": "string", "enum": ["running", "completed", "cancelled"]},
            "subject": _nullable(_ref("Ref")),
            "unit": _nullable(_ref("Ref")),
            "started_by": {**_nullable(_TEXT), "description": "username; null: started by the system"},
            "started": _TIME,
            "ended": _nullable(_TIME),
            "cancel_reason": _nullable(_TEXT),
        }
    ),
    "InstanceWithTasks": _object(
        {"instance": _ref("Instance"), "open_tasks": {"type": "array", "items": _ref("TaskSummary")}}
    ),
    "InstanceList": _object(
        {
            "items": {"type": "array", "items": _ref("InstanceWithTasks")},
            "total": {**_INT, "description": "how many instances match, on every page"},
            "page": _INT,
            "per_page": _INT,
            "next_page": {**_nullable(_INT), "description": "the page to ask for next; null on the last page"},
        }
    ),
    "StartInstance": {
        **_object(
            {
                "process": {**_PROCESS_ID, "description": "a deployed process id; its latest version starts"},
                "subject": {
                    **_nullable({"type": "string", "minLength": 1, "maxLength": 40}),
                    "description": "cadre code of the person it is about; absent or null: the caller's own record",
                },
                "unit": {
                    **_nullable({"type": "string", "minLength": 1, "maxLength": 40}),
                    "description": "org unit code; absent or null: the subject's unit, else the caller's",
                },
                "data": {**_ANY_OBJECT, "description": "initial process data (identifier keys)"},
            },
            optional=("subject", "unit", "data"),
        ),
        "additionalProperties": False,
    },
    "HistoryEvent": _object(
        {
            "seq": _INT,
            "type": _TEXT,
            "actor": {**_TEXT, "description": "username, or 'system'"},
            "time": _TIME,
            "task_id": _nullable(_INT),
            "payload": _ANY_OBJECT,
        }
    ),
    "InstanceData": _object(
        {
            "instance_id": _ID,
            "reference": _TEXT,
            "status": _TEXT,
            "data": {
                **_ANY_OBJECT,
                "description": "the procedure's data as the instance page shows it: merged across parallel branches, "
                "in the forms' order, the model's hidden bookkeeping keys (starting with _) left out",
            },
            "titles": {
                "type": "object",
                "additionalProperties": _TEXT,
                "description": "each key's title in the forms, in the request's language (keys no form names: none)",
            },
        }
    ),
    "History": _object(
        {
            "instance_id": _ID,
            "intact": {"type": "boolean", "description": "the instance's hash chain recomputes to its stored head"},
            "events": {"type": "array", "items": _ref("HistoryEvent")},
        }
    ),
    "Process": _object(
        {
            "process_id": _TEXT,
            "name": _TEXT,
            "version": {**_INT, "description": "the latest version, the one new instances start"},
            "versions": {"type": "array", "items": _INT},
            "deployed": _TIME,
            "withdrawn": {
                **_nullable(_TIME),
                "description": "when the procedure was withdrawn from use (nothing new starts), null while in use",
            },
        }
    ),
    "ProcessList": _object({"items": {"type": "array", "items": _ref("Process")}}),
    "Deployed": _object(
        {
            "deployed": {
                "type": "array",
                "items": _object(
                    {
                        "process_id": _TEXT,
                        "version": _INT,
                        "created": {"type": "boolean", "description": "false: identical content was already there"},
                    }
                ),
            }
        }
    ),
    "Rollback": {
        **_object(
            {
                "version": {**_ID, "description": "the earlier version whose content new instances start on again"},
                "reason": {**_TEXT, "description": "why (required; kept in the audit trail)"},
            }
        ),
        "additionalProperties": False,
    },
    "RolledBack": _object(
        {
            "process_id": _TEXT,
            "version": {**_INT, "description": "the new version, holding the earlier one's content"},
            "restored_version": _INT,
            "replaced_version": {**_INT, "description": "the version new instances started on until now"},
            "withdrawn": {"type": "boolean", "description": "the procedure stays withdrawn until reinstated"},
        }
    ),
    "Withdraw": {
        **_object({"reason": {**_TEXT, "description": "why nothing new may start (required; kept in the audit)"}}),
        "additionalProperties": False,
    },
    "Reinstate": {
        **_object({"reason": {**_TEXT, "description": "why it is put back in use (required; kept in the audit)"}}),
        "additionalProperties": False,
    },
    "InUse": _object(
        {
            "process_id": _TEXT,
            "version": {**_INT, "description": "the latest version, the one a start would use"},
            "withdrawn": {
                **_nullable(_TIME),
                "description": "when the procedure was withdrawn from use, null while in use",
            },
            "reason": {**_nullable(_TEXT), "description": "why it was withdrawn, null while in use"},
        }
    ),
    "ChainBreak": _object({"chain": _TEXT, "seq": _nullable(_INT), "event_id": _nullable(_INT), "reason": _TEXT}),
    "VerifyReport": _object(
        {
            "ok": {"type": "boolean"},
            "chains": _INT,
            "events": _INT,
            "breaks": {"type": "array", "items": _ref("ChainBreak")},
        }
    ),
}

_ERRORS = {
    401: "No valid bearer token (missing, unknown, revoked, or its user deactivated).",
    403: "The caller's roles do not allow this.",
    404: "No such object, or it is outside the caller's org scope (the two are not told apart).",
    409: "The object changed meanwhile: the task is no longer open, or someone else claimed it.",
    413: "The upload is larger than the server accepts (`MAX_CONTENT_LENGTH`, 20 MB unless configured).",
    422: "The request is not valid; `problems` lists every reason found.",
    500: (
        "A script of the procedure's model failed: nothing was changed, and the failure is shown to the "
        "administrators (the model must be fixed; sending the same request again fails the same way)."
    ),
}


def _error_response(status: int) -> Schema:
    response: Schema = {
        "description": _ERRORS[status],
        "content": {"application/json": {"schema": _ref("Error")}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": _TEXT, "description": 'Bearer realm="canbo"'}}
    return response


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _path_id(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


def _operation(
    operation_id: str,
    summary: str,
    tag: str,
    ok: tuple[int, Schema],
    errors: tuple[int, ...] = (),
    **extra: Any,
) -> Schema:
    status, response = ok
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        **extra,
        "responses": {
            str(status): response,
            **{str(code): _error_response(code) for code in (401, *errors)},
        },
    }


def _page_parameters(default: int, maximum: int) -> list[Schema]:
    return [
        {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        },
        {
            "name": "per_page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        },
    ]


def _task_query_parameters() -> list[Schema]:
    return [
        {
            "name": "scope",
            "in": "query",
            "description": "mine: assigned to the caller; group: unclaimed tasks of the caller's roles and units",
            "schema": {"type": "string", "enum": ["mine", "group"], "default": "mine"},
        },
        {"name": "process", "in": "query", "description": "only this process", "schema": _PROCESS_ID},
        {
            "name": "overdue",
            "in": "query",
            "description": "true: past their deadline only; false: not past it (or without one)",
            "schema": {"type": "boolean"},
        },
        *_page_parameters(DEFAULT_PER_PAGE, MAX_PER_PAGE),
    ]


_CODE: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_CODE_LENGTH}


def _instance_query_parameters() -> list[Schema]:
    return [
        {
            "name": "subject",
            "in": "query",
            "description": "the cadre code of the person it is about, exactly",
            "schema": _CODE,
        },
        {"name": "process", "in": "query", "description": "only this process", "schema": _PROCESS_ID},
        {
            "name": "status",
            "in": "query",
            "schema": {"type": "string", "enum": ["running", "completed", "cancelled"]},
        },
        {
            "name": "unit",
            "in": "query",
            "description": (
                "an org unit code among the caller's units (those the web list offers): that unit's and its "
                "sub-units' instances; any other code answers 422"
            ),
            "schema": _CODE,
        },
        *_page_parameters(DEFAULT_INSTANCES_PER_PAGE, MAX_INSTANCES_PER_PAGE),
    ]


def _paths() -> dict[str, Schema]:
    task_id = [_path_id("task_id")]
    instance_id = [_path_id("instance_id")]
    instance_with_tasks = _json(_ref("InstanceWithTasks"), "The instance and its open tasks.")
    return {
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": ["meta"],
                "security": [],
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
            }
        },
        "/api/v1/me": {"get": _operation("me", "The caller", "me", (200, _json(_ref("Me"), "The token's user.")))},
        "/api/v1/tasks": {
            "get": _operation(
                "list_tasks",
                "Open tasks in the caller's inbox, deadlines first",
                "tasks",
                (200, _json(_ref("TaskList"), "One page of tasks.")),
                (422,),
                parameters=_task_query_parameters(),
            )
        },
        "/api/v1/tasks/{task_id}": {
            "get": _operation(
                "show_task",
                "A task with its form schema, instructions and context",
                "tasks",
                (200, _json(_ref("Task"), "The task.")),
                (404,),
                parameters=task_id,
            )
        },
        "/api/v1/tasks/{task_id}/claim": {
            "post": _operation(
                "claim_task",
                "Take an unclaimed group task",
                "tasks",
                (200, _json(_ref("Task"), "The task, now assigned to the caller.")),
                (403, 404, 409),
                parameters=task_id,
            )
        },
        "/api/v1/tasks/{task_id}/reassign": {
            "post": _operation(
                "reassign_task",
                "Hand an open task to another person (personnel or administrators over the task's unit)",
                "tasks",
                (200, _json(_ref("Task"), "The task, now assigned to the person named.")),
                (403, 404, 409, 422),
                parameters=task_id,
                requestBody={
                    "required": True,
                    "description": (
                        "`assignee`: the username of the person who takes the task — active, holding the role the "
                        "step requires where it waits, not its holder nor the person the procedure is about; "
                        "`reason`: why (required, at most 500 characters), kept in the procedure's audit log. A "
                        "secret-ballot step and a step of the person the procedure is about are refused (422), "
                        "a closed task answers 409 (decision 0078)."
                    ),
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["assignee", "reason"],
                                "properties": {"assignee": _TEXT, "reason": _TEXT},
                                "additionalProperties": False,
                            }
                        }
                    },
                },
            )
        },
        "/api/v1/tasks/{task_id}/complete": {
            "post": _operation(
                "complete_task",
                "Complete a task with its form data",
                "tasks",
                (200, instance_with_tasks),
                (403, 404, 409, 422, 500),
                parameters=task_id,
                requestBody={
                    "required": True,
                    "description": (
                        "The form data: a JSON object checked against the task's `form_schema` "
                        f"(at most {MAX_JSON_DEPTH} levels deep, no NUL characters). Only the form's fields are "
                        "accepted (its properties, and in a table each row's columns): any other key answers 422 "
                        "naming it, and nothing is stored."
                    ),
                    "content": {"application/json": {"schema": _ANY_OBJECT}},
                },
            )
        },
        "/api/v1/processes": {
            "get": _operation(
                "list_processes",
                "Deployed processes with their version numbers",
                "processes",
                (200, _json(_ref("ProcessList"), "Every deployed process.")),
            ),
            "post": _operation(
                "deploy",
                "Deploy BPMN/DMN files and the JSON forms they name (administrators)",
                "processes",
                (201, _json(_ref("Deployed"), "What was deployed; nothing is stored unless all of it is valid.")),
                (403, 413, 422),
                requestBody={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "files": {
                                        "type": "array",
                                        "items": {"type": "string", "format": "binary"},
                                        "minItems": 1,
                                        "description": "at least one .bpmn file; .dmn files and .json form files",
                                    }
                                },
                                "required": ["files"],
                            }
                        }
                    },
                },
            ),
        },
        "/api/v1/processes/{process_id}/rollback": {
            "post": _operation(
                "roll_back",
                "Use an earlier version again: its content is deployed anew as the next version (administrators)",
                "processes",
                (201, _json(_ref("RolledBack"), "The new version; running instances stay on theirs.")),
                (403, 404, 409, 422),
                parameters=_PROCESS_PATH,
                requestBody={"required": True, "content": {"application/json": {"schema": _ref("Rollback")}}},
            )
        },
        "/api/v1/processes/{process_id}/withdraw": {
            "post": _operation(
                "withdraw",
                "Withdraw a procedure from use: nothing new starts from it; running instances go on (administrators)",
                "processes",
                (200, _json(_ref("InUse"), "The procedure, withdrawn.")),
                (403, 404, 409, 422),
                parameters=_PROCESS_PATH,
                requestBody={"required": True, "content": {"application/json": {"schema": _ref("Withdraw")}}},
            )
        },
        "/api/v1/processes/{process_id}/reinstate": {
            "post": _operation(
                "reinstate",
                "Put a withdrawn procedure back in use (administrators)",
                "processes",
                (200, _json(_ref("InUse"), "The procedure, in use again.")),
                (403, 404, 409, 422),
                parameters=_PROCESS_PATH,
                requestBody={"required": True, "content": {"application/json": {"schema": _ref("Reinstate")}}},
            )
        },
        "/api/v1/instances": {
            "get": _operation(
                "list_instances",
                "Instances in the caller's scope (the web list's), newest first, each with its open tasks",
                "instances",
                (200, _json(_ref("InstanceList"), "One page of instances.")),
                (422,),
                description=(
                    "Each item is what `GET /api/v1/instances/{instance_id}` answers. A query parameter not listed "
                    "here answers 422 naming it (a misspelt filter is not ignored)."
                ),
                parameters=_instance_query_parameters(),
            ),
            "post": _operation(
                "start_instance",
                "Start the latest version of a process",
                "instances",
                (201, {**instance_with_tasks, "headers": {"Location": {"schema": _TEXT}}}),
                (403, 422, 500),
                requestBody={"required": True, "content": {"application/json": {"schema": _ref("StartInstance")}}},
            ),
        },
        "/api/v1/instances/{instance_id}": {
            "get": _operation(
                "show_instance", "An instance", "instances", (200, instance_with_tasks), (404,), parameters=instance_id
            )
        },
        "/api/v1/instances/{instance_id}/data": {
            "get": _operation(
                "instance_data",
                "The instance's data (the process variables)",
                "instances",
                (200, _json(_ref("InstanceData"), "The data, with the forms' titles.")),
                (404,),
                parameters=instance_id,
            )
        },
        "/api/v1/instances/{instance_id}/history": {
            "get": _operation(
                "history",
                "The instance's audit events, and whether its hash chain is intact",
                "instances",
                (200, _json(_ref("History"), "The events, oldest first.")),
                (404,),
                parameters=instance_id,
            )
        },
        "/api/v1/instances/{instance_id}/diagram.svg": {
            "get": _operation(
                "diagram",
                "The process diagram with the instance's progress",
                "instances",
                (200, {"description": "An SVG image.", "content": {"image/svg+xml": {"schema": _TEXT}}}),
                (404,),
                parameters=instance_id,
            )
        },
        "/api/v1/audit/verify": {
            "get": _operation(
                "verify_audit",
                "Recompute every audit hash chain (auditors and administrators)",
                "audit",
                (200, _json(_ref("VerifyReport"), "The verification report.")),
                (403,),
            )
        },
    }


@cache
def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cán bộ API",
            "version": API_VERSION,
            "description": (
                "Personnel procedures as BPMN workflows. Authenticate with `Authorization: Bearer <token>` "
                "(`canbo users token USERNAME`); the session cookie of the web app is not accepted. Objects outside "
                "the caller's org scope answer 404, exactly like objects that do not exist. In a request body, a "
                "process id that is not deployed, or a cadre or unit code unknown or outside the caller's units, "
                "answers 422 naming the field; 403 means the caller's roles do not allow the action."
            ),
        },
        "security": [{"bearerAuth": []}],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
