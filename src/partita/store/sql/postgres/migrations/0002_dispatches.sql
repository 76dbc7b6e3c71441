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
