-- Partita's PostgreSQL schema: the canonical form. Migrations in migrations/ must build exactly this.
-- Times are seconds since the epoch (DOUBLE PRECISION), as on SQLite; JSON is kept as TEXT.
CREATE TABLE schema_version (
    version INTEGER NOT NULL
);

-- One row per campaign version; a version never changes once written.
CREATE TABLE campaigns (
    namespace   TEXT             NOT NULL,
    name        TEXT             NOT NULL,
    version     INTEGER          NOT NULL,
    api_version TEXT             NOT NULL,
    spec        TEXT             NOT NULL,
    digest      TEXT             NOT NULL,
    create_time DOUBLE PRECISION NOT NULL,
    request_id  TEXT,
    PRIMARY KEY (namespace, name, version)
);
CREATE UNIQUE INDEX campaigns_request ON campaigns (namespace, request_id) WHERE request_id IS NOT NULL;

-- One row per activation: a snapshot of its folded state. ``owner`` is the replica driving it.
CREATE TABLE activations (
    namespace     TEXT             NOT NULL,
    id            TEXT             NOT NULL,
    campaign      TEXT             NOT NULL,
    version       INTEGER          NOT NULL,
    status        TEXT             NOT NULL,
    create_time   DOUBLE PRECISION NOT NULL,
    close_time    DOUBLE PRECISION,
    expire_time   DOUBLE PRECISION,
    last_sequence BIGINT           NOT NULL,
    snapshot      TEXT             NOT NULL,
    owner         TEXT             NOT NULL,
    PRIMARY KEY (namespace, id)
);
CREATE INDEX activations_campaign ON activations (namespace, campaign, status);
CREATE INDEX activations_created ON activations (namespace, create_time, id);
CREATE INDEX activations_open ON activations (owner) WHERE close_time IS NULL;
CREATE INDEX activations_expire ON activations (expire_time) WHERE expire_time IS NOT NULL;

-- The append-only history of every activation.
CREATE TABLE events (
    namespace     TEXT             NOT NULL,
    activation_id TEXT             NOT NULL,
    sequence      BIGINT           NOT NULL,
    time          DOUBLE PRECISION NOT NULL,
    type          TEXT             NOT NULL,
    stage         TEXT             NOT NULL,
    data          TEXT             NOT NULL,
    PRIMARY KEY (namespace, activation_id, sequence)
);

-- Durable timers: re-armed from here by the activation's owner.
CREATE TABLE timers (
    namespace     TEXT             NOT NULL,
    activation_id TEXT             NOT NULL,
    timer_id      TEXT             NOT NULL,
    due           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (namespace, activation_id, timer_id)
);
CREATE INDEX timers_due ON timers (due);

-- Request ids already applied, so that a client's retry changes nothing twice.
CREATE TABLE requests (
    namespace     TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    activation_id TEXT NOT NULL,
    PRIMARY KEY (namespace, request_id)
);

-- Schedules: their definition and the scheduler's progress through their fire times.
CREATE TABLE schedules (
    namespace         TEXT             NOT NULL,
    id                TEXT             NOT NULL,
    definition        TEXT             NOT NULL,
    paused            BOOLEAN          NOT NULL,
    note              TEXT             NOT NULL,
    remaining_actions INTEGER          NOT NULL,
    last_time         DOUBLE PRECISION NOT NULL,
    buffered          TEXT             NOT NULL,
    action_count      INTEGER          NOT NULL,
    missed_catchup    INTEGER          NOT NULL,
    create_time       DOUBLE PRECISION NOT NULL,
    update_time       DOUBLE PRECISION NOT NULL,
    revision          INTEGER          NOT NULL,
    request_id        TEXT,
    PRIMARY KEY (namespace, id)
);
CREATE UNIQUE INDEX schedules_request ON schedules (namespace, request_id) WHERE request_id IS NOT NULL;

-- The actions schedules took: the recent ones, and every one whose activation is open.
CREATE TABLE schedule_actions (
    namespace     TEXT             NOT NULL,
    schedule_id   TEXT             NOT NULL,
    nominal_time  DOUBLE PRECISION NOT NULL,
    actual_time   DOUBLE PRECISION NOT NULL,
    activation_id TEXT             NOT NULL,
    PRIMARY KEY (namespace, schedule_id, nominal_time)
);

