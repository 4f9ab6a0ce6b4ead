//! The [`Store`] and [`AccountStore`] implementation shared by both engines.
//!
//! This file is compiled twice, as `sqlite::engine` and `postgres::engine`.
//! The parent module provides `Db` (the sqlx database type), `Engine` (the
//! store type, with fields `pool` and `faults`), `Engine::begin_write` and
//! `map_error`, plus `LOCK_GRANT_OF_REFRESH` and `PURGE_STATEMENTS`, the only
//! SQL that differs between the engines (in row locking). The rest runs
//! unchanged on both: `$N` placeholders, `RETURNING`, `ON CONFLICT ... DO
//! UPDATE` and `TRUE`/`FALSE` exist in PostgreSQL and in SQLite 3.35 and later.
//!
//! Each security decision is one transaction whose first write is a
//! conditional `UPDATE`, and the number of rows it changed shows whether this
//! call won. On PostgreSQL a concurrent `UPDATE` of the same row waits for the
//! winner to commit and then matches no row. On SQLite `begin_write` takes the
//! write lock up front (`BEGIN IMMEDIATE`), so the transactions run one at a
//! time.

use portcullis_grants::{
    AccessToken, Client, CodeRecord, Grant, GrantId, RedirectTarget, RefreshState, RefreshToken,
    SecretHash, Timestamp, UserId, ValidatedAuthorization,
};
use portcullis_server_core::{
    AccountStore, IssuedTokens, PendingAuthorization, Redemption, Rotation, Session, Store,
    StoreError, StoredCode, User,
};
use sqlx::Row;

use super::{Db, Engine, LOCK_GRANT_OF_REFRESH, PURGE_STATEMENTS, map_error};
use crate::codec::{
    challenge_from_sql, grant_id_from_sql, hash_from_sql, origin_from_sql, origin_to_sql,
    resource_from_sql, resource_to_sql, scope_from_sql, scope_to_sql, timestamp_from_sql,
    timestamp_to_sql, user_from_sql, user_to_sql,
};
use crate::fault::FaultPoint;

type DbRow = <Db as sqlx::Database>::Row;
type Transaction = sqlx::Transaction<'static, Db>;

/// The maximum number of rows one `DELETE` of [`Store::purge_expired`] removes,
/// so no purge statement holds its locks for long.
// NOTE: a guess, not measured. At about 100 bytes a row, a batch is about 100 KB of table data.
const PURGE_BATCH: usize = 1000;

/// The columns of `pending_authorizations` that make up a [`PendingAuthorization`].
macro_rules! pending_columns {
    () => {
        "session_hash, client_id, redirect_uri, redirect_uri_sent, state, \
         challenge, scope, resource, expires_at"
    };
}

/// Reads one column, mapping a missing column or a type mismatch to [`StoreError::Backend`].
fn get<'r, T>(row: &'r DbRow, column: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(column).map_err(map_error)
}

fn code_from_row(row: &DbRow) -> Result<StoredCode, StoreError> {
    let record = CodeRecord {
        grant: grant_id_from_sql(get(row, "grant_id")?, "grant_id")?,
        client_id: get(row, "client_id")?,
        redirect_uri: get(row, "redirect_uri")?,
        redirect_uri_sent: get(row, "redirect_uri_sent")?,
        challenge: challenge_from_sql(get(row, "challenge")?, "challenge")?,
        scope: scope_from_sql(get(row, "scope")?, "scope")?,
        resource: resource_from_sql(get(row, "resource")?, "resource")?,
        user: user_from_sql(get(row, "user_id")?),
        issued_at: timestamp_from_sql(get(row, "issued_at")?, "issued_at")?,
        expires_at: timestamp_from_sql(get(row, "expires_at")?, "expires_at")?,
    };
    Ok(StoredCode {
        record,
        consumed: get(row, "consumed")?,
    })
}

