//! `ledgerguard init`, `user …`, `apikey …` and `audit verify`: identity and audit from the
//! shell. They work while a server runs (SQLite serialises the writers; the server's caches
//! pick up changes within seconds).

use std::io::{IsTerminal, Read};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::audit::{self, Actor, Entry, Verdict};
use crate::auth::admin::{validate_new_key, validate_new_user};
use crate::auth::store as auth_store;
use crate::auth::{password, tokens, Role};
use crate::config::Settings;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Create the first admin with this email.
    #[arg(long, value_name = "EMAIL")]
    pub admin_email: Option<String>,
    /// The first admin's display name.
    #[arg(long, value_name = "NAME", default_value = "Administrator")]
    pub admin_name: String,
    /// Read the admin's password from standard input instead of generating one.
    #[arg(long)]
    pub admin_password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, analyst or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Disable a user (their sessions stop at once).
    Disable { email: String },
    /// Clear a user's failed-login lockout.
    Unlock { email: String },
    /// Set a new password (generated unless --password-stdin) and end the user's sessions.
    ResetPassword {
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; its secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated: ingest, read, admin.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// The key's own request limit per minute (below the global API key tier).
        #[arg(long)]
        per_minute: Option<u32>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit hash chain; exit 1 and name the first bad row on a break.
    Verify,
}

fn open(settings: &Settings) -> anyhow::Result<Store> {
    crate::store::ensure_private_dir(settings.data_dir()).with_context(|| {
        format!(
            "cannot create the data dir {}",
            settings.data_dir().display()
        )
    })?;
    Store::open(settings).with_context(|| {
        format!(
            "cannot open the database in {}",
            settings.data_dir().display()
        )
    })
}

/// Reads a password from stdin (first line), or generates one and says so.
fn password_from(stdin: bool) -> anyhow::Result<(String, bool)> {
    if stdin {
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .context("cannot read the password from stdin")?;
        let pw = buf.lines().next().unwrap_or("").to_owned();
        if pw.is_empty() {
            bail!("no password on stdin");
        }
        Ok((pw, false))
    } else {
        Ok((password::generate(), true))
    }
}

fn create_user(
    settings: &Settings,
    store: &Store,
    email: &str,
    name: &str,
    role: &str,
    stdin: bool,
) -> anyhow::Result<()> {
    let (pw, generated) = password_from(stdin)?;
    let (email, name, role) =
        validate_new_user(email, name, role, &pw, &settings.auth).map_err(|errors| {
            anyhow::anyhow!(errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "))
        })?;
    let hash = password::hash(&pw, settings.auth.bcrypt_cost).map_err(anyhow::Error::msg)?;
    let user = store
        .writer
        .write_blocking(move |conn| {
            let Some(user) = auth_store::insert_user(conn, &email, &name, role, &hash)? else {
                return Ok(None);
            };
            audit::append(
                conn,
                Entry::new(&Actor::cli(), "user.created")
                    .target("user", &user.id)
                    .details(json!({"email": user.email, "role": role})),
            )?;
            Ok(Some(user))
        })?
        .context("a user with this email already exists")?;
    println!(
        "created {} user {} ({})",
        user.role.as_str(),
        user.email,
        user.id
    );
    if generated {
        println!("password (shown once): {pw}");
    }
    Ok(())
}

pub fn init(settings: &Settings, args: InitArgs) -> anyhow::Result<()> {
    let store = open(settings)?;
    tokens::load_or_create_key(&settings.jwt_key_path()).map_err(anyhow::Error::msg)?;
    println!("data dir ready: {}", settings.data_dir().display());
    let result = match args.admin_email {
        Some(email) => create_user(
            settings,
            &store,
            &email,
            &args.admin_name,
            "admin",
            args.admin_password_stdin,
        ),
        None => {
            println!("no admin created; run `ledgerguard init --admin-email you@example.com` or open the setup URL `serve` logs");
            Ok(())
        }
    };
    store.close();
    result
}

pub fn user(settings: &Settings, cmd: UserCommand) -> anyhow::Result<()> {
    let store = open(settings)?;
    let result = run_user(settings, &store, cmd);
    store.close();
    result
}

fn find_user(store: &Store, email: &str) -> anyhow::Result<auth_store::UserAuth> {
    let conn = store.read()?;
    auth_store::user_by_email(&conn, &email.trim().to_lowercase())?
        .with_context(|| format!("no user with email {email}"))
}

fn run_user(settings: &Settings, store: &Store, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            email,
            name,
            role,
            password_stdin,
        } => create_user(settings, store, &email, &name, &role, password_stdin),
        UserCommand::List => {
            let conn = store.read()?;
            let users = auth_store::list_users(&conn, None, 100_000)?;
            println!(
                "{:<38} {:<32} {:<8} {:<9} NAME",
                "ID", "EMAIL", "ROLE", "STATUS"
            );
            for u in users {
                let status = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{:<38} {:<32} {:<8} {:<9} {}",
                    u.id,
                    u.email,
                    u.role.as_str(),
                    status,
                    u.name
                );
            }
            Ok(())
        }
        UserCommand::Disable { email } => {
            let user = find_user(store, &email)?;
            let id = user.user.id.clone();
            let refused = store.writer.write_blocking(move |conn| {
                if user.user.role == Role::Admin
                    && !user.user.disabled
                    && auth_store::count_admins(conn)? <= 1
                {
                    return Ok(true);
                }
                auth_store::update_user(conn, &id, None, None, Some(true))?;
                audit::append(
                    conn,
                    Entry::new(&Actor::cli(), "user.updated")
                        .target("user", &id)
                        .details(json!({"disabled": true})),
                )?;
                Ok(false)
            })?;
            if refused {
                bail!("{email} is the last active admin; create another admin first");
            }
            println!("disabled {email}");
            Ok(())
        }
        UserCommand::Unlock { email } => {
            let user = find_user(store, &email)?;
            store.writer.write_blocking(move |conn| {
                auth_store::clear_failures(conn, &user.user.email)?;
                audit::append(
                    conn,
                    Entry::new(&Actor::cli(), "user.unlocked").target("user", &user.user.id),
                )
            })?;
            println!("unlocked {email}");
            Ok(())
        }
        UserCommand::ResetPassword {
            email,
            password_stdin,
        } => {
            let user = find_user(store, &email)?;
            let (pw, generated) = password_from(password_stdin)?;
            password::check_policy(&pw, &[&user.user.email, &user.user.name], &settings.auth)
                .map_err(|m| anyhow::anyhow!("password: {m}"))?;
            let hash =
                password::hash(&pw, settings.auth.bcrypt_cost).map_err(anyhow::Error::msg)?;
            let id = user.user.id.clone();
            store.writer.write_blocking(move |conn| {
                auth_store::set_password(conn, &id, &hash)?;
                auth_store::revoke_user_sessions(conn, &id, None)?;
                auth_store::clear_failures(conn, &user.user.email)?;
                audit::append(
                    conn,
                    Entry::new(&Actor::cli(), "auth.password_reset").target("user", &id),
                )
            })?;
            println!("password reset for {email}; their sessions were ended");
            if generated {
                println!("password (shown once): {pw}");
            }
            Ok(())
        }
    }
}

