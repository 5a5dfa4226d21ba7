//! Identity and access: sessions, tokens, lockout, API keys, setup, users admin, audit.

use std::time::Instant;

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::*;

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_a_session_and_a_strict_cookie() {
    let app = spawn_app().await;
    let (email, password) = app.create_user("analyst").await;
    let resp = app.login(&email.to_uppercase(), &password).await;
    assert_eq!(resp.status(), 200);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("lg_refresh="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "no Secure flag without TLS");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["email"], email);
    assert_eq!(body["user"]["role"], "analyst");
    let token = body["access_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    for c in ["sub", "role", "jti", "iat", "exp", "iss", "aud"] {
        assert!(claims.get(c).is_some(), "claim {c}");
    }
    let resp = me(&app, token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["email"], email);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_look_the_same() {
    let app = spawn_app().await;
    let (email, _) = app.create_user("viewer").await;
    // Warm the dummy hash.
    let _ = app.login("warmup@example.com", "whatever whatever").await;
    let t = Instant::now();
    let wrong = app.login(&email, "not the password at all").await;
    let wrong_time = t.elapsed();
    let t = Instant::now();
    let unknown = app
        .login("nobody@example.com", "not the password at all")
        .await;
    let unknown_time = t.elapsed();
    let a = assert_error(wrong, 401, "unauthorized").await;
    let b = assert_error(unknown, 401, "unauthorized").await;
    assert_eq!(a["error"]["message"], b["error"]["message"]);
    assert!(
        unknown_time.as_secs_f64() > wrong_time.as_secs_f64() * 0.3,
        "unknown {unknown_time:?} vs wrong {wrong_time:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tampered_and_expired_tokens_are_refused() {
    let app = spawn_app().await;
    let token = app.token("admin").await;
    let parts: Vec<&str> = token.split('.').collect();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();

    // alg: none
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );
    assert_error(me(&app, &none).await, 401, "unauthorized").await;
    // HS512 header with the same signature
    let hs512 = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "HS512", "typ": "JWT"})),
        parts[1],
        parts[2]
    );
    assert_error(me(&app, &hs512).await, 401, "unauthorized").await;
    // tampered payload (role escalation), original signature
    let mut evil = claims.clone();
    evil["role"] = json!("admin");
    evil["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], b64(&evil), parts[2]);
    assert_error(me(&app, &tampered).await, 401, "unauthorized").await;
    // signed with another key
    let other = ledgerguard::auth::tokens::Jwt::new(&[9u8; 32], "ledgerguard", "ledgerguard");
    let (foreign, _) = other
        .issue(
            claims["sub"].as_str().unwrap(),
            "admin",
            claims["sid"].as_str().unwrap(),
            600,
        )
        .unwrap();
    assert_error(me(&app, &foreign).await, 401, "unauthorized").await;
    // right key, wrong audience / expired
    let key = std::fs::read(app.data_dir().join("jwt.key")).unwrap();
    let wrong_aud = ledgerguard::auth::tokens::Jwt::new(&key, "ledgerguard", "another-app");
    let (t, _) = wrong_aud
        .issue(
            claims["sub"].as_str().unwrap(),
            "admin",
            claims["sid"].as_str().unwrap(),
            600,
        )
        .unwrap();
    assert_error(me(&app, &t).await, 401, "unauthorized").await;
    let ours = ledgerguard::auth::tokens::Jwt::new(&key, "ledgerguard", "ledgerguard");
    let (expired, _) = ours
        .issue(
            claims["sub"].as_str().unwrap(),
            "admin",
            claims["sid"].as_str().unwrap(),
            -120,
        )
        .unwrap();
    assert_error(me(&app, &expired).await, 401, "unauthorized").await;
    let (fresh, _) = ours
        .issue(
            claims["sub"].as_str().unwrap(),
            "admin",
            claims["sid"].as_str().unwrap(),
            600,
        )
        .unwrap();
    assert_eq!(
        me(&app, &fresh).await.status(),
        200,
        "a correctly signed token works"
    );
    // garbage
    assert_error(me(&app, "not.a.token").await, 401, "unauthorized").await;
    assert_error(me(&app, "' OR 1=1 --").await, 401, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    let meta = std::fs::metadata(app.data_dir().join("jwt.key")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
}

async fn refresh_with(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": token}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let (email, password) = app.create_user("viewer").await;
    let first: Value = app.login(&email, &password).await.json().await.unwrap();
    let r1 = first["refresh_token"].as_str().unwrap();
    let second = refresh_with(&app, r1).await;
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    assert_eq!(
        me(&app, second["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // Replaying the rotated token: refused, and the live one dies with it.
    assert_error(refresh_with(&app, r1).await, 401, "unauthorized").await;
    assert_error(refresh_with(&app, r2).await, 401, "unauthorized").await;
    assert_error(
        me(&app, second["access_token"].as_str().unwrap()).await,
        401,
        "unauthorized",
    )
    .await;
    assert_error(
        refresh_with(&app, "made-up-token").await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_refresh_needs_the_csrf_header() {
    let app = spawn_app().await;
    let (email, password) = app.create_user("viewer").await;
    let login: Value = app.login(&email, &password).await.json().await.unwrap();
    let cookie = format!("lg_refresh={}", login["refresh_token"].as_str().unwrap());
    let no_header = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_error(no_header, 401, "unauthorized").await;
    let ok = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", &cookie)
        .header("x-requested-with", "ledgerguard")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let set = ok
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set.starts_with("lg_refresh=") && !set.contains(login["refresh_token"].as_str().unwrap()),
        "rotated cookie"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_refresh_token_and_access_token() {
    let app = spawn_app().await;
    let (email, password) = app.create_user("viewer").await;
    let login: Value = app.login(&email, &password).await.json().await.unwrap();
    let access = login["access_token"].as_str().unwrap();
    let refresh = login["refresh_token"].as_str().unwrap();
    let out = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(access)
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert!(out
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("lg_refresh=;"));
    assert_error(me(&app, access).await, 401, "unauthorized").await;
    assert_error(refresh_with(&app, refresh).await, 401, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_enforces_policy_and_ends_other_sessions() {
    let app = spawn_app().await;
    let (email, password) = app.create_user("analyst").await;
    let a: Value = app.login(&email, &password).await.json().await.unwrap();
    let b: Value = app.login(&email, &password).await.json().await.unwrap();
    let token = a["access_token"].as_str().unwrap();
    let change = |current: &str, new: &str| {
        app.client
            .post(app.url("/api/v1/auth/password"))
            .bearer_auth(token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    let weak = assert_error(
        change(&password, "password123").await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(weak["error"]["details"][0]["field"], "new_password");
    assert!(weak["error"]["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("12 characters"));
    let guessable = assert_error(
        change(&password, "passwordpassword").await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert!(guessable["error"]["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("too easy to guess"));
    let wrong = assert_error(
        change("nope nope nope nope", "a much better pass phrase 9!")
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(wrong["error"]["details"][0]["field"], "current_password");
    assert_eq!(
        change(&password, "a much better pass phrase 9!")
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        me(&app, token).await.status(),
        200,
        "this session continues"
    );
    assert_error(
        refresh_with(&app, b["refresh_token"].as_str().unwrap()).await,
        401,
        "unauthorized",
    )
    .await;
    assert_error(
        me(&app, b["access_token"].as_str().unwrap()).await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(
        app.login(&email, "a much better pass phrase 9!")
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failures_lock_an_email_whether_or_not_it_exists() {
    let app = spawn_app().await;
    let (email, password) = app.create_user("viewer").await;
    for target in [email.as_str(), "ghost@example.com"] {
        for _ in 0..5 {
            assert_error(
                app.login(target, "wrong wrong wrong").await,
                401,
                "unauthorized",
            )
            .await;
        }
        let locked = app.login(target, &password).await;
        assert!(locked.headers().get("retry-after").is_some());
        let body = assert_error(locked, 429, "too_many_attempts").await;
        assert!(body["error"]["message"].is_string());
    }
    // An admin unlocks the real one.
    let admin = app.token("admin").await;
    let users: Value = app
        .client
        .get(app.url("/api/v1/users?limit=500"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unlock = app
        .client
        .post(app.url(&format!("/api/v1/users/{id}/unlock")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(unlock.status(), 200);
    assert_eq!(app.login(&email, &password).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_are_limited_per_ip_across_emails() {
    let app = spawn_app_with(|s| s.rate_limit.login_per_ip_per_15min = 6).await;
    for i in 0..6 {
        let r = app
            .login(&format!("user{i}@example.com"), "wrong wrong wrong")
            .await;
        assert_eq!(r.status(), 401, "attempt {i}");
    }
    let r = app.login("user99@example.com", "wrong wrong wrong").await;
    assert!(r.headers().get("retry-after").is_some());
    assert_error(r, 429, "too_many_attempts").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("ledgerguard_rate_limited_total{tier=\"login\"}"),
        "login tier counted"
    );
    assert!(metrics.contains("ledgerguard_auth_attempts_total{result=\"failure\"}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_user_is_refused_at_once_and_cannot_log_in() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let (email, password) = app.create_user("analyst").await;
    let login: Value = app.login(&email, &password).await.json().await.unwrap();
    let token = login["access_token"].as_str().unwrap();
    assert_eq!(me(&app, token).await.status(), 200);
    let id = login["user"]["id"].as_str().unwrap();
    let patch = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&admin)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    assert_eq!(patch.json::<Value>().await.unwrap()["disabled"], true);
    assert_error(me(&app, token).await, 401, "unauthorized").await;
    assert_error(app.login(&email, &password).await, 401, "unauthorized").await;
    assert_error(
        refresh_with(&app, login["refresh_token"].as_str().unwrap()).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_admins_cannot_escalate_roles() {
    let app = spawn_app().await;
    let (email, password) = app.create_user("analyst").await;
    let login: Value = app.login(&email, &password).await.json().await.unwrap();
    let token = login["access_token"].as_str().unwrap();
    let id = login["user"]["id"].as_str().unwrap();
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(token)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "forbidden").await;
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(token)
        .json(&json!({"email": "x@example.com", "name": "X", "role": "admin", "password": "correct horse battery staple 42!"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "forbidden").await;
    assert_eq!(
        me(&app, token).await.json::<Value>().await.unwrap()["role"],
        "analyst"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_in_auth_fields_is_refused_cleanly() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    for email in [
        "' OR 1=1 --",
        "admin@example.com'; DROP TABLE users; --",
        "<script>alert(1)</script>",
        "ünïcödé@例え.jp",
    ] {
        assert_error(
            app.login(email, "anything anything").await,
            401,
            "unauthorized",
        )
        .await;
    }
    let big = "a".repeat(200 * 1024);
    let r = app.login(&big, "x").await;
    let body = assert_error(r, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"][0]["field"], "email");
    let huge = "a".repeat(1024 * 1024);
    assert_error(
        app.login("a@example.com", &huge).await,
        413,
        "payload_too_large",
    )
    .await;
    let wrong_type = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": 12, "password": []}))
        .send()
        .await
        .unwrap();
    assert_error(wrong_type, 422, "validation_failed").await;
    let extra = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "a@b.co", "password": "x", "role": "admin"}))
        .send()
        .await
        .unwrap();
    let body = assert_error(extra, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"][0]["field"], "role");
    // Creating users with hostile fields: every bad field named, nothing stored.
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(
            &json!({"email": "<script>@x", "name": "a\u{0}b", "role": "root", "password": "short"}),
        )
        .send()
        .await
        .unwrap();
    let body = assert_error(r, 422, "validation_failed").await;
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for f in ["email", "name", "role", "password"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let sql_name = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"email": "bobby@example.com", "name": "Robert'); DROP TABLE users;--", "role": "viewer", "password": "correct horse battery staple 42!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sql_name.status(), 201);
    assert_eq!(
        sql_name.json::<Value>().await.unwrap()["name"],
        "Robert'); DROP TABLE users;--"
    );
    let dup = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"email": "BOBBY@example.com", "name": "Bob", "role": "viewer", "password": "correct horse battery staple 42!"}))
        .send()
        .await
        .unwrap();
    assert_error(dup, 409, "conflict").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_shown_once_used_and_revoked_at_once() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let created = app
        .client
        .post(app.url("/api/v1/api-keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "core banking", "scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("lg_") && secret.len() == 46);
    let id = created["id"].as_str().unwrap().to_owned();
    let list = app
        .client
        .get(app.url("/api/v1/api-keys"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains(&secret), "the list never holds secrets");
    let hash_on_disk = ledgerguard::auth::tokens::sha256_hex(&secret);
    assert!(list.contains(&id) && !list.contains(&hash_on_disk));
    // Both header forms work.
    let via_header = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(via_header.status(), 200);
    assert_eq!(me(&app, &secret).await.status(), 200);
    // A read key cannot administer.
    assert_error(
        app.client
            .get(app.url("/api/v1/users"))
            .header("x-api-key", &secret)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    // last_used_at is recorded (flushed every few seconds).
    let mut seen = false;
    for _ in 0..40 {
        let list: Value = app
            .client
            .get(app.url("/api/v1/api-keys"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == id && k["last_used_at"].is_string())
        {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(seen, "last_used_at recorded");
    let del = app
        .client
        .delete(app.url(&format!("/api/v1/api-keys/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert_error(me(&app, &secret).await, 401, "unauthorized").await;
    assert_error(
        app.client
            .delete(app.url("/api/v1/api-keys/nope"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let bad = app
        .client
        .post(app.url("/api/v1/api-keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "", "scopes": ["root"]}))
        .send()
        .await
        .unwrap();
    let body = assert_error(bad, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_admin_is_created_once_through_the_setup_token() {
    let app = spawn_app().await;
    let status: Value = app.get("/api/v1/setup").await.json().await.unwrap();
    assert_eq!(status["required"], true);
    let st = app.state.clone();
    let url = tokio::task::spawn_blocking(move || ledgerguard::auth::routes::issue_setup_url(&st))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let token = url.split("token=").nth(1).unwrap().to_owned();
    let post = |token: String, email: &'static str| {
        app.client
            .post(app.url("/api/v1/setup"))
            .json(&json!({"token": token, "email": email, "name": "First Admin", "password": "correct horse battery staple 42!"}))
            .send()
    };
    assert_error(
        post("wrong-token".into(), "root@example.com")
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let ok = post(token.clone(), "root@example.com").await.unwrap();
    assert_eq!(ok.status(), 201);
    assert_eq!(ok.json::<Value>().await.unwrap()["role"], "admin");
    assert_error(
        post(token, "second@example.com").await.unwrap(),
        409,
        "conflict",
    )
    .await;
    let status: Value = app.get("/api/v1/setup").await.json().await.unwrap();
    assert_eq!(status["required"], false);
    assert_eq!(
        app.login("root@example.com", "correct horse battery staple 42!")
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_cannot_be_demoted() {
    let app = spawn_app().await;
    let (email, password) = app.create_user("admin").await;
    let login: Value = app.login(&email, &password).await.json().await.unwrap();
    let id = login["user"]["id"].as_str().unwrap();
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(login["access_token"].as_str().unwrap())
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 409, "conflict").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_are_rate_limited_with_headers_and_metrics() {
    let app = spawn_app_with(|s| {
        s.rate_limit.anonymous_burst = 3;
        s.rate_limit.anonymous_per_minute = 1;
    })
    .await;
    for _ in 0..3 {
        let r = app.get("/api/v1/setup").await;
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("x-ratelimit-limit").is_some());
        assert!(r.headers().get("x-ratelimit-remaining").is_some());
    }
    let r = app.get("/api/v1/setup").await;
    assert!(r.headers().get("retry-after").is_some());
    assert_error(r, 429, "rate_limited").await;
    assert_eq!(app.get("/health").await.status(), 200, "health is exempt");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("ledgerguard_rate_limited_total{tier=\"anonymous\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_with_its_own_limit_is_throttled() {
    let app = spawn_app().await;
    let secret = ledgerguard::auth::tokens::new_api_key();
    let s = secret.clone();
    app.state
        .store
        .writer
        .write(move |conn| {
            ledgerguard::auth::store::insert_api_key(
                conn,
                "slow",
                &s,
                &[ledgerguard::auth::Scope::Read],
                Some(2),
                None,
            )
        })
        .await
        .unwrap();
    assert_eq!(me(&app, &secret).await.status(), 200);
    assert_eq!(me(&app, &secret).await.status(), 200);
    assert_error(me(&app, &secret).await, 429, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_audited_and_listed_for_admins() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let _ = app.login("ghost@example.com", "wrong wrong wrong").await;
    let audit: Value = app
        .client
        .get(app.url("/api/v1/audit?limit=500"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"auth.login"), "{actions:?}");
    assert!(actions.contains(&"auth.login_failed"), "{actions:?}");
    let failed: Value = app
        .client
        .get(app.url("/api/v1/audit?action=auth.login_failed"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(failed["items"].as_array().unwrap().len(), 1);
    assert_eq!(failed["items"][0]["details"]["email"], "ghost@example.com");
    assert_error(
        app.client
            .get(app.url("/api/v1/audit?from=yesterday"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
        400,
        "bad_request",
    )
    .await;
    let viewer = app.token("viewer").await;
    assert_error(
        app.client
            .get(app.url("/api/v1/audit"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
}
