-- Security (issue 13): bearer tokens, kept only as digests, and the audit log of every
-- mutating call.
CREATE TABLE tokens (
    token_id    TEXT             NOT NULL PRIMARY KEY,
    name        TEXT             NOT NULL,   -- the principal (a client certificate of this name holds its grants)
    namespace   TEXT             NOT NULL,   -- a namespace, or a star for every one
    role        TEXT             NOT NULL,   -- reader, operator or admin
    digest      TEXT             NOT NULL,   -- hex SHA-256 of the bearer secret (never the secret)
    create_time DOUBLE PRECISION NOT NULL,
    expire_time DOUBLE PRECISION NOT NULL,   -- 0: never
    revoke_time DOUBLE PRECISION NOT NULL    -- 0: not revoked
);
CREATE UNIQUE INDEX tokens_digest ON tokens (digest);
CREATE INDEX tokens_name ON tokens (name);

CREATE TABLE audit (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time      DOUBLE PRECISION NOT NULL,
    identity  TEXT             NOT NULL,
    namespace TEXT             NOT NULL,
    rpc       TEXT             NOT NULL,   -- /partita.v1.Service/Method
    result    TEXT             NOT NULL    -- the name of the status code
);
CREATE INDEX audit_namespace ON audit (namespace, seq);

-- Secrets, sealed with AES-GCM (nonce and ciphertext): the plane never writes a value in clear.
CREATE TABLE secrets (
    namespace   TEXT             NOT NULL,
    name        TEXT             NOT NULL,
    sealed      BYTEA            NOT NULL,
    update_time DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (namespace, name)
);

-- Namespaces with quotas (a namespace without a row has none).
CREATE TABLE namespaces (
    name          TEXT             NOT NULL PRIMARY KEY,
    max_running   INTEGER          NOT NULL,   -- most open activations, 0: no limit
    max_schedules INTEGER          NOT NULL,   -- most schedules, 0: no limit
    create_time   DOUBLE PRECISION NOT NULL
);
