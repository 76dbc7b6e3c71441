-- 0002: schedules and the actions they took.
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