-- The replicas of this site: each renews its lease; a replica past its lease owns nothing.
CREATE TABLE replicas (
    id          TEXT             NOT NULL PRIMARY KEY,
    address     TEXT             NOT NULL,   -- where the other replicas reach it (host:port)
    start_time  DOUBLE PRECISION NOT NULL,
    lease_until DOUBLE PRECISION NOT NULL    -- database clock: replicas' clocks need not agree
);

-- Stage tasks waiting for a worker: written with the transition that enqueued them, claimed
-- by any replica's poll (FOR UPDATE SKIP LOCKED), deleted once leased.
CREATE TABLE tasks (
    seq           BIGSERIAL        NOT NULL,
    namespace     TEXT             NOT NULL,
    task_queue    TEXT             NOT NULL,
    activation_id TEXT             NOT NULL,
    run_id        TEXT             NOT NULL,
    attempt       INTEGER          NOT NULL,
    payload       TEXT             NOT NULL,
    claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0,   -- a poll holds it until then
    PRIMARY KEY (namespace, activation_id, run_id, attempt)
);
CREATE INDEX tasks_queue ON tasks (namespace, task_queue, seq);
-- Federation: dispatches kept until the other side acknowledges them (a hub's outbox,
-- a site's inbox), and the sites a hub has heard from.
CREATE TABLE dispatches (
    role          TEXT             NOT NULL,   -- hub: sent to a site, site: received from the hub
    dispatch_id   TEXT             NOT NULL,
    site_id       TEXT             NOT NULL,
    namespace     TEXT             NOT NULL,
    activation_id TEXT             NOT NULL,
    run_id        TEXT             NOT NULL,
    attempt       INTEGER          NOT NULL,
    message       TEXT             NOT NULL,   -- JSON: the dispatch as sent
    status        TEXT             NOT NULL,   -- PENDING, ACCEPTED, CLOSED, DONE
    cancel        TEXT             NOT NULL,   -- '', 'cancel' or 'terminate': asked of the site
    result        TEXT             NOT NULL,   -- JSON of the result once known, else ''
    create_time   DOUBLE PRECISION NOT NULL,
    update_time   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (role, dispatch_id)
);
CREATE INDEX dispatches_open ON dispatches (role, status, site_id);

CREATE TABLE sites (
    site_id        TEXT             NOT NULL PRIMARY KEY,
    plane_version  TEXT             NOT NULL,
    last_seen_time DOUBLE PRECISION NOT NULL
);

-- Batch actions (issue 12): one durable operation over every activation matching a filter,
-- with its progress, so that it goes on after a restart where it stopped.
CREATE TABLE batches (
    namespace   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,   -- the StartBatch request id ('' when none): idempotency
    spec        TEXT    NOT NULL,   -- JSON: action, filter and the action's arguments
    status      TEXT    NOT NULL,   -- RUNNING, COMPLETED
    cursor      TEXT    NOT NULL,   -- JSON of the last activation key handled, '' at first
    total       INTEGER NOT NULL,   -- activations matching the filter when it started
    done        INTEGER NOT NULL,   -- the action changed the activation (or had already)
    skipped     INTEGER NOT NULL,   -- the action did not apply (e.g. already closed)
    failed      INTEGER NOT NULL,   -- the action failed
    last_error  TEXT    NOT NULL,
    create_time DOUBLE PRECISION NOT NULL,
    update_time DOUBLE PRECISION NOT NULL,
    close_time  DOUBLE PRECISION,
    revision    INTEGER NOT NULL,   -- bumped by every save: a writer holding an older one fails
    PRIMARY KEY (namespace, id)
);
CREATE INDEX batches_open ON batches (status);
CREATE INDEX batches_by_time ON batches (namespace, create_time);

-- Large payloads (issue 12): inputs and outputs above a threshold are kept here, apart from
-- the history; an event holds a reference to its payload instead of the value.
CREATE TABLE payloads (
    namespace     TEXT NOT NULL,
    activation_id TEXT NOT NULL,
    ref           TEXT NOT NULL,   -- '<event sequence>/<field>', unique in the activation
    data          TEXT NOT NULL,   -- JSON of the value
    PRIMARY KEY (namespace, activation_id, ref)
);

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
