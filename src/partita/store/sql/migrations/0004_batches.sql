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
