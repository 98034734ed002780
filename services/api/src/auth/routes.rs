//! Login, logout, users and API tokens.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use healthmon_store::accounts::{Role, Token, TokenKind, User, UserDeletion};
use healthmon_wire::auth::{LoginResponse, TokenCreated, TokenList, UserList};
use healthmon_wire::compat::LegacyToken;
use serde_json::Value;
use uuid::Uuid;

use super::limiter::{Client, Limited};
use super::{passwords, tokens, views};
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, Reader, Writer};
use crate::routes::table::{Access, RouteTable};
use crate::state::AppState;

const MAX_USERNAME_CHARS: usize = 64;
const MAX_TOKEN_NAME_CHARS: usize = 100;
const MAX_TOKEN_DAYS: i64 = 3650;

pub fn routes(table: RouteTable) -> RouteTable {
    table
        .route(
            Method::POST,
            "/api/v1/auth/login",
            Access::Public,
            "Exchange a username and password for a token",
            login,
        )
        .route(Method::POST, "/api/v1/auth/logout", Access::Reader, "Revoke the token this request carries", logout)
        .route(Method::GET, "/api/v1/users", Access::Admin, "List users", list_users)
        .route(Method::POST, "/api/v1/users", Access::Admin, "Create a user {username, password, role}", create_user)
        .route(
            Method::DELETE,
            "/api/v1/users/{username}",
            Access::Admin,
            "Delete a user (not the last admin)",
            delete_user,
        )
        .route(Method::GET, "/api/v1/tokens", Access::Reader, "List API tokens (yours; an admin sees all)", list_tokens)
        .route(Method::POST, "/api/v1/tokens", Access::Reader, "Create an API token for automation", create_token)
        .route(Method::DELETE, "/api/v1/tokens/{id}", Access::Reader, "Revoke an API token", revoke_token)
}

/// The `role` a body asks for: `default` when the field is absent, else a role name. Anything else
/// (`false`, `1`, `["admin"]`, `null`) is refused rather than read as absent: it says the client
/// meant something we would otherwise quietly replace with a role they did not ask for.
fn requested_role(body: &Value, default: Role) -> Option<Role> {
    match body.get("role") {
        None => Some(default),
        Some(Value::String(text)) => Role::parse(text),
        Some(_) => None,
    }
}

fn string_field<'a>(body: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    body.get(field).and_then(Value::as_str).ok_or_else(|| ApiError::invalid(field, "is required and must be a string"))
}

/// A session token for valid credentials; the same 401 for an unknown user and a wrong password.
pub async fn issue_session(
    state: &AppState,
    address: SocketAddr,
    body: &Value,
) -> Result<(String, DateTime<Utc>, Role), ApiError> {
    let username = string_field(body, "username")?;
    let password = string_field(body, "password")?;
    // The TCP peer: no forwarded header is trusted, so a client cannot pick whose counters it spends.
    let client = Client::of(address.ip());
    admit_login(state, username, client).await?;
    let user = state.store.user(username).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !passwords::verify(password.to_owned(), stored).await? {
        tracing::info!(username, client = %address.ip(), "failed login");
        return Err(ApiError::Unauthorized);
    }
    let user = user.ok_or(ApiError::Unauthorized)?;
    let client_text = client.to_string();
    if let Err(error) = state.store.remember_login_client(&user.username, &client_text, healthmon_store::now()).await {
        // The login itself succeeded; only the next budget bypass from here is lost.
        tracing::warn!(error = %format!("{error:#}"), "could not remember the login's client");
    }
    let issued = tokens::issue();
    let now = healthmon_store::now();
    let expires_at = now + state.config.session_ttl;
    let token = Token {
        id: Uuid::now_v7(),
        hash: issued.hash,
        username: user.username.clone(),
        role: user.role,
        kind: TokenKind::Session,
        name: None,
        created_at: now,
        expires_at: Some(expires_at),
        last_used_at: None,
    };
    state.store.create_token(&token).await?;
    tracing::info!(username = %user.username, "logged in");
    Ok((issued.secret, expires_at, user.role))
}

