-- Federation: dispatches kept until the other side acknowledges them (a hub's outbox,
-- a site's inbox), and the sites a hub has heard from.
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