fn grant_from_row(row: &DbRow) -> Result<Grant, StoreError> {
    Ok(Grant {
        id: grant_id_from_sql(get(row, "id")?, "id")?,
        client_id: get(row, "client_id")?,
        user: user_from_sql(get(row, "user_id")?),
        scope: scope_from_sql(get(row, "scope")?, "scope")?,
        resource: resource_from_sql(get(row, "resource")?, "resource")?,
        created_at: timestamp_from_sql(get(row, "created_at")?, "created_at")?,
    })
}

fn access_token_from_row(row: &DbRow) -> Result<AccessToken, StoreError> {
    Ok(AccessToken {
        grant: grant_id_from_sql(get(row, "grant_id")?, "grant_id")?,
        user: user_from_sql(get(row, "user_id")?),
        scope: scope_from_sql(get(row, "scope")?, "scope")?,
        resource: resource_from_sql(get(row, "resource")?, "resource")?,
        issued_at: timestamp_from_sql(get(row, "issued_at")?, "issued_at")?,
        expires_at: timestamp_from_sql(get(row, "expires_at")?, "expires_at")?,
    })
}

fn refresh_token_from_row(row: &DbRow) -> Result<(RefreshToken, RefreshState), StoreError> {
    let token = RefreshToken {
        grant: grant_id_from_sql(get(row, "grant_id")?, "grant_id")?,
        issued_at: timestamp_from_sql(get(row, "issued_at")?, "issued_at")?,
        expires_at: timestamp_from_sql(get(row, "expires_at")?, "expires_at")?,
    };
    let state = if get(row, "rotated")? {
        RefreshState::Rotated
    } else {
        RefreshState::Active
    };
    Ok((token, state))
}

fn user_from_row(row: &DbRow) -> Result<User, StoreError> {
    Ok(User {
        id: user_from_sql(get(row, "id")?),
        username: get(row, "username")?,
        password_hash: get(row, "password_hash")?,
    })
}

fn session_from_row(row: &DbRow) -> Result<Session, StoreError> {
    let user: Option<i64> = get(row, "user_id")?;
    Ok(Session {
        user: user.map(user_from_sql),
        created_at: timestamp_from_sql(get(row, "created_at")?, "created_at")?,
        expires_at: timestamp_from_sql(get(row, "expires_at")?, "expires_at")?,
    })
}

fn pending_from_row(row: &DbRow) -> Result<PendingAuthorization, StoreError> {
    let request = ValidatedAuthorization {
        client_id: get(row, "client_id")?,
        redirect: RedirectTarget {
            uri: get(row, "redirect_uri")?,
            sent: get(row, "redirect_uri_sent")?,
        },
        state: get(row, "state")?,
        challenge: challenge_from_sql(get(row, "challenge")?, "challenge")?,
        scope: scope_from_sql(get(row, "scope")?, "scope")?,
        resource: resource_from_sql(get(row, "resource")?, "resource")?,
    };
    Ok(PendingAuthorization {
        request,
        session: hash_from_sql(get(row, "session_hash")?, "session_hash")?,
        expires_at: timestamp_from_sql(get(row, "expires_at")?, "expires_at")?,
    })
}

/// Builds a client from the rows of a `clients` join `client_redirect_uris`
/// query, one row per redirect URI in order, or one row with a `NULL` URI.
fn client_from_rows(id: &str, rows: &[DbRow]) -> Result<Option<Client>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let secret_hash: Option<&[u8]> = get(first, "secret_hash")?;
    let mut redirect_uris = Vec::with_capacity(rows.len());
    for row in rows {
        let uri: Option<String> = get(row, "uri")?;
        redirect_uris.extend(uri);
    }
    Ok(Some(Client {
        id: id.to_owned(),
        name: get(first, "name")?,
        secret_hash: secret_hash
            .map(|hash| hash_from_sql(hash, "secret_hash"))
            .transpose()?,
        redirect_uris,
        scope: scope_from_sql(get(first, "scope")?, "scope")?,
        origin: origin_from_sql(get(first, "origin")?, "origin")?,
        created_at: timestamp_from_sql(get(first, "created_at")?, "created_at")?,
    }))
}

