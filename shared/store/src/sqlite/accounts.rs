//! SQLite users and tokens.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::{SqliteStore, begin_write, from_micros, micros, optional_time, parse_uuid};
use crate::accounts::{Accounts, KNOWN_CLIENTS_PER_USER, Role, Token, TokenKind, User, UserDeletion};

const TOKEN_COLUMNS: &str = "id, hash, username, role, kind, name, created_at, expires_at, last_used_at";

fn user_from_row(row: &SqliteRow) -> anyhow::Result<User> {
    let role: String = row.try_get("role").context("read role")?;
    Ok(User {
        username: row.try_get("username").context("read username")?,
        password_hash: row.try_get("password_hash").context("read password hash")?,
        role: Role::parse(&role).context("stored role is unknown")?,
        created_at: from_micros(row.try_get("created_at").context("read created_at")?)?,
    })
}

fn token_from_row(row: &SqliteRow) -> anyhow::Result<Token> {
    let role: String = row.try_get("role").context("read role")?;
    let kind: String = row.try_get("kind").context("read kind")?;
    let id: String = row.try_get("id").context("read token id")?;
    Ok(Token {
        id: parse_uuid(&id)?,
        hash: row.try_get("hash").context("read token hash")?,
        username: row.try_get("username").context("read username")?,
        role: Role::parse(&role).context("stored role is unknown")?,
        kind: TokenKind::parse(&kind).context("stored token kind is unknown")?,
        name: row.try_get("name").context("read token name")?,
        created_at: from_micros(row.try_get("created_at").context("read created_at")?)?,
        expires_at: optional_time(row, "expires_at")?,
        last_used_at: optional_time(row, "last_used_at")?,
    })
}

#[async_trait]
impl Accounts for SqliteStore {
    async fn user_count(&self) -> anyhow::Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(self.pool()).await.context("count users")?;
        Ok(count.max(0) as u64)
    }

    async fn create_user(&self, user: &User) -> anyhow::Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(micros(user.created_at))
        .execute(self.pool())
        .await
        .context("insert user")?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn user(&self, username: &str) -> anyhow::Result<Option<User>> {
        let row = sqlx::query("SELECT username, password_hash, role, created_at FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(self.pool())
            .await
            .context("read user")?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn users(&self) -> anyhow::Result<Vec<User>> {
        let rows = sqlx::query("SELECT username, password_hash, role, created_at FROM users ORDER BY username")
            .fetch_all(self.pool())
            .await
            .context("list users")?;
        rows.iter().map(user_from_row).collect()
    }

    async fn delete_user(&self, username: &str) -> anyhow::Result<UserDeletion> {
        // BEGIN IMMEDIATE holds the write lock from the start, so the count and the delete are atomic.
        let mut tx = begin_write(self.pool()).await?;
        let admins: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin'")
            .fetch_one(&mut *tx)
            .await
            .context("count admins")?;
        let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await
            .context("read user")?;
        let outcome = match role.as_deref() {
            None => UserDeletion::NotFound,
            Some("admin") if admins <= 1 => UserDeletion::LastAdmin,
            Some(_) => {
                sqlx::query("DELETE FROM users WHERE username = ?")
                    .bind(username)
                    .execute(&mut *tx)
                    .await
                    .context("delete user")?;
                UserDeletion::Deleted
            }
        };
        tx.commit().await.context("commit")?;
        Ok(outcome)
    }

    async fn create_token(&self, token: &Token) -> anyhow::Result<()> {
        sqlx::query(&format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"))
            .bind(token.id.to_string())
            .bind(&token.hash)
            .bind(&token.username)
            .bind(token.role.as_str())
            .bind(token.kind.as_str())
            .bind(&token.name)
            .bind(micros(token.created_at))
            .bind(token.expires_at.map(micros))
            .bind(token.last_used_at.map(micros))
            .execute(self.pool())
            .await
            .context("insert token")?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> anyhow::Result<Option<Token>> {
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?"))
            .bind(hash)
            .fetch_optional(self.pool())
            .await
            .context("read token")?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query("UPDATE tokens SET last_used_at = ? WHERE id = ?")
            .bind(micros(at))
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .context("touch token")?;
        Ok(())
    }

    async fn revoke_token(&self, id: Uuid) -> anyhow::Result<bool> {
        let deleted = sqlx::query("DELETE FROM tokens WHERE id = ?")
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .context("revoke token")?;
        Ok(deleted.rows_affected() == 1)
    }

    async fn api_tokens(&self, username: Option<&str>) -> anyhow::Result<Vec<Token>> {
        let rows = match username {
            Some(username) => {
                sqlx::query(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE kind = 'api' AND username = ? ORDER BY created_at, id"
                ))
                .bind(username)
                .fetch_all(self.pool())
                .await
            }
            None => {
                sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE kind = 'api' ORDER BY created_at, id"))
                    .fetch_all(self.pool())
                    .await
            }
        }
        .context("list tokens")?;
        rows.iter().map(token_from_row).collect()
    }

    async fn remember_login_client(&self, username: &str, client: &str, at: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO login_clients (username, client, last_login_at) VALUES (?, ?, ?) \
             ON CONFLICT (username, client) DO UPDATE SET last_login_at = excluded.last_login_at",
        )
        .bind(username)
        .bind(client)
        .bind(micros(at))
        .execute(self.pool())
        .await
        .context("remember login client")?;
        sqlx::query(
            "DELETE FROM login_clients WHERE username = ?1 AND client NOT IN \
             (SELECT client FROM login_clients WHERE username = ?1 ORDER BY last_login_at DESC, client LIMIT ?2)",
        )
        .bind(username)
        .bind(KNOWN_CLIENTS_PER_USER)
        .execute(self.pool())
        .await
        .context("forget old login clients")?;
        Ok(())
    }

    async fn is_known_login_client(&self, username: &str, client: &str) -> anyhow::Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM login_clients WHERE username = ? AND client = ?")
            .bind(username)
            .bind(client)
            .fetch_optional(self.pool())
            .await
            .context("look up login client")?;
        Ok(found.is_some())
    }
}