pub fn apikey(settings: &Settings, cmd: ApiKeyCommand) -> anyhow::Result<()> {
    let store = open(settings)?;
    let result = run_apikey(&store, cmd);
    store.close();
    result
}

fn run_apikey(store: &Store, cmd: ApiKeyCommand) -> anyhow::Result<()> {
    match cmd {
        ApiKeyCommand::Create {
            name,
            scopes,
            per_minute,
        } => {
            let (name, scopes) =
                validate_new_key(&name, &scopes, per_minute).map_err(|errors| {
                    anyhow::anyhow!(errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; "))
                })?;
            let secret = tokens::new_api_key();
            let s = secret.clone();
            let key = store.writer.write_blocking(move |conn| {
                let key = auth_store::insert_api_key(conn, &name, &s, &scopes, per_minute, None)?;
                audit::append(
                    conn,
                    Entry::new(&Actor::cli(), "api_key.created")
                        .target("api_key", &key.id)
                        .details(json!({"name": key.name, "scopes": key.scopes})),
                )?;
                Ok(key)
            })?;
            if std::io::stdout().is_terminal() {
                println!(
                    "created API key {} ({}); the secret is shown once:",
                    key.name, key.id
                );
            }
            println!("{secret}");
            Ok(())
        }
        ApiKeyCommand::List => {
            let conn = store.read()?;
            let keys = auth_store::list_api_keys(&conn, None, 100_000)?;
            println!(
                "{:<38} {:<24} {:<18} {:<12} LAST USED",
                "ID", "NAME", "SCOPES", "STATUS"
            );
            for k in keys {
                let scopes = k
                    .scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",");
                let status = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:<38} {:<24} {:<18} {:<12} {}",
                    k.id,
                    k.name,
                    scopes,
                    status,
                    k.last_used_at.as_deref().unwrap_or("never")
                );
            }
            Ok(())
        }
        ApiKeyCommand::Revoke { id } => {
            let found = store.writer.write_blocking(move |conn| {
                let Some(key) = auth_store::revoke_api_key(conn, &id)? else {
                    return Ok(false);
                };
                audit::append(
                    conn,
                    Entry::new(&Actor::cli(), "api_key.revoked").target("api_key", &key.id),
                )?;
                Ok(true)
            })?;
            if !found {
                bail!("no such API key");
            }
            println!("revoked");
            Ok(())
        }
    }
}

pub fn audit(settings: &Settings, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify => {
            let path = settings.database_path();
            if !path.exists() {
                bail!("no database at {}", path.display());
            }
            let conn = rusqlite::Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            match audit::verify(&conn)? {
                Verdict::Intact { rows } => {
                    println!("audit chain intact: {rows} rows");
                    Ok(())
                }
                Verdict::Broken { seq, id, reason } => {
                    bail!("audit chain broken at row {seq} (id {id}): {reason}")
                }
            }
        }
    }
}