async fn insert_grant(tx: &mut Transaction, grant: &Grant) -> Result<(), StoreError> {
    let scope = scope_to_sql(grant.scope);
    sqlx::query(
        "INSERT INTO grants (id, client_id, user_id, scope, resource, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(grant.id.0.as_slice())
    .bind(grant.client_id.as_str())
    .bind(user_to_sql(grant.user))
    .bind(scope.as_slice())
    .bind(resource_to_sql(grant.resource))
    .bind(timestamp_to_sql(grant.created_at))
    .execute(&mut **tx)
    .await
    .map_err(map_error)?;
    Ok(())
}

/// Inserts a new access token and an active refresh token.
async fn insert_tokens(
    engine: &Engine,
    tx: &mut Transaction,
    tokens: &IssuedTokens,
) -> Result<(), StoreError> {
    let access = &tokens.access;
    let scope = scope_to_sql(access.scope);
    sqlx::query(
        "INSERT INTO access_tokens (hash, grant_id, user_id, scope, resource, issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tokens.access_hash.as_bytes().as_slice())
    .bind(access.grant.0.as_slice())
    .bind(user_to_sql(access.user))
    .bind(scope.as_slice())
    .bind(resource_to_sql(access.resource))
    .bind(timestamp_to_sql(access.issued_at))
    .bind(timestamp_to_sql(access.expires_at))
    .execute(&mut **tx)
    .await
    .map_err(map_error)?;
    engine.faults.check(FaultPoint::AccessInserted)?;

    let refresh = &tokens.refresh;
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, grant_id, issued_at, expires_at, rotated) \
         VALUES ($1, $2, $3, $4, FALSE)",
    )
    .bind(tokens.refresh_hash.as_bytes().as_slice())
    .bind(refresh.grant.0.as_slice())
    .bind(timestamp_to_sql(refresh.issued_at))
    .bind(timestamp_to_sql(refresh.expires_at))
    .execute(&mut **tx)
    .await
    .map_err(map_error)?;
    Ok(())
}

/// Commits `tx` when `result` is `Ok`, and rolls it back otherwise.
///
/// A failed rollback is only logged: the database rolls back a transaction
/// whose connection is lost, and the caller gets the original error.
async fn finish<T>(tx: Transaction, result: Result<T, StoreError>) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(map_error)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::debug!(error = %rollback, "rollback after a failed write failed");
            }
            Err(error)
        }
    }
}

/// Marks the code consumed, then stores the grant and the first token pair.
async fn redeem_in(
    engine: &Engine,
    tx: &mut Transaction,
    hash: SecretHash,
    grant: &Grant,
    tokens: &IssuedTokens,
) -> Result<Redemption, StoreError> {
    let consumed =
        sqlx::query("UPDATE codes SET consumed = TRUE WHERE hash = $1 AND consumed = FALSE")
            .bind(hash.as_bytes().as_slice())
            .execute(&mut **tx)
            .await
            .map_err(map_error)?;
    if consumed.rows_affected() == 0 {
        // Either no such code, or another call consumed it first. A code that
        // is present but unconsumed here was inserted after this transaction's
        // `UPDATE` looked, so for this call it did not exist yet.
        let row = sqlx::query("SELECT grant_id FROM codes WHERE hash = $1 AND consumed = TRUE")
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_error)?;
        let Some(row) = row else {
            return Ok(Redemption::Unknown);
        };
        let grant = grant_id_from_sql(get(&row, "grant_id")?, "grant_id")?;
        tracing::debug!(grant = %grant, "authorization code was already redeemed");
        return Ok(Redemption::AlreadyUsed(grant));
    }
    engine.faults.check(FaultPoint::CodeConsumed)?;

    insert_grant(tx, grant).await?;
    engine.faults.check(FaultPoint::GrantInserted)?;
    insert_tokens(engine, tx, tokens).await?;
    Ok(Redemption::Redeemed)
}

