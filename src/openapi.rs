//! The API description: OpenAPI 3.1 at `/api/openapi.json`, generated from the route table
//! (`crate::app::api_table()`: method, path, access) joined with the descriptions below
//! (summary, tag, request and response schemas), and a browsable page at `/api/docs` served
//! from the vendored Swagger UI in `assets/docs/` (started by an external script, so the strict
//! CSP holds).
//!
//! Every registered route must have a description here; a test fails otherwise. Descriptions
//! of routes that are not registered are ignored, so the table may run ahead of the code.

mod schemas;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use rust_embed::RustEmbed;
use serde_json::{json, Map, Value};

use crate::auth::{Access, Permission};
use crate::http::routes::RouteSpec;
use crate::http::ApiError;

/// The docs page and the vendored UI, embedded in the binary.
#[derive(RustEmbed)]
#[folder = "assets/docs/"]
struct DocsAssets;

/// What the route table cannot say about a route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    pub method: &'static str,
    /// Path under `/api/v1`; parameter names may differ from the registered ones.
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub request: Option<&'static str>,
    pub response: Option<&'static str>,
    /// Success status.
    pub status: u16,
    /// Query parameters besides `limit` and `cursor` (added for list responses).
    pub query: &'static [&'static str],
    /// The request body may also be sent as this media type.
    pub alt_media: Option<&'static str>,
}

const fn d(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        tag,
        summary,
        request: None,
        response: None,
        status: 200,
        query: &[],
        alt_media: None,
    }
}

impl RouteDoc {
    const fn req(mut self, schema: &'static str) -> Self {
        self.request = Some(schema);
        self
    }
    const fn resp(mut self, schema: &'static str) -> Self {
        self.response = Some(schema);
        self
    }
    const fn created(mut self, schema: &'static str) -> Self {
        self.response = Some(schema);
        self.status = 201;
        self
    }
    const fn no_content(mut self) -> Self {
        self.status = 204;
        self
    }
    const fn accepted(mut self) -> Self {
        self.status = 202;
        self
    }
    const fn query(mut self, params: &'static [&'static str]) -> Self {
        self.query = params;
        self
    }
    const fn also(mut self, media: &'static str) -> Self {
        self.alt_media = Some(media);
        self
    }
}

