//! The first start: with no users at all, create `admin`, never with a fixed default password.

use healthmon_store::Store;
use healthmon_store::accounts::{Role, User};

use super::passwords;

pub async fn ensure_admin(store: &dyn Store, configured_password: Option<&str>) -> anyhow::Result<()> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    let (password, generated) = match configured_password {
        Some(password) => (password.to_owned(), false),
        None => (passwords::random_password(), true),
    };
    let user = User {
        username: "admin".into(),
        password_hash: passwords::hash(password.clone()).await?,
        role: Role::Admin,
        created_at: healthmon_store::now(),
    };
    // Another API instance starting at the same moment may have won; then nothing is logged here.
    if store.create_user(&user).await? {
        if generated {
            // The one place a secret is logged: the operator has no other way to learn it.
            tracing::warn!(username = "admin", password = %password, "created the first admin with a random password; change it or create your own admin and delete this one");
        } else {
            tracing::info!(username = "admin", "created the first admin with HEALTHMON_ADMIN_PASSWORD");
        }
    }
    Ok(())
}
