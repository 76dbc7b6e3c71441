-- Partita's SQLite schema: the canonical form. Migrations in migrations/ must build exactly this.
CREATE TABLE schema_version (
    version INTEGER NOT NULL
);

-- One row per campaign version; a version never changes once written.
CREATE TABLE campaigns (
    namespace   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    api_version TEXT    NOT NULL,
    spec        TEXT    NOT NULL,   -- the spec as JSON, in its document (camelCase) shape
    digest      TEXT    NOT NULL,   -- sha256 of the canonical spec: the same spec is not stored twice
    create_time REAL    NOT NULL,
    request_id  TEXT,
    PRIMARY KEY (namespace, name, version)
);
CREATE UNIQUE INDEX campaigns_request ON campaigns (namespace, request_id) WHERE request_id IS NOT NULL;

-- One row per activation: a snapshot of its folded state, rebuilt from events if need be.
CREATE TABLE activations (
    namespace     TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    campaign      TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    create_time   REAL    NOT NULL,
    close_time    REAL,
    expire_time   REAL,             -- terminal activations are deleted after this time
    last_sequence INTEGER NOT NULL,
    snapshot      TEXT    NOT NULL,
    PRIMARY KEY (namespace, id)
);
CREATE INDEX activations_campaign ON activations (namespace, campaign, status);
CREATE INDEX activations_created ON activations (namespace, create_time, id);
CREATE INDEX activations_open ON activations (status) WHERE close_time IS NULL;
CREATE INDEX activations_expire ON activations (expire_time) WHERE expire_time IS NOT NULL;

-- The append-only history of every activation.
CREATE TABLE events (
    namespace     TEXT    NOT NULL,
    activation_id TEXT    NOT NULL,
    sequence      INTEGER NOT NULL,
    time          REAL    NOT NULL,
    type          TEXT    NOT NULL,
    stage         TEXT    NOT NULL,
    data          TEXT    NOT NULL,
    PRIMARY KEY (namespace, activation_id, sequence)
) WITHOUT ROWID;

-- Durable timers: re-armed from here after a restart.
CREATE TABLE timers (
    namespace     TEXT NOT NULL,
    activation_id TEXT NOT NULL,
    timer_id      TEXT NOT NULL,
    due           REAL NOT NULL,
    PRIMARY KEY (namespace, activation_id, timer_id)
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers (due);

-- Request ids already applied, so that a client's retry changes nothing twice.
CREATE TABLE requests (
    namespace     TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    activation_id TEXT NOT NULL,
    PRIMARY KEY (namespace, request_id)
) WITHOUT ROWID;

-- Schedules: their definition and the scheduler's progress through their fire times.
CREATE TABLE schedules (
    namespace         TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    definition        TEXT    NOT NULL,   -- JSON: spec, action and policies
    paused            INTEGER NOT NULL,
    note              TEXT    NOT NULL,
    remaining_actions INTEGER NOT NULL,   -- 0: unlimited
    last_time         REAL    NOT NULL,   -- every fire at or before this nominal time is handled
    buffered          TEXT    NOT NULL,   -- JSON list of fires waiting for open activations to close
    action_count      INTEGER NOT NULL,
    missed_catchup    INTEGER NOT NULL,
    create_time       REAL    NOT NULL,
    update_time       REAL    NOT NULL,
    revision          INTEGER NOT NULL,   -- bumped by every write: a stale writer fails
    request_id        TEXT,
    PRIMARY KEY (namespace, id)
);
CREATE UNIQUE INDEX schedules_request ON schedules (namespace, request_id) WHERE request_id IS NOT NULL;

-- The actions schedules took: the recent ones, and every one whose activation is open.
CREATE TABLE schedule_actions (
    namespace     TEXT NOT NULL,
    schedule_id   TEXT NOT NULL,
    nominal_time  REAL NOT NULL,
    actual_time   REAL NOT NULL,
    activation_id TEXT NOT NULL,
    PRIMARY KEY (namespace, schedule_id, nominal_time)
) WITHOUT ROWID;

-- Federation: a hub's dispatch outbox and a site's inbox, each row kept until acknowledged.
CREATE TABLE dispatches (
    role          TEXT    NOT NULL,   -- hub: sent to a site, site: received from the hub
    dispatch_id   TEXT    NOT NULL,
    site_id       TEXT    NOT NULL,   -- hub: the site it goes to, site: this site
    namespace     TEXT    NOT NULL,
    activation_id TEXT    NOT NULL,   -- hub: the remote stage's activation, site: the local one
    run_id        TEXT    NOT NULL,   -- hub: the remote stage run, site: empty
    attempt       INTEGER NOT NULL,
    message       TEXT    NOT NULL,   -- JSON: the dispatch as sent
    status        TEXT    NOT NULL,   -- PENDING, ACCEPTED, CLOSED (result not acknowledged), DONE
    cancel        TEXT    NOT NULL,   -- '', 'cancel' or 'terminate': asked of the site
    result        TEXT    NOT NULL,   -- JSON of the result once known, else ''
    create_time   REAL    NOT NULL,
    update_time   REAL    NOT NULL,
    PRIMARY KEY (role, dispatch_id)
) WITHOUT ROWID;
CREATE INDEX dispatches_open ON dispatches (role, status, site_id);

CREATE TABLE sites (
    site_id        TEXT NOT NULL PRIMARY KEY,
    plane_version  TEXT NOT NULL,
    last_seen_time REAL NOT NULL
) WITHOUT ROWID;
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
    create_time REAL    NOT NULL,
    update_time REAL    NOT NULL,
    close_time  REAL,
    revision    INTEGER NOT NULL,   -- bumped by every save: a writer holding an older one fails
    PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
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
) WITHOUT ROWID;

-- Security (issue 13): bearer tokens, kept only as digests, and the audit log of every
-- mutating call.
CREATE TABLE tokens (
    token_id    TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,   -- the principal (a client certificate of this name holds its grants)
    namespace   TEXT NOT NULL,   -- a namespace, or a star for every one
    role        TEXT NOT NULL,   -- reader, operator or admin
    digest      TEXT NOT NULL,   -- hex SHA-256 of the bearer secret (the secret is never kept)
    create_time REAL NOT NULL,
    expire_time REAL NOT NULL,   -- 0: never
    revoke_time REAL NOT NULL    -- 0: not revoked
) WITHOUT ROWID;
CREATE UNIQUE INDEX tokens_digest ON tokens (digest);
CREATE INDEX tokens_name ON tokens (name);

CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    time      REAL NOT NULL,
    identity  TEXT NOT NULL,
    namespace TEXT NOT NULL,
    rpc       TEXT NOT NULL,   -- /partita.v1.Service/Method
    result    TEXT NOT NULL    -- the name of the status code
);
CREATE INDEX audit_namespace ON audit (namespace, seq);

-- Secrets, sealed with AES-GCM (nonce and ciphertext): the plane never writes a value in clear.
CREATE TABLE secrets (
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    update_time REAL NOT NULL,
    PRIMARY KEY (namespace, name)
) WITHOUT ROWID;

-- Namespaces with quotas (a namespace without a row has none).
CREATE TABLE namespaces (
    name          TEXT    NOT NULL PRIMARY KEY,
    max_running   INTEGER NOT NULL,   -- most open activations, 0: no limit
    max_schedules INTEGER NOT NULL,   -- most schedules, 0: no limit
    create_time   REAL    NOT NULL
) WITHOUT ROWID;