/// The description of every `/api/v1` route of the spec.
pub const ROUTES: &[RouteDoc] = &[
    // Authentication and first run.
    d(
        "POST",
        "/auth/login",
        "auth",
        "Sign in with email and password",
    )
    .req("LoginRequest")
    .resp("TokenResponse"),
    d(
        "POST",
        "/auth/refresh",
        "auth",
        "Rotate a refresh token (body or lg_refresh cookie)",
    )
    .req("RefreshRequest")
    .resp("TokenResponse"),
    d(
        "POST",
        "/auth/logout",
        "auth",
        "Revoke the refresh token and the access token",
    )
    .req("RefreshRequest")
    .no_content(),
    d("GET", "/auth/me", "auth", "The signed-in user").resp("User"),
    d(
        "POST",
        "/auth/password",
        "auth",
        "Change the own password (revokes other sessions)",
    )
    .req("PasswordChange")
    .no_content(),
    d(
        "POST",
        "/auth/setup",
        "auth",
        "Create the first admin with the one-time setup token",
    )
    .req("SetupRequest")
    .created("TokenResponse"),
    d(
        "GET",
        "/auth/setup",
        "auth",
        "Whether first-run setup is still open",
    )
    .resp("Object"),
    d(
        "POST",
        "/setup",
        "auth",
        "Create the first admin with the one-time setup token",
    )
    .req("SetupRequest")
    .created("TokenResponse"),
    d(
        "GET",
        "/setup",
        "auth",
        "Whether first-run setup is still open",
    )
    .resp("Object"),
    // Users and API keys.
    d("GET", "/users", "users", "List users").resp("UserList"),
    d("POST", "/users", "users", "Create a user")
        .req("UserCreate")
        .created("User"),
    d("GET", "/users/{id}", "users", "One user").resp("User"),
    d(
        "PATCH",
        "/users/{id}",
        "users",
        "Change a user's name, role or disabled flag",
    )
    .req("UserUpdate")
    .resp("User"),
    d(
        "POST",
        "/users/{id}/unlock",
        "users",
        "Lift a login lockout",
    )
    .resp("User"),
    d("GET", "/api-keys", "api-keys", "List API keys").resp("ApiKeyList"),
    d(
        "POST",
        "/api-keys",
        "api-keys",
        "Create an API key (the secret is shown once)",
    )
    .req("ApiKeyCreate")
    .created("ApiKey"),
    d("DELETE", "/api-keys/{id}", "api-keys", "Revoke an API key").no_content(),
    // Transactions, labels, models.
    d(
        "POST",
        "/transactions",
        "transactions",
        "Score and store one transaction",
    )
    .req("TransactionInput")
    .created("ScoreResult"),
    d(
        "POST",
        "/transactions/batch",
        "transactions",
        "Score a batch (JSON array or NDJSON, up to 10 000)",
    )
    .req("TransactionBatch")
    .resp("BatchResult")
    .also("application/x-ndjson"),
    d(
        "POST",
        "/transactions/import",
        "transactions",
        "Import a CSV file (header row, columns named as the fields)",
    )
    .resp("BatchResult")
    .also("text/csv"),
    d(
        "GET",
        "/transactions",
        "transactions",
        "Search transactions",
    )
    .resp("TransactionList")
    .query(&[
        "account_id",
        "decision",
        "min_score",
        "kind",
        "from",
        "to",
        "q",
    ]),
    d(
        "GET",
        "/transactions/{id}",
        "transactions",
        "One transaction with its reasons",
    )
    .resp("Transaction"),
    d(
        "POST",
        "/labels",
        "transactions",
        "Report outcomes (fraud or legitimate) by external_id",
    )
    .req("LabelBatch")
    .resp("LabelResult")
    .also("application/x-ndjson"),
    d(
        "GET",
        "/models",
        "models",
        "Trained fraud models with holdout metrics",
    )
    .resp("ModelList"),
    d(
        "POST",
        "/models/train",
        "models",
        "Train a fraud model from labelled outcomes",
    )
    .created("Model"),
    // Rules and lists.
    d("GET", "/rules", "rules", "List rules").resp("RuleList"),
    d("POST", "/rules", "rules", "Create a rule (CEL expression)")
        .req("RuleInput")
        .created("Rule"),
    d("GET", "/rules/{id}", "rules", "One rule").resp("Rule"),
    d(
        "PATCH",
        "/rules/{id}",
        "rules",
        "Change a rule (makes a new version)",
    )
    .req("RuleInput")
    .resp("Rule"),
    d("DELETE", "/rules/{id}", "rules", "Delete a rule").no_content(),
    d("GET", "/rules/{id}/versions", "rules", "A rule's versions").resp("RuleVersionList"),
    d("POST", "/rules/validate", "rules", "Check a CEL expression")
        .req("ValidateInput")
        .resp("ValidateResult"),
    d(
        "POST",
        "/rules/backtest",
        "rules",
        "Run an expression over stored history",
    )
    .req("BacktestInput")
    .resp("BacktestResult"),
    d("GET", "/lists", "lists", "List block and allow lists").resp("ListList"),
    d("POST", "/lists", "lists", "Create a list")
        .req("ListInput")
        .created("List"),
    d("GET", "/lists/{id}", "lists", "One list with its items").resp("List"),
    d("DELETE", "/lists/{id}", "lists", "Delete a list").no_content(),
    d("GET", "/lists/{id}/items", "lists", "A list's items").resp("Object"),
    d(
        "POST",
        "/lists/{id}/items",
        "lists",
        "Add a value to a list",
    )
    .req("ListItemInput")
    .created("Object"),
    d(
        "DELETE",
        "/lists/{id}/items/{value}",
        "lists",
        "Remove a value from a list",
    )
    .no_content(),
    // Accounts and alerts.
    d("GET", "/accounts", "accounts", "List accounts")
        .resp("AccountList")
        .query(&["status", "q"]),
    d(
        "GET",
        "/accounts/{account_id}",
        "accounts",
        "An account with stats, recent transactions and alerts",
    )
    .resp("Object"),
    d(
        "POST",
        "/accounts/{account_id}/freeze",
        "accounts",
        "Freeze an account",
    )
    .req("FreezeInput")
    .resp("Account"),
    d(
        "POST",
        "/accounts/{account_id}/unfreeze",
        "accounts",
        "Unfreeze an account",
    )
    .req("FreezeInput")
    .resp("Account"),
    d(
        "GET",
        "/alerts",
        "alerts",
        "The alert queue (highest severity, then oldest, first)",
    )
    .resp("AlertList")
    .query(&["status", "severity", "assignee", "account_id", "type"]),
    d(
        "GET",
        "/alerts/{id}",
        "alerts",
        "An alert with its transaction, account, comments and history",
    )
    .resp("AlertDetail"),
    d(
        "PATCH",
        "/alerts/{id}",
        "alerts",
        "Change an alert's status or assignee",
    )
    .req("AlertUpdate")
    .resp("Alert"),
    d(
        "POST",
        "/alerts/{id}/comments",
        "alerts",
        "Comment on an alert",
    )
    .req("CommentInput")
    .created("Object"),
    d(
        "POST",
        "/alerts/{id}/resolve",
        "alerts",
        "Resolve an alert with an outcome (labels the transaction)",
    )
    .req("ResolveInput")
    .resp("Alert"),
    // Expenses, budgets, categorisation, message analysis.
    d(
        "POST",
        "/expenses",
        "expenses",
        "Score and store an expense claim",
    )
    .req("TransactionInput")
    .created("ScoreResult"),
    d("GET", "/expenses", "expenses", "List expenses")
        .resp("ExpenseList")
        .query(&["submitted_by", "department", "category", "from", "to"]),
    d(
        "GET",
        "/expenses/summary",
        "expenses",
        "Spending grouped by category or department",
    )
    .resp("ExpenseSummary")
    .query(&["from", "to", "group_by"]),
    d(
        "POST",
        "/categorize",
        "expenses",
        "Suggest a category for a description",
    )
    .req("CategorizeInput")
    .resp("CategorizeResult"),
    d(
        "POST",
        "/categorize/corrections",
        "expenses",
        "Record an analyst's category correction; the categoriser learns from it",
    )
    .req("CorrectionInput")
    .created("Correction"),
    d("GET", "/budgets", "budgets", "List budgets").resp("BudgetList"),
    d("POST", "/budgets", "budgets", "Create a budget")
        .req("BudgetInput")
        .created("Budget"),
    d(
        "GET",
        "/budgets/{id}",
        "budgets",
        "A budget with spent, remaining and projected",
    )
    .resp("Budget"),
    d("PATCH", "/budgets/{id}", "budgets", "Change a budget")
        .req("BudgetInput")
        .resp("Budget"),
    d("DELETE", "/budgets/{id}", "budgets", "Delete a budget").no_content(),
    d(
        "POST",
        "/analyze",
        "analyze",
        "Classify a message as scam, suspicious or clean",
    )
    .req("AnalyzeInput")
    .resp("AnalyzeResult"),
    // Live dashboard and notifications.
    d("GET", "/stats/overview", "stats", "Dashboard KPIs").resp("StatsOverview"),
    d("GET", "/stats/timeseries", "stats", "A metric over time")
        .resp("Timeseries")
        .query(&["metric", "interval", "from", "to"]),
    d(
        "GET",
        "/events",
        "events",
        "Server-Sent Events stream (Bearer header or ?ticket=)",
    )
    .query(&["ticket"]),
    d(
        "POST",
        "/events/ticket",
        "events",
        "A single-use ticket for EventSource (valid 30 s)",
    )
    .created("EventTicket"),
    d("GET", "/webhooks", "webhooks", "List webhooks").resp("WebhookList"),
    d(
        "POST",
        "/webhooks",
        "webhooks",
        "Create a webhook (the answer holds its signing secret)",
    )
    .req("WebhookInput")
    .created("Webhook"),
    d("GET", "/webhooks/{id}", "webhooks", "One webhook").resp("Webhook"),
    d("DELETE", "/webhooks/{id}", "webhooks", "Delete a webhook").no_content(),
    d(
        "POST",
        "/webhooks/{id}/test",
        "webhooks",
        "Send a test event",
    )
    .accepted(),
    d(
        "GET",
        "/webhooks/{id}/deliveries",
        "webhooks",
        "Deliveries with their attempts",
    )
    .resp("DeliveryList"),
    d(
        "POST",
        "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        "webhooks",
        "Send a delivery again",
    )
    .accepted(),
    // Administration.
    d("GET", "/audit", "admin", "The audit trail, newest first")
        .resp("AuditList")
        .query(&[
            "action",
            "actor_id",
            "target_type",
            "target_id",
            "from",
            "to",
        ]),
    d(
        "GET",
        "/config",
        "admin",
        "The effective configuration, secrets redacted",
    )
    .resp("Config"),
    d("GET", "/backups", "backups", "List backups, newest first").resp("BackupList"),
    d("POST", "/backups", "backups", "Take a verified backup now").created("Backup"),
    d(
        "GET",
        "/backups/{name}",
        "backups",
        "Download a backup file (audited)",
    ),
];

