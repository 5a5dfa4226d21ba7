//! The authorization matrix: every registered API route, called by anonymous, each role and
//! each key scope, answers 401/403 exactly as the spec's table says. The expectations below
//! are written from SPEC.md section 4, independently of the code; a route registered without
//! an entry here fails the test.

use std::collections::BTreeMap;

use ledgerguard::app::api_table;
use ledgerguard::auth::Access;

use crate::helpers::*;

/// `METHOD path requirement`, requirement one of: public, authenticated, read, work, ingest,
/// label, analyze, categorize, admin.
const EXPECTED: &[&str] = &[
    "POST /auth/login public",
    "POST /auth/refresh public",
    "POST /auth/logout public",
    "GET /auth/me authenticated",
    "POST /auth/password authenticated",
    "GET /setup public",
    "POST /setup public",
    "GET /users admin",
    "POST /users admin",
    "GET /users/{id} admin",
    "PATCH /users/{id} admin",
    "POST /users/{id}/unlock admin",
    "GET /api-keys admin",
    "POST /api-keys admin",
    "DELETE /api-keys/{id} admin",
    "GET /audit admin",
    "GET /backups admin",
    "POST /backups admin",
    "GET /backups/{name} admin",
    "POST /transactions ingest",
    "POST /transactions/batch ingest",
    "POST /transactions/import ingest",
    "GET /transactions read",
    "GET /transactions/{id} read",
    "POST /expenses ingest",
    "GET /expenses read",
    "GET /rules read",
    "POST /rules work",
    "POST /rules/validate work",
    "POST /rules/backtest work",
    "GET /rules/{id} read",
    "PATCH /rules/{id} work",
    "DELETE /rules/{id} work",
    "GET /rules/{id}/versions read",
    "GET /lists read",
    "POST /lists work",
    "GET /lists/{id} read",
    "POST /lists/{id}/items work",
    "DELETE /lists/{id}/items/{value} work",
    "GET /accounts read",
    "GET /accounts/{account_id} read",
    "POST /accounts/{account_id}/freeze work",
    "POST /accounts/{account_id}/unfreeze work",
    "GET /alerts read",
    "GET /alerts/{id} read",
    "PATCH /alerts/{id} work",
    "POST /alerts/{id}/comments work",
    "POST /alerts/{id}/resolve work",
    "GET /stats/overview read",
    "GET /stats/timeseries read",
    "GET /events read",
    "POST /events/ticket read",
    "GET /webhooks admin",
    "POST /webhooks admin",
    "DELETE /webhooks/{id} admin",
    "POST /webhooks/{id}/test admin",
    "GET /webhooks/{id}/deliveries admin",
    "POST /webhooks/{id}/deliveries/{delivery_id}/redeliver admin",
    "POST /analyze analyze",
    "GET /budgets read",
    "POST /budgets work",
    "GET /budgets/{id} read",
    "PATCH /budgets/{id} work",
    "DELETE /budgets/{id} work",
    "POST /categorize categorize",
    "POST /categorize/corrections work",
    "GET /expenses/summary read",
    "POST /labels label",
    "GET /models read",
    "POST /models/train admin",
];

/// Who may do what, from the spec's table.
fn may(principal: &str, requirement: &str) -> bool {
    match requirement {
        "public" => true,
        "authenticated" => principal != "anonymous",
        _ => {
            let grants: &[&str] = match principal {
                "anonymous" => &[],
                "viewer" => &["read"],
                "analyst" => &["read", "work", "label", "analyze", "categorize"],
                "admin" => &[
                    "read",
                    "work",
                    "ingest",
                    "label",
                    "analyze",
                    "categorize",
                    "admin",
                ],
                "key:ingest" => &["ingest", "label", "analyze", "categorize"],
                "key:read" => &["read"],
                "key:admin" => &["admin"],
                other => panic!("unknown principal {other}"),
            };
            grants.contains(&requirement)
        }
    }
}

fn requirement_of(access: Access) -> String {
    match access {
        Access::Public => "public".into(),
        Access::Authenticated => "authenticated".into(),
        Access::Permission(p) => serde_json::to_value(p)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_exactly_what_the_role_table_allows() {
    let app = spawn_app_with(|s| s.rate_limit.enabled = false).await;
    let expected: BTreeMap<(String, String), String> = EXPECTED
        .iter()
        .map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            (
                (parts[0].to_owned(), parts[1].to_owned()),
                parts[2].to_owned(),
            )
        })
        .collect();
    let specs = api_table().specs();
    for spec in &specs {
        let key = (spec.method.to_string(), spec.path.to_owned());
        let want = expected
            .get(&key)
            .unwrap_or_else(|| panic!("route {} {} has no expectation in EXPECTED", key.0, key.1));
        assert_eq!(
            &requirement_of(spec.access),
            want,
            "declared access of {} {}",
            key.0,
            key.1
        );
    }
    assert_eq!(
        specs.len(),
        expected.len(),
        "EXPECTED lists a route that is not registered"
    );

    let mut principals: Vec<(&str, Option<String>)> = vec![("anonymous", None)];
    for role in ["viewer", "analyst", "admin"] {
        principals.push((role, Some(app.token(role).await)));
    }
    for scope in ["ingest", "read", "admin"] {
        let name: &'static str = match scope {
            "ingest" => "key:ingest",
            "read" => "key:read",
            _ => "key:admin",
        };
        principals.push((name, Some(app.api_key(&[scope]).await)));
    }
    let dummy = "00000000-0000-7000-8000-000000000000";
    for spec in &specs {
        let path = format!(
            "/api/v1{}",
            spec.path
                .replace("{id}", dummy)
                .replace("{name}", "nothing.db")
                .replace("{account_id}", "acct-x")
                .replace("{value}", "x")
                .replace("{delivery_id}", dummy)
        );
        let requirement = requirement_of(spec.access);
        for (who, credential) in &principals {
            // Never exercise session-ending routes with the shared credentials.
            if spec.path == "/auth/logout" || spec.path == "/auth/password" {
                continue;
            }
            let method = reqwest::Method::from_bytes(spec.method.as_str().as_bytes()).unwrap();
            let mut req = app.client.request(method.clone(), app.url(&path));
            if let Some(c) = credential {
                req = req.bearer_auth(c);
            }
            if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
                req = req.header("content-type", "application/json").body("{}");
            }
            let status = req.send().await.unwrap().status().as_u16();
            let allowed = may(who, &requirement);
            if allowed {
                assert!(
                    status != 401 && status != 403,
                    "{who} may {} {path} ({requirement}) but got {status}",
                    spec.method
                );
            } else {
                let want = if *who == "anonymous" { 401 } else { 403 };
                assert_eq!(
                    status, want,
                    "{who} must not {} {path} ({requirement})",
                    spec.method
                );
            }
        }
    }
}