/// Marks the refresh token rotated, then stores the new token pair.
async fn rotate_in(
    engine: &Engine,
    tx: &mut Transaction,
    old: SecretHash,
    tokens: &IssuedTokens,
) -> Result<Rotation, StoreError> {
    if let Some(lock) = LOCK_GRANT_OF_REFRESH {
        sqlx::query(lock)
            .bind(old.as_bytes().as_slice())
            .execute(&mut **tx)
            .await
            .map_err(map_error)?;
    }
    let rotated =
        sqlx::query("UPDATE refresh_tokens SET rotated = TRUE WHERE hash = $1 AND rotated = FALSE")
            .bind(old.as_bytes().as_slice())
            .execute(&mut **tx)
            .await
            .map_err(map_error)?;
    if rotated.rows_affected() == 0 {
        let row =
            sqlx::query("SELECT grant_id FROM refresh_tokens WHERE hash = $1 AND rotated = TRUE")
                .bind(old.as_bytes().as_slice())
                .fetch_optional(&mut **tx)
                .await
                .map_err(map_error)?;
        let Some(row) = row else {
            return Ok(Rotation::Unknown);
        };
        let grant = grant_id_from_sql(get(&row, "grant_id")?, "grant_id")?;
        tracing::debug!(grant = %grant, "rotated refresh token presented again");
        return Ok(Rotation::Reused(grant));
    }
    engine.faults.check(FaultPoint::RefreshRotated)?;

    insert_tokens(engine, tx, tokens).await?;
    Ok(Rotation::Rotated)
}

/// Deletes the grant, then every access and refresh token of it.
async fn revoke_in(engine: &Engine, tx: &mut Transaction, id: GrantId) -> Result<(), StoreError> {
    // Deleting the grant row first locks it, so a concurrent insert of a
    // token for this grant waits and then fails its foreign-key check. The
    // token deletes after it then see every token committed before.
    sqlx::query("DELETE FROM grants WHERE id = $1")
        .bind(id.0.as_slice())
        .execute(&mut **tx)
        .await
        .map_err(map_error)?;
    engine.faults.check(FaultPoint::GrantDeleted)?;
    sqlx::query("DELETE FROM access_tokens WHERE grant_id = $1")
        .bind(id.0.as_slice())
        .execute(&mut **tx)
        .await
        .map_err(map_error)?;
    sqlx::query("DELETE FROM refresh_tokens WHERE grant_id = $1")
        .bind(id.0.as_slice())
        .execute(&mut **tx)
        .await
        .map_err(map_error)?;
    Ok(())
}