/// `/alerts/{id}` and `/alerts/{alert_id}` describe the same route.
fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    out.push_str("{}");
                }
            }
            '}' => depth -= 1,
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// The description of a registered route, if there is one.
pub fn describe(spec: &RouteSpec) -> Option<&'static RouteDoc> {
    let wanted = shape(spec.path);
    ROUTES
        .iter()
        .find(|d| d.method == spec.method.as_str() && shape(d.path) == wanted)
}

/// Registered routes that have no description (`METHOD /path`).
pub fn undocumented(specs: &[RouteSpec]) -> Vec<String> {
    specs
        .iter()
        .filter(|s| describe(s).is_none())
        .map(|s| format!("{} {}", s.method, s.path))
        .collect()
}

/// `{name}` and `{name:regex}` become OpenAPI `{name}`; returns the path and parameter names.
fn openapi_path(path: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 1..start + end];
        let name = inner.split(':').next().unwrap_or(inner);
        out.push('{');
        out.push_str(name);
        out.push('}');
        names.push(name.to_owned());
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    (out, names)
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::Read => "read",
        Permission::Work => "work",
        Permission::Ingest => "ingest",
        Permission::Label => "label",
        Permission::Analyze => "analyze",
        Permission::Categorize => "categorize",
        Permission::Admin => "admin",
    }
}

