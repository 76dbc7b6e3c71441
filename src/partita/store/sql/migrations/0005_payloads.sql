-- Large payloads (issue 12): inputs and outputs above a threshold are kept here, apart from
-- the history; an event holds a reference to its payload instead of the value.
CREATE TABLE payloads (
    namespace     TEXT NOT NULL,
    activation_id TEXT NOT NULL,
    ref           TEXT NOT NULL,   -- '<event sequence>/<field>', unique in the activation
    data          TEXT NOT NULL,   -- JSON of the value
    PRIMARY KEY (namespace, activation_id, ref)
) WITHOUT ROWID;