/// Counts a login attempt against the limits. When only the account's hourly budget is spent, a
/// client the account has logged in from before still gets in: a guesser spread over many
/// addresses can slow guessing down to the budget, but cannot lock the real user out.
async fn admit_login(state: &AppState, username: &str, client: Client) -> Result<(), ApiError> {
    match state.limiter.attempt(username, client) {
        Ok(()) => Ok(()),
        Err(Limited::Client(wait)) => Err(ApiError::TooManyRequests(wait)),
        Err(Limited::Account(wait)) => {
            if state.store.is_known_login_client(username, &client.to_string()).await? {
                Ok(())
            } else {
                Err(ApiError::TooManyRequests(wait))
            }
        }
    }
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<LoginResponse>, ApiError> {
    let (token, expires_at, role) = issue_session(&state, address, &body).await?;
    Ok(Json(LoginResponse { token, expires_at, role: views::role(role) }))
}

async fn logout(State(state): State<AppState>, Reader(caller): Reader) -> Result<StatusCode, ApiError> {
    state.store.revoke_token(caller.token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_users(State(state): State<AppState>, _: Writer) -> Result<Json<UserList>, ApiError> {
    let users = state.store.users().await?;
    Ok(Json(UserList { items: users.iter().map(views::user).collect() }))
}

fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
}

async fn create_user(
    State(state): State<AppState>,
    _: Writer,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let mut errors = healthmon_domain::ValidationErrors::new();
    let username = body.get("username").and_then(Value::as_str).unwrap_or_default();
    if !valid_username(username) {
        errors.add("username", format!("must be 1 to {MAX_USERNAME_CHARS} letters, digits or . _ - @"));
    }
    let password = body.get("password").and_then(Value::as_str).unwrap_or_default();
    if let Err(problem) = passwords::check_strength(password) {
        errors.add("password", problem);
    }
    let role = requested_role(&body, Role::Viewer);
    if role.is_none() {
        errors.add("role", "must be admin or viewer");
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let user = User {
        username: username.to_owned(),
        password_hash: passwords::hash(password.to_owned()).await?,
        role: role.unwrap_or(Role::Viewer),
        created_at: healthmon_store::now(),
    };
    if !state.store.create_user(&user).await? {
        return Err(ApiError::Conflict(format!("a user named {username} exists")));
    }
    tracing::info!(username, role = user.role.as_str(), "user created");
    let location = format!("/api/v1/users/{username}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(views::user(&user))).into_response())
}

async fn delete_user(
    State(state): State<AppState>,
    _: Writer,
    PathParam(username): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    match state.store.delete_user(&username).await? {
        UserDeletion::Deleted => {
            tracing::info!(%username, "user deleted");
            Ok(StatusCode::NO_CONTENT)
        }
        UserDeletion::NotFound => Err(ApiError::NotFound("no user with that name".into())),
        UserDeletion::LastAdmin => Err(ApiError::Conflict("the last admin cannot be deleted".into())),
    }
}

async fn list_tokens(State(state): State<AppState>, Reader(caller): Reader) -> Result<Json<TokenList>, ApiError> {
    let owner = (caller.role != Role::Admin).then_some(caller.username.as_str());
    let listed = state.store.api_tokens(owner).await?;
    Ok(Json(TokenList { items: listed.iter().map(views::token).collect() }))
}

async fn create_token(
    State(state): State<AppState>,
    Reader(caller): Reader,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let mut errors = healthmon_domain::ValidationErrors::new();
    let name = body.get("name").and_then(Value::as_str).map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS {
        errors.add("name", format!("is required, at most {MAX_TOKEN_NAME_CHARS} characters"));
    }
    let role = requested_role(&body, caller.role);
    match role {
        None => errors.add("role", "must be admin or viewer"),
        Some(role) if role > caller.role => errors.add("role", "cannot be higher than your own role"),
        Some(_) => {}
    }
    let days = match body.get("expires_in_days") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_i64().filter(|d| (1..=MAX_TOKEN_DAYS).contains(d)) {
            Some(days) => Some(days),
            None => {
                errors.add("expires_in_days", format!("must be a whole number from 1 to {MAX_TOKEN_DAYS}"));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let issued = tokens::issue();
    let now = healthmon_store::now();
    let token = Token {
        id: Uuid::now_v7(),
        hash: issued.hash,
        username: caller.username,
        role: role.unwrap_or(Role::Viewer),
        kind: TokenKind::Api,
        name: Some(name.to_owned()),
        created_at: now,
        expires_at: days.map(|days| now + Duration::days(days)),
        last_used_at: None,
    };
    state.store.create_token(&token).await?;
    let created = TokenCreated { view: views::token(&token), token: issued.secret };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    Reader(caller): Reader,
    PathParam(id): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound("no API token with that id".into());
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let owner = (caller.role != Role::Admin).then_some(caller.username.as_str());
    // Someone else's token is "not found" to a viewer: its existence is none of their business.
    if !state.store.api_tokens(owner).await?.iter().any(|token| token.id == id) {
        return Err(not_found());
    }
    state.store.revoke_token(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The predecessor's `POST /Login`: the same check, answering `{token}`.
pub async fn legacy_login(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<LegacyToken>, ApiError> {
    let (token, _, _) = issue_session(&state, address, &body).await?;
    Ok(Json(LegacyToken { token }))
}