fn operation(spec: &RouteSpec, doc: &RouteDoc, params: &[String]) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), json!(doc.summary));
    op.insert("tags".into(), json!([doc.tag]));
    op.insert(
        "operationId".into(),
        json!(format!(
            "{}{}",
            spec.method.as_str().to_lowercase(),
            spec.path.replace(['/', '{', '}', '-', ':', '.', '*'], "_")
        )),
    );
    let mut parameters: Vec<Value> = params
        .iter()
        .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    let is_list = doc.response.is_some_and(|r| r.ends_with("List"));
    if is_list {
        parameters.push(json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}));
        parameters.push(json!({"name": "cursor", "in": "query", "schema": {"type": "string"}}));
    }
    for q in doc.query {
        parameters.push(json!({"name": q, "in": "query", "schema": {"type": "string"}}));
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if doc.request.is_some() || doc.alt_media.is_some() {
        let mut content = Map::new();
        if let Some(schema) = doc.request {
            content.insert(
                "application/json".into(),
                json!({"schema": {"$ref": format!("#/components/schemas/{schema}")}}),
            );
        }
        if let Some(media) = doc.alt_media {
            content.insert(media.into(), json!({"schema": {"type": "string"}}));
        }
        op.insert(
            "requestBody".into(),
            json!({"required": doc.request.is_some(), "content": content}),
        );
    }
    let mut responses = Map::new();
    let ok = match (doc.status, doc.response) {
        (204, _) => json!({"description": "Done"}),
        (_, Some(schema)) => {
            json!({"description": "Success", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
        }
        (_, None) if spec.path == "/events" => {
            json!({"description": "An event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}})
        }
        (_, None) if spec.path.starts_with("/backups/") => {
            json!({"description": "The backup file", "content": {"application/vnd.sqlite3": {"schema": {"type": "string", "format": "binary"}}}})
        }
        (_, None) => json!({"description": "Success"}),
    };
    responses.insert(doc.status.to_string(), ok);
    responses.insert("400".into(), error_response("Malformed request"));
    match spec.access {
        Access::Public => {
            op.insert("security".into(), json!([]));
        }
        Access::Authenticated => {
            responses.insert(
                "401".into(),
                error_response("Missing, bad, expired or revoked credentials"),
            );
        }
        Access::Permission(p) => {
            responses.insert(
                "401".into(),
                error_response("Missing, bad, expired or revoked credentials"),
            );
            responses.insert(
                "403".into(),
                error_response("The role or key scope does not allow this"),
            );
            op.insert("x-ledgerguard-permission".into(), json!(permission_name(p)));
        }
    }
    if !params.is_empty() {
        responses.insert("404".into(), error_response("No such resource"));
    }
    if doc.request.is_some() || doc.alt_media.is_some() {
        responses.insert("413".into(), error_response("Body over the limit"));
        responses.insert("415".into(), error_response("Wrong content type"));
        responses.insert(
            "422".into(),
            error_response("Well-formed but invalid; details name every bad field"),
        );
    }
    responses.insert(
        "429".into(),
        error_response("Rate limited (see Retry-After)"),
    );
    responses.insert(
        "500".into(),
        error_response("Internal error (logged with the request id)"),
    );
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The OpenAPI 3.1 document for the routes in `specs` (undocumented routes still appear, with
/// their method, path and security, so the document never hides a route).
pub fn document(specs: &[RouteSpec]) -> Value {
    let mut paths = Map::new();
    let fallback = d("GET", "", "other", "Undocumented route");
    for spec in specs {
        let doc = describe(spec).unwrap_or(&fallback);
        let (path, params) = openapi_path(spec.path);
        let entry = paths
            .entry(format!("/api/v1{path}"))
            .or_insert_with(|| json!({}));
        entry[spec.method.as_str().to_lowercase()] = operation(spec, doc, &params);
    }
    let public = |summary: &str, schema: Option<&str>, media: &str| {
        let content = match schema {
            Some(s) => json!({media: {"schema": {"$ref": format!("#/components/schemas/{s}")}}}),
            None => json!({media: {"schema": {"type": "string"}}}),
        };
        json!({"get": {"summary": summary, "tags": ["operations"], "security": [],
            "responses": {"200": {"description": "Success", "content": content}, "503": error_response("Not ready or failing")}}})
    };
    paths.insert(
        "/health".into(),
        public(
            "Health with each check (database, disk, backup)",
            Some("Health"),
            "application/json",
        ),
    );
    paths.insert(
        "/health/live".into(),
        public("Liveness", Some("Object"), "application/json"),
    );
    paths.insert(
        "/health/ready".into(),
        public(
            "Readiness (503 while starting or shutting down)",
            Some("Object"),
            "application/json",
        ),
    );
    paths.insert(
        "/metrics".into(),
        public(
            "Prometheus metrics (Bearer token when metrics.bearer_token is set)",
            None,
            "text/plain",
        ),
    );
    paths.insert(
        "/api/openapi.json".into(),
        public("This description", Some("Object"), "application/json"),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Ledgerguard API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Self-hosted fraud and expense monitoring. Money is sent as a decimal string or number with an ISO 4217 currency and answered as a decimal string. Lists take ?limit= and ?cursor= and answer {items, next_cursor}. Errors always have the shape {error:{code,message,details,request_id}}.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"apiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (or an lg_ API key)"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
            },
            "schemas": schemas::all()
        }
    })
}

/// `/api/openapi.json`, `/api/docs` and the docs page's files.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(openapi_json))
        .route("/api/docs", web::get().to(docs_index))
        .route("/api/docs/", web::get().to(docs_index))
        .route("/api/docs/{file:.*}", web::get().to(docs_file));
}

async fn openapi_json() -> HttpResponse {
    let specs = crate::app::api_table().specs();
    HttpResponse::Ok().json(document(&specs))
}

fn asset(path: &str) -> Result<HttpResponse, ApiError> {
    let file = DocsAssets::get(path).ok_or_else(ApiError::not_found)?;
    // The licence and version notes have no extension; they are text.
    let mime = match file.metadata.mimetype() {
        "application/octet-stream" => "text/plain; charset=utf-8",
        m => m,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime))
        .body(file.data.into_owned()))
}