/// Inserts the client row, then its redirect URIs in order.
async fn insert_client_in(tx: &mut Transaction, client: &Client) -> Result<(), StoreError> {
    let scope = scope_to_sql(client.scope);
    sqlx::query(
        "INSERT INTO clients (id, name, secret_hash, scope, origin, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(client.id.as_str())
    .bind(client.name.as_str())
    .bind(
        client
            .secret_hash
            .as_ref()
            .map(|hash| hash.as_bytes().as_slice()),
    )
    .bind(scope.as_slice())
    .bind(origin_to_sql(client.origin))
    .bind(timestamp_to_sql(client.created_at))
    .execute(&mut **tx)
    .await
    .map_err(map_error)?;

    for (position, uri) in client.redirect_uris.iter().enumerate() {
        let position = i32::try_from(position)
            .map_err(|_| StoreError::Backend("a client has more than 2^31 redirect URIs".into()))?;
        sqlx::query(
            "INSERT INTO client_redirect_uris (client_id, position, uri) VALUES ($1, $2, $3)",
        )
        .bind(client.id.as_str())
        .bind(position)
        .bind(uri.as_str())
        .execute(&mut **tx)
        .await
        .map_err(map_error)?;
    }
    Ok(())
}

impl Store for Engine {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.name, c.secret_hash, c.scope, c.origin, c.created_at, u.uri \
             FROM clients c LEFT JOIN client_redirect_uris u ON u.client_id = c.id \
             WHERE c.id = $1 ORDER BY u.position",
        )
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_error)?;
        client_from_rows(client_id, &rows)
    }

    async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = insert_client_in(&mut tx, &client).await;
        finish(tx, result).await
    }

    async fn insert_code(&self, hash: SecretHash, code: CodeRecord) -> Result<(), StoreError> {
        let scope = scope_to_sql(code.scope);
        sqlx::query(
            "INSERT INTO codes (hash, grant_id, client_id, redirect_uri, redirect_uri_sent, \
             challenge, scope, resource, user_id, issued_at, expires_at, consumed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, FALSE)",
        )
        .bind(hash.as_bytes().as_slice())
        .bind(code.grant.0.as_slice())
        .bind(code.client_id.as_str())
        .bind(code.redirect_uri.as_str())
        .bind(code.redirect_uri_sent)
        .bind(code.challenge.digest().as_slice())
        .bind(scope.as_slice())
        .bind(resource_to_sql(code.resource))
        .bind(user_to_sql(code.user))
        .bind(timestamp_to_sql(code.issued_at))
        .bind(timestamp_to_sql(code.expires_at))
        .execute(&self.pool)
        .await
        .map_err(map_error)?;
        Ok(())
    }

    async fn code(&self, hash: SecretHash) -> Result<Option<StoredCode>, StoreError> {
        let row = sqlx::query(
            "SELECT grant_id, client_id, redirect_uri, redirect_uri_sent, challenge, scope, \
             resource, user_id, issued_at, expires_at, consumed FROM codes WHERE hash = $1",
        )
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        row.as_ref().map(code_from_row).transpose()
    }

    async fn redeem_code(
        &self,
        hash: SecretHash,
        _now: Timestamp,
        grant: Grant,
        tokens: IssuedTokens,
    ) -> Result<Redemption, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = redeem_in(self, &mut tx, hash, &grant, &tokens).await;
        let outcome = finish(tx, result).await?;
        if outcome == Redemption::Redeemed {
            tracing::trace!(grant = %grant.id, "authorization code redeemed");
        }
        Ok(outcome)
    }

    async fn access_token(&self, hash: SecretHash) -> Result<Option<AccessToken>, StoreError> {
        // One primary-key lookup. NOTE: sqlx still allocates per query (argument
        // buffer and row), so this path is not allocation-free.
        let row = sqlx::query(
            "SELECT grant_id, user_id, scope, resource, issued_at, expires_at \
             FROM access_tokens WHERE hash = $1",
        )
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        row.as_ref().map(access_token_from_row).transpose()
    }

    async fn refresh_token(
        &self,
        hash: SecretHash,
    ) -> Result<Option<(RefreshToken, RefreshState)>, StoreError> {
        let row = sqlx::query(
            "SELECT grant_id, issued_at, expires_at, rotated FROM refresh_tokens WHERE hash = $1",
        )
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        row.as_ref().map(refresh_token_from_row).transpose()
    }

    async fn rotate_refresh(
        &self,
        old: SecretHash,
        _now: Timestamp,
        tokens: IssuedTokens,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = rotate_in(self, &mut tx, old, &tokens).await;
        let outcome = finish(tx, result).await?;
        if outcome == Rotation::Rotated {
            tracing::trace!(grant = %tokens.refresh.grant, "refresh token rotated");
        }
        Ok(outcome)
    }

    async fn grant(&self, id: GrantId) -> Result<Option<Grant>, StoreError> {
        let row = sqlx::query(
            "SELECT id, client_id, user_id, scope, resource, created_at FROM grants WHERE id = $1",
        )
        .bind(id.0.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        row.as_ref().map(grant_from_row).transpose()
    }

    async fn revoke_grant(&self, id: GrantId) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = revoke_in(self, &mut tx, id).await;
        finish(tx, result).await?;
        tracing::trace!(grant = %id, "grant revoked");
        Ok(())
    }

    async fn revoke_access_token(&self, hash: SecretHash) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM access_tokens WHERE hash = $1")
            .bind(hash.as_bytes().as_slice())
            .execute(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let now = timestamp_to_sql(now);
        let mut removed = 0;
        for statement in PURGE_STATEMENTS {
            loop {
                let batch = limit.saturating_sub(removed).min(PURGE_BATCH);
                if batch == 0 {
                    break;
                }
                let deleted = sqlx::query(statement)
                    .bind(now)
                    .bind(i64::try_from(batch).unwrap_or(i64::MAX))
                    .execute(&self.pool)
                    .await
                    .map_err(map_error)?
                    .rows_affected();
                let deleted = usize::try_from(deleted).unwrap_or(usize::MAX);
                removed = removed.saturating_add(deleted);
                if deleted < batch {
                    break;
                }
            }
        }
        tracing::debug!(removed, "expired rows purged");
        Ok(removed)
    }
}

