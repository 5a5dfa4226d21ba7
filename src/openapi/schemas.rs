//! The JSON Schemas (`components.schemas`) the route descriptions refer to. Shapes follow the
//! spec; fields a feature adds beyond it are allowed (`additionalProperties` is left open on
//! responses so a description never contradicts a richer answer).

use serde_json::{json, Map, Value};

fn s(kind: &str) -> Value {
    json!({"type": kind})
}
fn fmt(kind: &str, format: &str) -> Value {
    json!({"type": kind, "format": format})
}
fn nullable(kind: &str) -> Value {
    json!({"type": [kind, "null"]})
}
fn one_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}
fn array_of(item: Value) -> Value {
    json!({"type": "array", "items": item})
}
fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}
/// A decimal string or number of money in major units.
fn money_in() -> Value {
    json!({"oneOf": [{"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"}, {"type": "number"}],
           "description": "Amount in major units as a decimal string or JSON number (stored as integer minor units)."})
}
fn money_out() -> Value {
    json!({"type": "string", "description": "Decimal string with the currency's minor digits", "example": "125.50"})
}

/// An object with `props`; `required` names the required ones; `strict` refuses unknown fields.
fn object(props: &[(&str, Value)], required: &[&str], strict: bool) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).to_owned(), v.clone());
    }
    let mut o = json!({"type": "object", "properties": p});
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    if strict {
        o["additionalProperties"] = json!(false);
    }
    o
}

fn list_of(item: &str) -> Value {
    object(
        &[
            ("items", array_of(r(item))),
            ("next_cursor", nullable("string")),
        ],
        &["items", "next_cursor"],
        false,
    )
}