async fn docs_index() -> Result<HttpResponse, ApiError> {
    asset("index.html")
}

async fn docs_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let file = file.into_inner();
    if file
        .split('/')
        .any(|seg| seg.is_empty() || seg.starts_with('.'))
    {
        return Err(ApiError::not_found());
    }
    asset(&file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::Method;

    #[test]
    fn every_registered_route_is_described() {
        let missing = undocumented(&crate::app::api_table().specs());
        assert!(
            missing.is_empty(),
            "routes without an entry in openapi::ROUTES: {missing:?}"
        );
    }

    #[test]
    fn a_route_without_a_description_is_reported() {
        let spec = RouteSpec {
            method: Method::GET,
            path: "/no/such/{thing}",
            access: Access::Public,
        };
        assert_eq!(undocumented(&[spec]), ["GET /no/such/{thing}"]);
    }

    #[test]
    fn parameter_names_may_differ_and_regex_parameters_are_cleaned() {
        let spec = RouteSpec {
            method: Method::DELETE,
            path: "/lists/{list_id}/items/{value:.*}",
            access: Access::Permission(Permission::Work),
        };
        assert!(describe(&spec).is_some());
        let doc = document(&[spec]);
        let op = &doc["paths"]["/api/v1/lists/{list_id}/items/{value}"]["delete"];
        assert_eq!(op["parameters"][1]["name"], "value");
        assert!(op["responses"]["204"].is_object());
        assert!(op["responses"]["403"].is_object());
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = document(&crate::app::api_table().specs());
        let schemas = doc["components"]["schemas"].as_object().unwrap().clone();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        for d in ROUTES {
            refs.extend(
                d.request
                    .iter()
                    .chain(d.response.iter())
                    .map(|s| format!("#/components/schemas/{s}")),
            );
        }
        for r in refs {
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(schemas.contains_key(name), "dangling reference {r}");
        }
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| collect_refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn descriptions_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for d in ROUTES {
            assert!(
                seen.insert((d.method, shape(d.path))),
                "duplicate {} {}",
                d.method,
                d.path
            );
        }
    }
}
