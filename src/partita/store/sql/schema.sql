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
