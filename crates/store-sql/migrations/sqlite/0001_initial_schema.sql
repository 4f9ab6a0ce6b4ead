-- Initial schema of the portcullis SQLite store.
--
-- Every secret (code, token, client secret, session id, pending request id) is
-- stored as its 32-byte SHA-256 digest. Scope sets are 16-byte blobs holding
-- the 128-bit set in big-endian order. Resources are their index in the
-- server's append-only resource list. Times are seconds since the Unix epoch.
-- Booleans are 0 or 1.

CREATE TABLE clients (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash BLOB CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    scope BLOB NOT NULL CHECK (length(scope) = 16),
    origin TEXT NOT NULL CHECK (origin IN ('administrator', 'dynamic')),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE client_redirect_uris (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    uri TEXT NOT NULL,
    PRIMARY KEY (client_id, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE codes (
    hash BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    grant_id BLOB NOT NULL CHECK (length(grant_id) = 16),
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    redirect_uri_sent INTEGER NOT NULL CHECK (redirect_uri_sent IN (0, 1)),
    challenge BLOB NOT NULL CHECK (length(challenge) = 32),
    scope BLOB NOT NULL CHECK (length(scope) = 16),
    resource INTEGER NOT NULL CHECK (resource BETWEEN 0 AND 65535),
    user_id INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    consumed INTEGER NOT NULL CHECK (consumed IN (0, 1))
) STRICT, WITHOUT ROWID;

CREATE INDEX codes_expires_at ON codes (expires_at);

CREATE TABLE grants (
    id BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    client_id TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    scope BLOB NOT NULL CHECK (length(scope) = 16),
    resource INTEGER NOT NULL CHECK (resource BETWEEN 0 AND 65535),
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- A token cannot outlive its grant: the foreign key makes an insert for a
-- revoked grant fail, and deleting the grant deletes its tokens.
CREATE TABLE access_tokens (
    hash BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    grant_id BLOB NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    scope BLOB NOT NULL CHECK (length(scope) = 16),
    resource INTEGER NOT NULL CHECK (resource BETWEEN 0 AND 65535),
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX access_tokens_grant_id ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    hash BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    grant_id BLOB NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated INTEGER NOT NULL CHECK (rotated IN (0, 1))
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- AUTOINCREMENT: a deleted user's id is never given to a new user.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
    hash BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    user_id INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE pending_authorizations (
    hash BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    session_hash BLOB NOT NULL CHECK (length(session_hash) = 32),
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    redirect_uri_sent INTEGER NOT NULL CHECK (redirect_uri_sent IN (0, 1)),
    state TEXT,
    challenge BLOB NOT NULL CHECK (length(challenge) = 32),
    scope BLOB NOT NULL CHECK (length(scope) = 16),
    resource INTEGER NOT NULL CHECK (resource BETWEEN 0 AND 65535),
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX pending_authorizations_expires_at ON pending_authorizations (expires_at);
