-- Initial schema of the portcullis PostgreSQL store.
--
-- Every secret (code, token, client secret, session id, pending request id) is
-- stored as its 32-byte SHA-256 digest. Scope sets are 16-byte values holding
-- the 128-bit set in big-endian order. Resources are their index in the
-- server's append-only resource list. Times are seconds since the Unix epoch.

CREATE TABLE clients (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash BYTEA CHECK (secret_hash IS NULL OR octet_length(secret_hash) = 32),
    scope BYTEA NOT NULL CHECK (octet_length(scope) = 16),
    origin TEXT NOT NULL CHECK (origin IN ('administrator', 'dynamic')),
    created_at BIGINT NOT NULL
);

CREATE TABLE client_redirect_uris (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    uri TEXT NOT NULL,
    PRIMARY KEY (client_id, position)
);

CREATE TABLE codes (
    hash BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    grant_id BYTEA NOT NULL CHECK (octet_length(grant_id) = 16),
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    redirect_uri_sent BOOLEAN NOT NULL,
    challenge BYTEA NOT NULL CHECK (octet_length(challenge) = 32),
    scope BYTEA NOT NULL CHECK (octet_length(scope) = 16),
    resource INTEGER NOT NULL CHECK (resource BETWEEN 0 AND 65535),
    user_id BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed BOOLEAN NOT NULL
);

CREATE INDEX codes_expires_at ON codes (expires_at);

CREATE TABLE grants (
    id BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(id) = 16),
    client_id TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    scope BYTEA NOT NULL CHECK (octet_length(scope) = 16),
    resource INTEGER NOT NULL CHECK (resource BETWEEN 0 AND 65535),
    created_at BIGINT NOT NULL
);

-- A token cannot outlive its grant: the foreign key makes an insert for a
-- revoked grant fail, and deleting the grant deletes its tokens.
CREATE TABLE access_tokens (
    hash BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    grant_id BYTEA NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    scope BYTEA NOT NULL CHECK (octet_length(scope) = 16),
    resource INTEGER NOT NULL CHECK (resource BETWEEN 0 AND 65535),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX access_tokens_grant_id ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    hash BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    grant_id BYTEA NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated BOOLEAN NOT NULL
);

CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- An identity column never gives a deleted user's id to a new user.
CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL
);

CREATE TABLE sessions (
    hash BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    user_id BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE pending_authorizations (
    hash BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    session_hash BYTEA NOT NULL CHECK (octet_length(session_hash) = 32),
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    redirect_uri_sent BOOLEAN NOT NULL,
    state TEXT,
    challenge BYTEA NOT NULL CHECK (octet_length(challenge) = 32),
    scope BYTEA NOT NULL CHECK (octet_length(scope) = 16),
    resource INTEGER NOT NULL CHECK (resource BETWEEN 0 AND 65535),
    expires_at BIGINT NOT NULL
);

CREATE INDEX pending_authorizations_expires_at ON pending_authorizations (expires_at);