/// Every schema, by name.
pub fn all() -> Value {
    let mut m = Map::new();
    let mut add = |name: &str, v: Value| {
        m.insert(name.to_owned(), v);
    };
    add(
        "Error",
        object(
            &[(
                "error",
                object(
                    &[
                        ("code", s("string")),
                        ("message", s("string")),
                        (
                            "details",
                            array_of(object(
                                &[("field", s("string")), ("message", s("string"))],
                                &["field", "message"],
                                false,
                            )),
                        ),
                        ("request_id", s("string")),
                    ],
                    &["code", "message", "details", "request_id"],
                    false,
                ),
            )],
            &["error"],
            false,
        ),
    );
    add("Object", json!({"type": "object"}));

    // Auth and users.
    add(
        "LoginRequest",
        object(
            &[
                ("email", fmt("string", "email")),
                ("password", fmt("string", "password")),
            ],
            &["email", "password"],
            true,
        ),
    );
    add(
        "RefreshRequest",
        object(&[("refresh_token", s("string"))], &[], true),
    );
    add(
        "PasswordChange",
        object(
            &[
                ("current_password", fmt("string", "password")),
                ("new_password", fmt("string", "password")),
            ],
            &["current_password", "new_password"],
            true,
        ),
    );
    add(
        "User",
        object(
            &[
                ("id", s("string")),
                ("email", s("string")),
                ("name", s("string")),
                ("role", one_of(&["admin", "analyst", "viewer"])),
                ("disabled", s("boolean")),
            ],
            &["id", "email", "name", "role"],
            false,
        ),
    );
    add("UserList", list_of("User"));
    add(
        "UserCreate",
        object(
            &[
                ("email", fmt("string", "email")),
                ("name", s("string")),
                ("role", one_of(&["admin", "analyst", "viewer"])),
                ("password", fmt("string", "password")),
            ],
            &["email", "name", "role", "password"],
            true,
        ),
    );
    add(
        "UserUpdate",
        object(
            &[
                ("name", s("string")),
                ("role", one_of(&["admin", "analyst", "viewer"])),
                ("disabled", s("boolean")),
            ],
            &[],
            true,
        ),
    );
    add(
        "TokenResponse",
        object(
            &[
                ("access_token", s("string")),
                ("refresh_token", s("string")),
                ("token_type", one_of(&["Bearer"])),
                ("expires_in", s("integer")),
                ("user", r("User")),
            ],
            &["access_token", "refresh_token", "token_type", "expires_in"],
            false,
        ),
    );
    add(
        "SetupRequest",
        object(
            &[
                ("token", s("string")),
                ("email", fmt("string", "email")),
                ("name", s("string")),
                ("password", fmt("string", "password")),
            ],
            &[],
            false,
        ),
    );
    add(
        "ApiKey",
        object(
            &[
                ("id", s("string")),
                ("name", s("string")),
                ("scopes", array_of(one_of(&["ingest", "read", "admin"]))),
                ("created_at", fmt("string", "date-time")),
                ("last_used_at", nullable("string")),
                (
                    "secret",
                    json!({"type": "string", "description": "Only in the create answer, once."}),
                ),
            ],
            &["id", "name", "scopes"],
            false,
        ),
    );
    add("ApiKeyList", list_of("ApiKey"));
    add(
        "ApiKeyCreate",
        object(
            &[
                ("name", s("string")),
                ("scopes", array_of(one_of(&["ingest", "read", "admin"]))),
                ("per_minute", s("integer")),
            ],
            &["name", "scopes"],
            true,
        ),
    );
    add(
        "EventTicket",
        object(
            &[("ticket", s("string")), ("expires_in", s("integer"))],
            &["ticket"],
            false,
        ),
    );

    // Transactions and scoring.
    add(
        "TransactionInput",
        object(
            &[
                ("external_id", s("string")),
                ("account_id", s("string")),
                ("amount", money_in()),
                (
                    "currency",
                    json!({"type": "string", "pattern": "^[A-Z]{3}$"}),
                ),
                ("occurred_at", fmt("string", "date-time")),
                (
                    "kind",
                    one_of(&["payment", "transfer", "withdrawal", "refund", "expense"]),
                ),
                ("merchant", s("string")),
                (
                    "merchant_category",
                    json!({"type": "string", "pattern": "^[0-9]{4}$"}),
                ),
                (
                    "country",
                    json!({"type": "string", "pattern": "^[A-Z]{2}$"}),
                ),
                (
                    "channel",
                    one_of(&["card_present", "online", "atm", "transfer", "other"]),
                ),
                ("device_id", s("string")),
                ("ip", s("string")),
                ("email", s("string")),
                ("description", s("string")),
                ("category", s("string")),
                ("department", s("string")),
                ("submitted_by", s("string")),
                (
                    "metadata",
                    json!({"type": "object", "description": "At most 8 KiB"}),
                ),
            ],
            &[
                "external_id",
                "account_id",
                "amount",
                "currency",
                "occurred_at",
                "kind",
            ],
            true,
        ),
    );
    add(
        "Reason",
        object(
            &[
                ("code", s("string")),
                ("message", s("string")),
                ("weight", s("number")),
            ],
            &["code", "message"],
            false,
        ),
    );
    add(
        "Transaction",
        object(
            &[
                ("id", s("string")),
                ("external_id", s("string")),
                ("account_id", s("string")),
                ("amount", money_out()),
                ("currency", s("string")),
                ("occurred_at", fmt("string", "date-time")),
                ("kind", s("string")),
                ("score", s("integer")),
                ("decision", one_of(&["allow", "review", "block"])),
                ("reasons", array_of(r("Reason"))),
                ("label", nullable("string")),
            ],
            &["id", "external_id", "account_id", "amount", "currency"],
            false,
        ),
    );
    add("TransactionList", list_of("Transaction"));
    add(
        "ScoreResult",
        object(
            &[
                ("transaction", r("Transaction")),
                ("score", s("integer")),
                ("decision", one_of(&["allow", "review", "block"])),
                ("severity", one_of(&["low", "medium", "high", "critical"])),
                ("reasons", array_of(r("Reason"))),
                ("alert_id", nullable("string")),
                ("model_version", nullable("string")),
            ],
            &["transaction", "score", "decision", "severity", "reasons"],
            false,
        ),
    );
    add(
        "TransactionBatch",
        json!({"type": "array", "maxItems": 10000, "items": r("TransactionInput")}),
    );
    add(
        "BatchResult",
        object(
            &[
                ("accepted", s("integer")),
                ("duplicates", s("integer")),
                (
                    "rejected",
                    array_of(object(
                        &[("index", s("integer")), ("error", s("string"))],
                        &[],
                        false,
                    )),
                ),
                (
                    "decisions",
                    object(
                        &[
                            ("allow", s("integer")),
                            ("review", s("integer")),
                            ("block", s("integer")),
                        ],
                        &[],
                        false,
                    ),
                ),
                ("items", array_of(r("Object"))),
            ],
            &["accepted", "duplicates", "rejected"],
            false,
        ),
    );
    add(
        "LabelBatch",
        array_of(object(
            &[
                ("external_id", s("string")),
                ("outcome", one_of(&["fraud", "legitimate"])),
                (
                    "source",
                    one_of(&["chargeback", "customer_report", "analyst", "import"]),
                ),
                ("reported_at", fmt("string", "date-time")),
            ],
            &["external_id", "outcome"],
            true,
        )),
    );
    add(
        "LabelResult",
        object(
            &[
                ("labelled", s("integer")),
                ("unknown", array_of(s("string"))),
            ],
            &["labelled", "unknown"],
            false,
        ),
    );
    add(
        "Model",
        object(
            &[
                ("version", s("string")),
                ("precision", s("number")),
                ("recall", s("number")),
                ("auc", s("number")),
                ("created_at", fmt("string", "date-time")),
            ],
            &[],
            false,
        ),
    );
    add("ModelList", list_of("Model"));

    // Alerts and accounts.
    add(
        "Alert",
        object(
            &[
                ("id", s("string")),
                ("type", one_of(&["transaction", "budget"])),
                ("severity", one_of(&["low", "medium", "high", "critical"])),
                (
                    "status",
                    one_of(&["open", "investigating", "resolved", "dismissed"]),
                ),
                ("score", s("integer")),
                ("reasons", array_of(r("Reason"))),
                ("transaction_id", nullable("string")),
                ("account_id", nullable("string")),
                ("budget_id", nullable("string")),
                ("assignee_id", nullable("string")),
                ("created_at", fmt("string", "date-time")),
                ("updated_at", fmt("string", "date-time")),
            ],
            &["id", "type", "severity", "status"],
            false,
        ),
    );
    add("AlertList", list_of("Alert"));
    add(
        "AlertDetail",
        object(
            &[
                ("alert", r("Alert")),
                ("transaction", r("Object")),
                ("account", r("Object")),
                ("comments", array_of(r("Object"))),
                ("history", array_of(r("Object"))),
            ],
            &["alert"],
            false,
        ),
    );
    add(
        "AlertUpdate",
        object(
            &[
                ("status", one_of(&["investigating", "dismissed"])),
                ("assignee_id", nullable("string")),
            ],
            &[],
            true,
        ),
    );
    add(
        "CommentInput",
        object(&[("body", s("string"))], &["body"], true),
    );
    add(
        "ResolveInput",
        object(
            &[
                ("outcome", one_of(&["fraud", "legitimate"])),
                ("note", s("string")),
            ],
            &["outcome"],
            true,
        ),
    );
    add(
        "Account",
        object(
            &[
                ("account_id", s("string")),
                ("status", one_of(&["active", "frozen"])),
                ("created_at", fmt("string", "date-time")),
            ],
            &["account_id", "status"],
            false,
        ),
    );
    add("AccountList", list_of("Account"));
    add(
        "FreezeInput",
        object(&[("reason", s("string"))], &["reason"], true),
    );

    // Rules and lists.
    add(
        "Rule",
        object(
            &[
                ("id", s("string")),
                ("name", s("string")),
                ("description", s("string")),
                (
                    "expression",
                    json!({"type": "string", "description": "CEL"}),
                ),
                (
                    "score",
                    json!({"type": "integer", "minimum": 0, "maximum": 100}),
                ),
                ("action", one_of(&["flag", "review", "block", "freeze"])),
                ("enabled", s("boolean")),
                ("version", s("integer")),
            ],
            &["id", "name", "expression", "score", "action", "enabled"],
            false,
        ),
    );
    add("RuleList", list_of("Rule"));
    add(
        "RuleInput",
        object(
            &[
                ("name", s("string")),
                ("description", s("string")),
                ("expression", s("string")),
                (
                    "score",
                    json!({"type": "integer", "minimum": 0, "maximum": 100}),
                ),
                ("action", one_of(&["flag", "review", "block", "freeze"])),
                ("enabled", s("boolean")),
            ],
            &[],
            true,
        ),
    );
    add("RuleVersionList", list_of("Object"));
    add(
        "ValidateInput",
        object(&[("expression", s("string"))], &["expression"], true),
    );
    add(
        "ValidateResult",
        object(
            &[
                ("valid", s("boolean")),
                (
                    "errors",
                    array_of(object(
                        &[("message", s("string")), ("position", nullable("integer"))],
                        &[],
                        false,
                    )),
                ),
            ],
            &["valid", "errors"],
            false,
        ),
    );
    add(
        "BacktestInput",
        object(
            &[
                ("expression", s("string")),
                ("from", fmt("string", "date-time")),
                ("to", fmt("string", "date-time")),
            ],
            &["expression"],
            true,
        ),
    );
    add(
        "BacktestResult",
        object(
            &[
                ("evaluated", s("integer")),
                ("matched", s("integer")),
                ("matched_fraud", s("integer")),
                ("matched_legitimate", s("integer")),
                ("precision", nullable("number")),
                ("recall", nullable("number")),
                ("sample_ids", array_of(s("string"))),
            ],
            &["evaluated", "matched"],
            false,
        ),
    );
    add(
        "List",
        object(
            &[
                ("id", s("string")),
                ("name", s("string")),
                (
                    "kind",
                    one_of(&[
                        "country",
                        "merchant",
                        "device",
                        "ip",
                        "account",
                        "email_domain",
                    ]),
                ),
                ("mode", one_of(&["block", "allow"])),
                ("created_at", fmt("string", "date-time")),
            ],
            &["id", "name", "kind", "mode"],
            false,
        ),
    );
    add("ListList", list_of("List"));
    add(
        "ListInput",
        object(
            &[
                ("name", s("string")),
                (
                    "kind",
                    one_of(&[
                        "country",
                        "merchant",
                        "device",
                        "ip",
                        "account",
                        "email_domain",
                    ]),
                ),
                ("mode", one_of(&["block", "allow"])),
            ],
            &["name", "kind", "mode"],
            true,
        ),
    );
    add(
        "ListItemInput",
        object(&[("value", s("string"))], &["value"], true),
    );

    // Expenses, budgets, analysis, stats.
    add("ExpenseList", list_of("Transaction"));
    add(
        "ExpenseSummary",
        object(
            &[
                ("from", fmt("string", "date-time")),
                ("to", fmt("string", "date-time")),
                (
                    "items",
                    array_of(object(
                        &[
                            ("key", s("string")),
                            ("amount", money_out()),
                            ("currency", s("string")),
                            ("count", s("integer")),
                        ],
                        &[],
                        false,
                    )),
                ),
            ],
            &["from", "to", "items"],
            false,
        ),
    );
    add(
        "CategorizeInput",
        object(
            &[("description", s("string")), ("merchant", s("string"))],
            &["description"],
            true,
        ),
    );
    add(
        "CorrectionInput",
        object(
            &[
                ("description", s("string")),
                ("merchant", s("string")),
                ("category", s("string")),
            ],
            &["description", "category"],
            true,
        ),
    );
    add(
        "Correction",
        object(
            &[
                ("id", s("string")),
                ("description", s("string")),
                ("merchant", nullable("string")),
                ("category", s("string")),
                ("created_at", s("string")),
            ],
            &["id", "description", "category", "created_at"],
            false,
        ),
    );
    add(
        "CategorizeResult",
        object(
            &[
                ("category", s("string")),
                ("confidence", s("number")),
                ("alternatives", array_of(r("Object"))),
            ],
            &["category", "confidence"],
            false,
        ),
    );
    add(
        "Budget",
        object(
            &[
                ("id", s("string")),
                ("name", s("string")),
                ("category", nullable("string")),
                ("department", nullable("string")),
                ("period", one_of(&["monthly", "quarterly", "yearly"])),
                ("limit", money_out()),
                ("currency", s("string")),
                ("thresholds", array_of(s("number"))),
                ("spent", money_out()),
                ("remaining", money_out()),
                ("projected", money_out()),
            ],
            &["id", "name", "period", "limit", "currency"],
            false,
        ),
    );
    add("BudgetList", list_of("Budget"));
    add(
        "BudgetInput",
        object(
            &[
                ("name", s("string")),
                ("category", s("string")),
                ("department", s("string")),
                ("period", one_of(&["monthly", "quarterly", "yearly"])),
                ("limit", money_in()),
                ("currency", s("string")),
                ("thresholds", array_of(s("number"))),
            ],
            &["name", "period", "limit", "currency"],
            true,
        ),
    );
    add(
        "AnalyzeInput",
        object(
            &[
                ("message_content", s("string")),
                ("sender", s("string")),
                ("channel", one_of(&["sms", "email", "chat"])),
            ],
            &["message_content"],
            true,
        ),
    );
    add(
        "AnalyzeResult",
        object(
            &[
                ("label", one_of(&["scam", "suspicious", "clean"])),
                ("score", s("number")),
                (
                    "indicators",
                    array_of(object(
                        &[("code", s("string")), ("message", s("string"))],
                        &[],
                        false,
                    )),
                ),
                ("model_version", s("string")),
            ],
            &["label", "score", "indicators"],
            false,
        ),
    );
    add(
        "StatsOverview",
        object(
            &[
                ("transactions", r("Object")),
                ("decisions_24h", r("Object")),
                ("alerts", r("Object")),
                ("accounts", r("Object")),
                ("blocked_amount_24h", s("string")),
                ("fraud_rate_30d", nullable("number")),
                ("budgets_over_threshold", s("integer")),
            ],
            &[],
            false,
        ),
    );
    add(
        "Timeseries",
        object(
            &[
                ("metric", s("string")),
                ("interval", s("string")),
                ("points", array_of(r("Object"))),
            ],
            &[],
            false,
        ),
    );

    // Webhooks, audit, config, backups.
    add(
        "Webhook",
        object(
            &[
                ("id", s("string")),
                ("url", fmt("string", "uri")),
                ("events", array_of(s("string"))),
                (
                    "secret",
                    json!({"type": "string", "description": "whsec_…, in the create answer"}),
                ),
                ("created_at", fmt("string", "date-time")),
            ],
            &["id", "url", "events"],
            false,
        ),
    );
    add("WebhookList", list_of("Webhook"));
    add(
        "WebhookInput",
        object(
            &[
                ("url", fmt("string", "uri")),
                ("events", array_of(s("string"))),
            ],
            &["url", "events"],
            true,
        ),
    );
    add("DeliveryList", list_of("Object"));
    add(
        "AuditEntry",
        object(
            &[
                ("seq", s("integer")),
                ("id", s("string")),
                ("at", fmt("string", "date-time")),
                ("actor_type", s("string")),
                ("actor_id", nullable("string")),
                ("actor_label", nullable("string")),
                ("action", s("string")),
                ("target_type", nullable("string")),
                ("target_id", nullable("string")),
                ("ip", nullable("string")),
                ("details", r("Object")),
                ("prev_hash", s("string")),
                ("hash", s("string")),
            ],
            &["seq", "id", "at", "action", "hash"],
            false,
        ),
    );
    add("AuditList", list_of("AuditEntry"));
    add(
        "Config",
        json!({"type": "object", "description": "The effective configuration, secrets shown as [redacted]."}),
    );
    add(
        "Backup",
        object(
            &[
                (
                    "name",
                    json!({"type": "string", "pattern": "^ledgerguard-[0-9]{8}T[0-9]{6}Z(-[1-9][0-9]*)?\\.db$"}),
                ),
                ("size", s("integer")),
                ("sha256", nullable("string")),
                ("created_at", fmt("string", "date-time")),
                ("integrity", one_of(&["ok", "unverified"])),
            ],
            &["name", "size", "sha256", "created_at", "integrity"],
            false,
        ),
    );
    add("BackupList", list_of("Backup"));
    add(
        "Health",
        object(
            &[
                ("status", one_of(&["ok", "degraded", "fail"])),
                ("version", s("string")),
                ("uptime_s", s("integer")),
                ("checks", r("Object")),
            ],
            &["status", "checks"],
            false,
        ),
    );
    Value::Object(m)
}