impl AccountStore for Engine {
    async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, username, password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, username, password_hash FROM users WHERE id = $1")
            .bind(user_to_sql(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn insert_user(&self, username: &str, password_hash: &str) -> Result<User, StoreError> {
        let row =
            sqlx::query("INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id")
                .bind(username)
                .bind(password_hash)
                .fetch_one(&self.pool)
                .await
                .map_err(map_error)?;
        Ok(User {
            id: user_from_sql(get(&row, "id")?),
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
        })
    }

    async fn insert_session(&self, hash: SecretHash, session: Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, \
             created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(hash.as_bytes().as_slice())
        .bind(session.user.map(user_to_sql))
        .bind(timestamp_to_sql(session.created_at))
        .bind(timestamp_to_sql(session.expires_at))
        .execute(&self.pool)
        .await
        .map_err(map_error)?;
        Ok(())
    }

    async fn session(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query("SELECT user_id, created_at, expires_at FROM sessions WHERE hash = $1 AND expires_at > $2")
            .bind(hash.as_bytes().as_slice())
            .bind(timestamp_to_sql(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn delete_session(&self, hash: SecretHash) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE hash = $1")
            .bind(hash.as_bytes().as_slice())
            .execute(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn insert_pending(
        &self,
        hash: SecretHash,
        pending: PendingAuthorization,
    ) -> Result<(), StoreError> {
        let request = &pending.request;
        let scope = scope_to_sql(request.scope);
        sqlx::query(
            "INSERT INTO pending_authorizations (hash, session_hash, client_id, redirect_uri, \
             redirect_uri_sent, state, challenge, scope, resource, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (hash) DO UPDATE SET session_hash = excluded.session_hash, \
             client_id = excluded.client_id, redirect_uri = excluded.redirect_uri, \
             redirect_uri_sent = excluded.redirect_uri_sent, state = excluded.state, \
             challenge = excluded.challenge, scope = excluded.scope, \
             resource = excluded.resource, expires_at = excluded.expires_at",
        )
        .bind(hash.as_bytes().as_slice())
        .bind(pending.session.as_bytes().as_slice())
        .bind(request.client_id.as_str())
        .bind(request.redirect.uri.as_str())
        .bind(request.redirect.sent)
        .bind(request.state.as_deref())
        .bind(request.challenge.digest().as_slice())
        .bind(scope.as_slice())
        .bind(resource_to_sql(request.resource))
        .bind(timestamp_to_sql(pending.expires_at))
        .execute(&self.pool)
        .await
        .map_err(map_error)?;
        Ok(())
    }

    async fn pending(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            pending_columns!(),
            " FROM pending_authorizations WHERE hash = $1 AND expires_at > $2"
        ))
        .bind(hash.as_bytes().as_slice())
        .bind(timestamp_to_sql(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        row.as_ref().map(pending_from_row).transpose()
    }

    async fn take_pending(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        // The row goes even when expired, because it can never be used again.
        // Of two concurrent deletes, only one gets the row back.
        let row = sqlx::query(concat!(
            "DELETE FROM pending_authorizations WHERE hash = $1 RETURNING ",
            pending_columns!()
        ))
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        let pending = row.as_ref().map(pending_from_row).transpose()?;
        Ok(pending.filter(|pending| pending.expires_at > now))
    }
}
